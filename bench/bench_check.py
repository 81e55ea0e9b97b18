"""Benchmark `los check` on synthetic organisations (goal: 100,000 KPIs in at most 2 s).

For each size it builds (once, cached under --cache) a SQLite store with the organisation and
all its measurements, then, on a copy of it (the cached store is only read), prints, measured
in the same run:
- `los check` on the store as a user runs it (a subprocess, process start to output, every
  rule including the data rules), best wall and processor time of --runs and peak memory:
  cold (the first check after a write: the rules run and the report is kept) and repeated
  (the store unchanged since: the kept report is read);
- `los check strategy.yaml` on the strategy file alone (no data rules), the same way (not
  with --no-file);
- the parts of the store check in-process, one after the other: reading the definitions (the
  columns the rules look at), reading the values the data rules need, and the rules;
- with --reference SRC, `los check` on the store run by the package in the folder SRC (e.g.
  the code before a change: `git archive main src | tar -x -C /tmp/before`, then
  --reference /tmp/before/src), cold and repeated, measured the same way in the same run.

    .venv/bin/python bench/bench_check.py                 # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_check.py --sizes 10000   # quicker

A store already in the cache is only read, never written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_status import _store  # the same cached stores as the status benchmark
from bytecode import keep_compiled

from lineofsight.checks.data import CheckData, store_location
from lineofsight.checks.runner import build_selection, check_data
from lineofsight.services.check_values import read_check_values
from lineofsight.store.check_reads import read_check_frames, read_source_file
from lineofsight.store.check_results import forget_check_reports
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_settings

AS_OF = "2026-11-22"
LOS = str(Path(sys.executable).parent / "los")
GOAL_SECONDS = 2.0


# Each run is started from a small launcher process: a child forked straight from this one
# would count in its peak memory the pages it shares with this process (Polars and the
# package loaded) until it replaces itself with `los`.
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {wall} {usage.ru_utime + usage.ru_stime}")
    out.write(f" {usage.ru_maxrss}")
"""


def _run(
    args: list[str],
    runs: int,
    before: Callable[[], None] = lambda: None,
    source: Path | None = None,
) -> tuple[float, float, float]:
    """Best wall time, best processor time (user and system: what the run costs when other
    work shares the machine) and peak resident memory (MB) of `los` with `args`, each run
    in a child process of its own, after `before`; the package in `source` when given."""
    best, cpu, peak = float("inf"), float("inf"), 0.0
    env = {**os.environ, "LOS_DATABASE_URL": ""}
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve())
    for _ in range(runs):
        before()
        with tempfile.NamedTemporaryFile("r", suffix=".usage") as usage:
            subprocess.run(
                [sys.executable, "-c", _LAUNCHER, usage.name, LOS, *args], env=env, check=True
            )
            code, wall, used, rss = usage.read().split()
        best = min(best, float(wall))
        cpu = min(cpu, float(used))
        peak = max(peak, int(rss) / 1024)
        if int(code) not in (0, 1):  # 1: error findings
            raise SystemExit(f"los {' '.join(args)} failed")
    return best, cpu, peak


def _copy(database: Path, scratch: Path) -> str:
    """A copy of the cached store to check (a check keeps its report in the store)."""
    copy = scratch / database.parent.name / database.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, copy)
    return f"sqlite:///{copy}"


def _forget(url: str) -> Callable[[], None]:
    """What makes the next check cold: the kept reports dropped, as a write does."""

    def forget() -> None:
        store = Store(url)
        try:
            with store.transaction() as conn:
                forget_check_reports(conn)
        finally:
            store.close()

    return forget


def _parts(url: str) -> tuple[float, float, float]:
    """Seconds to read the definitions (the columns the rules look at, and the few KPIs
    they look at whole), to read the values the data rules need, and to run the rules (one
    after the other here; `los check` reads the values while the first rules run)."""
    as_of = dt.date.fromisoformat(AS_OF)
    store = Store(url)
    gc.disable()
    try:
        start = time.perf_counter()
        with store.reading() as conn:
            settings = read_settings(conn)
            file = read_source_file(conn)
        assert settings is not None
        data = CheckData(
            settings.calendar, settings.checks, read_check_frames(store), store_location(file)
        )
        _ = data.whole
        definitions = time.perf_counter() - start
        start = time.perf_counter()
        selection = build_selection(data.checks)
        values = read_check_values(store, data, as_of, selection)
        reading = time.perf_counter() - start
        start = time.perf_counter()
        check_data(data, as_of, values, selection)
        rules = time.perf_counter() - start
    finally:
        gc.enable()
        store.close()
    return definitions, reading, rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="KPI counts, comma-separated")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (best kept)")
    parser.add_argument(
        "--reference",
        type=Path,
        help="a folder holding another version of the package (lineofsight/) to measure beside",
    )
    parser.add_argument(
        "--no-file", action="store_true", help="skip `los check strategy.yaml` (the slowest part)"
    )
    args = parser.parse_args()
    if args.reference is not None and not (args.reference / "lineofsight").is_dir():
        parser.error(f"--reference {args.reference}: no lineofsight package in that folder")
    print(f"({keep_compiled()})", flush=True)
    references = []
    rows = []
    with tempfile.TemporaryDirectory(prefix="los-bench-check-") as scratch:
        for kpis in [int(s) for s in args.sizes.split(",")]:
            print(f"{kpis:,} KPIs", flush=True)
            database = _store(args.cache, kpis)
            url = _copy(database, Path(scratch))
            asked = ["check", "--as-of", AS_OF, "--format", "json", "--db", url]
            cold = _run(asked, args.runs, _forget(url))
            print(f"  los check (store, cold):     {_figures(cold)}", flush=True)
            repeated = _run(asked, args.runs)
            print(f"  los check (store, repeated): {_figures(repeated)}", flush=True)
            if args.reference is not None:
                before = _run(asked, args.runs, _forget(url), args.reference)
                print(f"  reference (store, cold):     {_figures(before)}", flush=True)
                again = _run(asked, args.runs, source=args.reference)
                print(f"  reference (store, repeated): {_figures(again)}", flush=True)
                references.append((kpis, before, again))
            strategy = str(database.parent / "strategy.yaml")
            skipped = (float("nan"), float("nan"), float("nan"))
            file_check = (
                skipped
                if args.no_file
                else _run(["check", strategy, "--as-of", AS_OF, "--format", "json"], args.runs)
            )
            print(f"  los check (file):            {_figures(file_check)}", flush=True)
            parts = _parts(url)
            print(
                "  in-process: definitions {:.2f} s, values {:.2f} s, rules {:.2f} s".format(
                    *parts
                ),
                flush=True,
            )
            rows.append((kpis, cold, repeated, file_check, parts))
    print()
    print(
        "| KPIs | `los check` on the store, repeated: s (CPU s) | peak MB | cold: s (CPU s) "
        "| peak MB | `los check FILE`: s (CPU s) | definitions / values / rules in-process (s) "
        "| goal <= 2 s (repeated / cold) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|")
    for kpis, cold, repeated, file_check, parts in rows:
        goal = f"{_goal(repeated)} / {_goal(cold)}" if kpis >= 100_000 else ""
        print(
            f"| {kpis:,} | {repeated[0]:.2f} ({repeated[1]:.2f}) | {repeated[2]:,.0f} "
            f"| {cold[0]:.2f} ({cold[1]:.2f}) | {cold[2]:,.0f} "
            f"| {file_check[0]:.2f} ({file_check[1]:.2f}) "
            f"| {parts[0]:.2f} / {parts[1]:.2f} / {parts[2]:.2f} | {goal} |"
        )
    for kpis, before, again in references:
        print(
            f"The reference ({args.reference}), {kpis:,} KPIs: cold {_brief(before)}, "
            f"repeated {_brief(again)}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        for name, index in (("repeated", 2), ("cold", 1)):
            growth = last[index][0] / first[index][0]
            cpu = last[index][1] / first[index][1]
            print(
                f"`los check` on the store ({name}) grows {growth:.1f}x "
                f"(processor time {cpu:.1f}x) from {first[0]:,} to {last[0]:,} KPIs"
            )
    return 0


def _figures(run: tuple[float, float, float]) -> str:
    return f"{run[0]:6.2f} s ({run[1]:.2f} s CPU) {run[2]:6,.0f} MB"


def _brief(run: tuple[float, float, float]) -> str:
    return f"{run[0]:.2f} s ({run[1]:.2f} s CPU, {run[2]:,.0f} MB)"


def _goal(run: tuple[float, float, float]) -> str:
    return "met" if run[0] <= GOAL_SECONDS else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
