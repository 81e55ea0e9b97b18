"""Benchmark `los apply` and `los load` on synthetic organisations (issue: 100,000 KPIs).

Goals, at 100,000 KPIs on the reference machine (2 cores):
- `los apply` of the strategy file into an empty SQLite store: at most 15 s and 2 GB;
- `los load` of its measurements: at most twice sqlite3's own `.import` of the same CSV into
  a plain table of a fresh database.

Every figure comes from one run of this script, each command a separate process (`los` as a
user runs it, peak memory from the operating system), beside its reference:
- apply: wall time and peak memory; a second apply of the same file (must say "No changes");
  the apply service alone (no printing of the changes), to show what the command line adds;
  PyYAML's C loader alone on the same file, as a reference for reading YAML;
- load: wall time and peak memory; a re-load of the same file (all unchanged); sqlite3's
  `.import` of the same CSV;
- the monthly case: into a store holding every month but the newest, a load of the newest
  month's rows (a copy of the applied store, loaded with the rest first).

    .venv/bin/python bench/bench_store.py                  # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_store.py --sizes 10000    # quicker
    .venv/bin/python bench/bench_store.py --no-pyyaml      # skip the minute-long reference

Generated files are kept in --cache (default /tmp/los-bench) and reused by later runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import generate

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UNITS_PER_KPI = 5  # 100,000 KPIs across 20,000 units, as bench_check.py


@dataclass
class Run:
    """One process: its wall time, peak memory and output."""

    seconds: float
    peak_mb: float
    output: str
    code: int


def run(command: list[str], *, keep_output: bool = True) -> Run:
    """Run a command as its own process; wall time and its peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    output = process.stdout.read() if process.stdout is not None else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(seconds, usage.ru_maxrss / 1024, output, process.returncode)


def check(result: Run, what: str, expect: str | None = None) -> Run:
    if result.code != 0 or (expect is not None and expect not in result.output):
        tail = "\n".join(result.output.splitlines()[-20:])
        raise SystemExit(f"{what} failed (exit {result.code}):\n{tail}")
    return result


def organisation(cache: Path, kpis: int) -> Path:
    folder = cache / f"org{kpis}"
    if not (folder / "strategy.yaml").exists() or not (folder / "measurements.csv").exists():
        print(f"  generating {kpis:,} KPIs into {folder} ...", flush=True)
        generate(folder, kpis=kpis, units=kpis // UNITS_PER_KPI)
    return folder


def pyyaml_alone(strategy: Path) -> Run:
    code = (
        "import sys, time, yaml\n"
        "text = open(sys.argv[1], encoding='utf-8').read()\n"
        "start = time.perf_counter()\n"
        "yaml.load(text, Loader=yaml.CSafeLoader)\n"
        "print(time.perf_counter() - start)\n"
    )
    return check(run([sys.executable, "-c", code, str(strategy)]), "PyYAML")


def apply_service(strategy: Path, db: str) -> Run:
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from lineofsight.services.apply import apply_file\n"
        "from lineofsight.store.database import Store\n"
        "store = Store(sys.argv[2])\n"
        "result = apply_file(store, Path(sys.argv[1]))\n"
        "print(len(result.plan.records), 'changes')\n"
    )
    return check(run([sys.executable, "-c", code, str(strategy), db]), "apply service")


def sqlite_import(csv: Path, folder: Path) -> Run:
    database = folder / "import.db"
    script = (
        "CREATE TABLE t (kpi TEXT, period TEXT, value TEXT, unit TEXT, numerator TEXT, "
        "denominator TEXT, note TEXT);\n"
        ".mode csv\n"
        f".import --skip 1 {csv} t\n"
        "SELECT COUNT(*) FROM t;\n"
    )
    start = time.perf_counter()
    process = subprocess.run(
        ["sqlite3", str(database)], input=script, capture_output=True, text=True, check=True
    )
    return Run(time.perf_counter() - start, 0.0, process.stdout, process.returncode)


def split_newest_month(csv: Path, folder: Path) -> tuple[Path, Path]:
    """The CSV as two files: the rows of its newest month, and all the others."""
    # Line by line: this process stays small, so that the children started after it do not
    # count its pages in their peak memory.
    with csv.open(encoding="utf-8") as lines:
        header = next(lines)
        period = header.split(",").index("period")
        months = {line.split(",")[period] for line in lines}
    newest = max(p for p in months if len(p) == 7 and p[4] == "-" and p[5] != "Q")
    rest_path, newest_path = folder / "rest.csv", folder / "newest.csv"
    with (
        csv.open(encoding="utf-8") as lines,
        rest_path.open("w") as rest,
        newest_path.open("w") as new,
    ):
        for number, line in enumerate(lines):
            if number == 0:
                rest.write(line)
                new.write(line)
            else:
                (new if line.split(",")[period] == newest else rest).write(line)
    return rest_path, newest_path


def bench(kpis: int, cache: Path, pyyaml: bool) -> dict[str, float]:
    print(f"{kpis:,} KPIs", flush=True)
    folder = organisation(cache, kpis)
    strategy, csv = folder / "strategy.yaml", folder / "measurements.csv"
    rows = sum(1 for _ in csv.open(encoding="utf-8")) - 1
    work = Path(tempfile.mkdtemp(prefix="los-bench-"))
    figures: dict[str, float] = {"rows": rows}
    try:
        db = f"sqlite:///{work / 'store' / 'los.db'}"
        los = [str(BIN / "los")]
        apply = check(run([*los, "apply", str(strategy), "--db", db], keep_output=False), "apply")
        applied = work / "applied"
        shutil.copytree(work / "store", applied)  # for the monthly case below
        figures.update(apply_s=apply.seconds, apply_mb=apply.peak_mb)
        print(
            f"  los apply:             {apply.seconds:8.2f} s  {apply.peak_mb:8,.0f} MB", flush=True
        )
        again = check(run([*los, "apply", str(strategy), "--db", db]), "apply again", "No changes")
        figures.update(again_s=again.seconds, again_mb=again.peak_mb)
        print(f"  los apply again:       {again.seconds:8.2f} s  (No changes)", flush=True)
        service = apply_service(strategy, f"sqlite:///{work / 'service' / 'los.db'}")
        figures.update(service_s=service.seconds, service_mb=service.peak_mb)
        print(f"  apply service alone:   {service.seconds:8.2f} s  {service.peak_mb:8,.0f} MB")
        if pyyaml:
            reference = pyyaml_alone(strategy)
            figures["pyyaml_s"] = float(reference.output.split()[-1])
            print(f"  PyYAML CSafeLoader:    {figures['pyyaml_s']:8.2f} s  (reference)", flush=True)
        load = check(
            run([*los, "load", str(csv), "--db", db]), "load", f"{rows:,} rows: {rows:,} added"
        )
        figures.update(load_s=load.seconds, load_mb=load.peak_mb)
        print(
            f"  los load:              {load.seconds:8.2f} s  {load.peak_mb:8,.0f} MB", flush=True
        )
        reload = check(run([*los, "load", str(csv), "--db", db]), "re-load", f"{rows:,} unchanged")
        figures.update(reload_s=reload.seconds, reload_mb=reload.peak_mb)
        print(
            f"  los load again:        {reload.seconds:8.2f} s  {reload.peak_mb:8,.0f} MB"
            "  (all unchanged)",
            flush=True,
        )
        imported = sqlite_import(csv, work)
        if imported.output.strip() != str(rows):
            raise SystemExit(f"sqlite3 imported {imported.output.strip()} rows, not {rows}")
        figures["import_s"] = imported.seconds
        print(f"  sqlite3 .import:       {imported.seconds:8.2f} s  (reference)", flush=True)
        rest, newest = split_newest_month(csv, work)
        month_db = f"sqlite:///{applied / 'los.db'}"
        check(run([*los, "load", str(rest), "--db", month_db]), "load of the other months")
        month = check(run([*los, "load", str(newest), "--db", month_db]), "load of one month")
        added = month.output.split("rows: ")[-1].split(" added")[0]
        figures.update(month_s=month.seconds, month_mb=month.peak_mb)
        print(
            f"  los load, newest month: {month.seconds:7.2f} s  {month.peak_mb:8,.0f} MB"
            f"  ({added} rows added to {rows - int(added.replace(',', '')):,})",
            flush=True,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="KPI counts, comma-separated")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--no-pyyaml", action="store_true", help="skip PyYAML's reference")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {kpis: bench(kpis, args.cache, not args.no_pyyaml) for kpis in sizes}
    print()
    print("| KPIs | measurements | los apply (s) | peak (MB) | apply again (s) "
          "| apply service (s) | PyYAML alone (s) | los load (s) | peak (MB) | load again (s) "
          "| peak (MB) | sqlite3 .import (s) | load / import "
          "| load of the newest month (s) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kpis, f in results.items():
        pyyaml = f"{f['pyyaml_s']:.2f}" if "pyyaml_s" in f else "-"
        print(
            f"| {kpis:,} | {f['rows']:,.0f} | {f['apply_s']:.2f} | {f['apply_mb']:,.0f} "
            f"| {f['again_s']:.2f} | {f['service_s']:.2f} | {pyyaml} | {f['load_s']:.2f} "
            f"| {f['load_mb']:,.0f} | {f['reload_s']:.2f} | {f['reload_mb']:,.0f} "
            f"| {f['import_s']:.2f} "
            f"| {f['load_s'] / f['import_s']:.2f}x | {f['month_s']:.2f} |"
        )
    if len(results) > 1:
        small, large = min(results), max(results)
        print()
        print(f"Growth from {small:,} to {large:,} KPIs ({large / small:.0f}x the size):")
        for key, label in [
            ("apply_s", "los apply"),
            ("apply_mb", "los apply peak memory"),
            ("again_s", "apply again"),
            ("service_s", "apply service"),
            ("pyyaml_s", "PyYAML alone"),
            ("load_s", "los load"),
            ("load_mb", "los load peak memory"),
            ("reload_s", "load again"),
            ("import_s", "sqlite3 .import"),
            ("month_s", "load of the newest month"),
        ]:
            if key in results[small] and key in results[large]:
                ratio = results[large][key] / results[small][key]
                print(f"  {label:24s} {ratio:6.1f}x")
    if max(results) >= 100_000:
        f = results[max(results)]
        print()
        apply_ok = f["apply_s"] <= 15 and f["apply_mb"] <= 2048
        load_ok = f["load_s"] <= 2 * f["import_s"]
        print(
            f"Goal: los apply at most 15 s and 2 GB: {'met' if apply_ok else 'MISSED'} "
            f"({f['apply_s']:.1f} s, {f['apply_mb']:,.0f} MB)"
        )
        print(
            f"Goal: los load at most 2x sqlite3 .import: {'met' if load_ok else 'MISSED'} "
            f"({f['load_s'] / f['import_s']:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
