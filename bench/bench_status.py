"""Benchmark `los status` on synthetic organisations (goal: 100,000 KPIs in at most 0.5 s and
1 GB, process start to output, also right after a check-in; and faster than a hand-written
DuckDB query of the same scoring over the same data).

For each size it builds (once, cached under --cache) a SQLite store with the organisation and
all its measurements, copies it to --work (the cached store is never written), then measures,
each figure the best of --runs runs of a fresh process (`los status --as-of 2026-11-22 --format
json`), with its peak memory:
- cold: the first status of the as-of date (no scorecard kept in the store yet: every KPI is
  scored, and the result kept);
- warm: the next one (the kept scorecard is up to date);
- after a check-in: `los load` of a one-row file that replaces one KPI's value (the load
  brings the scorecard kept last up to date: that KPI scored again, its objectives with their
  ancestors and its units rolled up again, the changed rows saved beside the kept scorecard;
  the load's own time is printed too), then status; the output is checked to show the new
  value;
- a new as-of day: status as of a date no status asked for yet (the next days), carried from
  the kept scorecard of the nearest date (the KPIs whose rows can differ between the two dates
  scored again); the output of the last one is checked to be byte for byte that of a status
  computed in full;
- DuckDB: `bench/status_duckdb.py`'s query over a DuckDB copy of the same data (made before
  timing), in a fresh `python -c` process, writing the same JSON document; its KPI, objective
  and unit rows are checked to agree with `los status`'s (score, status, actual, target, ...).

    .venv/bin/python bench/bench_status.py                 # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_status.py --sizes 10000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from generate import generate
from status_duckdb import prepare, run_code

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

AS_OF = "2026-11-22"
LOS = str(Path(sys.executable).parent / "los")
GOAL_SECONDS, GOAL_MB = 0.5, 1024


def _store(cache: Path, kpis: int) -> Path:
    folder = cache / f"org{kpis}"
    if not (folder / "strategy.yaml").exists():
        print(f"  generating {kpis:,} KPIs ...", flush=True)
        generate(folder, kpis=kpis, units=kpis // 5)
    database = folder / "store.db"
    if not database.exists():
        print("  building the store (apply and load; slow, done once) ...", flush=True)
        partial = folder / "store.partial.db"
        partial.unlink(missing_ok=True)
        store = Store(f"sqlite:///{partial}")
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "measurements.csv")
        store.close()
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{partial}{suffix}")
            if source.exists():
                shutil.move(source, f"{database}{suffix}")
    return database


# Started from a small launcher process: a child forked straight from this one would count
# in its peak memory the pages it shares with this process (which holds scorecards to compare)
# until it replaces itself with the command.
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    out.write(f"{status} {wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""


def _run(command: list[str], output: Path | None = None) -> tuple[float, float, float]:
    """Wall time, CPU time (user and system) and peak resident memory (MB) of one child
    process. On a machine shared with other work the CPU time is the steadier figure."""
    with (
        tempfile.NamedTemporaryFile("r", suffix=".usage") as usage,
        open(output or os.devnull, "wb") as sink,
    ):
        subprocess.run(
            [sys.executable, "-c", _LAUNCHER, usage.name, *command],
            stdout=sink,
            env={**os.environ, "LOS_DATABASE_URL": ""},
            check=True,
        )
        status, wall, cpu, peak = usage.read().split()
    if int(status) != 0:
        raise SystemExit(f"{command[:2]} failed with {status}")
    return float(wall), float(cpu), int(peak) / 1024


def _best(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The best wall and CPU times of some runs, and their highest peak memory."""
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def _status(url: str, output: Path | None = None, as_of: str = AS_OF) -> tuple[float, float, float]:
    return _run([LOS, "status", "--as-of", as_of, "--format", "json", "--db", url], output)


def _forget_snapshots(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM scorecard_snapshots")
        conn.execute("DELETE FROM scorecard_patches")


def _agreement(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """How many rows differ between the two documents (numbers within 2e-6 relative)."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, int | float) and isinstance(b, int | float):
            return abs(a - b) <= 2e-6 * max(1.0, abs(a))
        return bool(a == b)

    parts = []
    for section, key in (("kpis", ("id", "unit")), ("objectives", ("id",)), ("units", ("id",))):
        mine = {tuple(r[k] for k in key): r for r in ours[section]}
        other = {tuple(r[k] for k in key): r for r in theirs[section]}
        differ = sum(
            1
            for k in mine.keys() | other.keys()
            if k not in mine
            or k not in other
            or not all(same(v, other[k].get(f)) for f, v in mine[k].items() if f in other[k])
        )
        parts.append(f"{section} {len(mine):,} rows, {differ} differ")
    return "; ".join(parts)


def _checkin(folder: Path, url: str, run: int) -> tuple[str, float, tuple[float, float, float]]:
    """Load a one-row file replacing the value of the store's first measured KPI."""
    with sqlite3.connect(folder / "store.db") as conn:
        kpi_id, unit_id, stored = conn.execute(
            "SELECT k.id, k.unit_id, m.value FROM kpis k JOIN measurements m ON m.kpi_id = k.id "
            "AND m.unit_id = k.unit_id AND m.period = '2026-10' WHERE k.formula IS NULL "
            "AND k.ratio_scale IS NULL AND k.direction != 'range' ORDER BY k.position LIMIT 1"
        ).fetchone()
    value = round(stored * 0.5 + 0.001 * (run + 1), 6)  # within the KPI's bounds
    csv = folder / f"checkin{run}.csv"
    csv.write_text(f"kpi,unit,period,value\n{kpi_id},{unit_id},2026-10,{value}\n")
    load = _run([LOS, "load", str(csv), "--db", url])
    return kpi_id, value, load


def measure(cache: Path, work: Path, kpis: int, runs: int) -> dict[str, Any]:
    print(f"{kpis:,} KPIs", flush=True)
    source = _store(cache, kpis)
    folder = work / f"org{kpis}"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "store.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, database)
    url = f"sqlite:///{database}"
    Store(url).close()  # the migrations of this release (an index to build once), not timed
    cold = []
    for _ in range(runs):
        _forget_snapshots(database)
        cold.append(_status(url))
    print(f"  cold (first status of the date): {_best(cold)[0]:.2f} s", flush=True)
    print("  (a store of the earlier schema migrated first, not timed)", flush=True)
    ours = folder / "status.json"
    warm = [_status(url, ours) for _ in range(runs)]
    print(f"  warm: {_best(warm)[0]:.2f} s", flush=True)
    after, loads = [], []
    for run in range(runs):
        kpi_id, value, load = _checkin(folder, url, run)
        loads.append(load)
        output = folder / "after.json"
        after.append(_status(url, output))
        shown = [r["actual"] for r in json.loads(output.read_text())["kpis"] if r["id"] == kpi_id]
        if shown[:1] != [value]:
            raise SystemExit(f"status after the check-in shows {shown[:1]}, not {value}")
    print(
        f"  after a check-in: {_best(after)[0]:.2f} s (the new value shown; the load of one "
        f"row itself {_best(loads)[0]:.2f} s)",
        flush=True,
    )
    days = [f"2026-11-{23 + run}" for run in range(runs)]
    new_day = [_status(url, folder / "day.json", day) for day in days]
    carried = (folder / "day.json").read_bytes()
    _forget_snapshots(database)
    _status(url, folder / "full.json", days[-1])
    if carried != (folder / "full.json").read_bytes():
        raise SystemExit(f"the status of {days[-1]} carried over differs from a full one")
    print(f"  a new as-of day: {_best(new_day)[0]:.2f} s (the same bytes as computed in full)")
    duck = folder / "store.duckdb"
    if not duck.exists() or duck.stat().st_mtime < source.stat().st_mtime:
        print("  copying the store into DuckDB (once, not timed) ...", flush=True)
        prepare(source, duck)
    reference = folder / "duckdb.json"
    code = run_code(duck, AS_OF)
    duckdb = [_run([sys.executable, "-c", code], reference) for _ in range(runs)]
    agreement = _agreement(json.loads(ours.read_text()), json.loads(reference.read_text()))
    print(f"  DuckDB: {_best(duckdb)[0]:.2f} s; {agreement}", flush=True)
    return {
        "kpis": kpis,
        "cold": _best(cold),
        "warm": _best(warm),
        "after": _best(after),
        "load": _best(loads),
        "new_day": _best(new_day),
        "duckdb": _best(duckdb),
        "agreement": agreement,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/los-bench-status"))
    args = parser.parse_args()
    table = [measure(args.cache, args.work, int(s), args.runs) for s in args.sizes.split(",")]
    print()
    print("Each cell: best wall time (s) / best CPU time (s) / peak memory (MB).")
    print("| KPIs | cold | warm | after a check-in | a new as-of day | DuckDB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in table:
        cells = [f"{row['kpis']:,}"]
        for name in ("cold", "warm", "after", "new_day", "duckdb"):
            wall, cpu, peak = row[name]
            cells.append(f"{wall:.2f} / {cpu:.2f} / {peak:,.0f}")
        print("| " + " | ".join(cells) + " |")
    if len(table) > 1:
        first, last = table[0], table[-1]
        growth = ", ".join(
            f"{name} x{last[name][0] / first[name][0]:.1f}"
            for name in ("cold", "warm", "after", "new_day", "duckdb", "load")
        )
        print(f"\ntime from {first['kpis']:,} to {last['kpis']:,} KPIs: {growth}")
    print()
    for row in table:
        for name, label in (
            ("warm", "warm"),
            ("after", "after a check-in"),
            ("new_day", "a new as-of day"),
        ):
            wall, _cpu, peak = row[name]
            goal = (
                "met"
                if wall <= GOAL_SECONDS and peak <= GOAL_MB and wall < row["duckdb"][0]
                else "MISSED"
            )
            print(
                f"{row['kpis']:,} KPIs, {label}: {wall:.2f} s, {peak:,.0f} MB, DuckDB "
                f"{row['duckdb'][0]:.2f} s (<= {GOAL_SECONDS} s, <= 1 GB, faster than DuckDB: "
                f"{goal})"
            )
        wall, _cpu, peak = row["cold"]
        goal = "met" if wall <= GOAL_SECONDS and peak <= GOAL_MB else "MISSED"
        print(f"{row['kpis']:,} KPIs, cold: {wall:.2f} s, {peak:,.0f} MB (same goal: {goal})")
        wall, _cpu, peak = row["load"]
        print(
            f"  the load of one row before a status after a check-in: {wall:.2f} s, {peak:,.0f} MB"
        )
        print(f"  agreement with DuckDB: {row['agreement']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
