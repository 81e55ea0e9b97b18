"""Benchmark `los status` on synthetic organisations (goal: 100,000 KPIs in at most 0.5 s and
1 GB, process start to output, also right after a check-in; and faster than a hand-written
DuckDB query of the same scoring over the same data).

For each size it builds (once, cached under --cache) a SQLite store with the organisation and
all its measurements, copies it to --work (the cached store is never written), then measures,
each figure the best of --runs runs of a fresh process (`los status --as-of 2026-11-22 --format
json`), with its peak memory:
- in full: a status with no scorecard kept in the store for any date (every KPI is scored,
  and the result kept): the first status ever asked of a store, and of a date no write kept
  ready (a date that is neither the one a status asked for last nor the next turn after it).
  It writes its output first and leaves keeping the scorecard to a second process: its figure
  is the time until the output is complete (what a person or a program reading it waits for),
  with the time until the process ended beside it (the bench then waits, untimed, until the
  scorecard is kept). The definitions it scores with are those kept in the store by the
  last status in full (or write of values, whose scorecard is computed in full); measured
  in turn with a status in full whose definitions are read from the tables (none kept: the
  first status in full of a store last written by an earlier release), the same bytes;
- cold: the first status of the as-of date after `los apply` of a changed strategy file (one
  KPI's tolerance changed; each run changes it again). The apply brings the kept scorecards up
  to date itself (`services.snapshots.refresh_kept`): that of the date a status asked for
  last (2026-11-22), computed again in full, and that of the next date where more than a
  quarter of the KPIs' rows move (the next turn: here 2026-11-30, the last day of November
  and the day October's monthly values fall due), made ahead; the apply's own time is
  printed. The output is checked to be byte for byte that of a status computed in full;
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
- a month end: the first status as of 2026-11-30 (the next turn after the dates asked for),
  after a one-row `los load` (its time printed: it brings the kept scorecard of the date asked
  for last up to date and makes that of the turn ahead; before each run the turn's kept
  scorecard is deleted, so that each load makes it again); the output is checked to be byte
  for byte that of a status computed in full;
- the first status of a store: no scorecard kept for any date, then a one-row `los load`
  (a write to a store where no status was asked yet keeps today's scorecard itself), then
  `los status --format json` without a date, as a new user runs it; checked to be byte for
  byte a status computed in full;
- a month end kept by the keeper: the month end's kept scorecard deleted, then the daily
  scorecard keeper (`los serve`'s scheduler, `los jobs --due`, `los refresh --due`: job
  `scorecard:keep`) run as of 2026-11-23, a week before, with no write since; then the first
  status as of 2026-11-30; checked against a status in full;
- with --silent-share S: the same on a copy of the store in which a share S of the measured
  KPIs (every 1/S-th by position) has no value since SILENT_SINCE (a store where some KPIs
  are silent for months is common: their rows' last value is found further back, SPEC
  section 3), the DuckDB copy made of it too;
- DuckDB: `bench/status_duckdb.py`'s query over a DuckDB copy of the same data (made before
  timing), in a fresh `python -c` process, writing the same JSON document; its KPI, objective
  and unit rows are checked to agree with those of `los status` in full, before any write
  (score, status, actual, target, ...).

Before timing, the package's modules whose bytecode is missing or stale are compiled
(`bench/bytecode.py`), as an install keeps them: else, where PYTHONDONTWRITEBYTECODE is set,
every `los` process would compile them again at its start.

    .venv/bin/python bench/bench_status.py                 # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_status.py --sizes 10000 --runs 5
    .venv/bin/python bench/bench_status.py --sizes 100000 --in-full-only   # and DuckDB
    .venv/bin/python bench/bench_status.py --sizes 100000 --in-full-only --silent-share 0.01
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bytecode import keep_compiled
from generate import generate
from status_duckdb import prepare, run_code

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

AS_OF = "2026-11-22"
MONTH_END = "2026-11-30"  # the last day of November, when October's monthly values fall due
LOS = str(Path(sys.executable).parent / "los")
GOAL_SECONDS, GOAL_MB = 0.5, 1024
SILENT_SINCE = "2026-04-01"  # --silent-share: the first period end whose values are deleted


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
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE)
# The output as it comes; its end (the command wrote it all and let go of its standard output)
# is when a person or a program reading it has it.
while chunk := child.stdout.read1(1 << 20):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.flush()
output = time.perf_counter() - start
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    out.write(f"{status} {wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {output}")
"""

# Wall time to the process's end, CPU time, peak MB, wall time to the output's end.
Usage = tuple[float, float, float, float]


def _run(command: list[str], output: Path | None = None) -> Usage:
    """Wall time, CPU time (user and system) and peak resident memory (MB) of one child
    process, and the wall time until its output was complete (a status computed in full
    writes its output before it keeps the scorecard in the store). On a machine shared with
    other work the CPU time is the steadier figure."""
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
        status, wall, cpu, peak, out = usage.read().split()
    if int(status) != 0:
        raise SystemExit(f"{command[:2]} failed with {status}")
    return float(wall), float(cpu), int(peak) / 1024, float(out)


def _best(runs: list[Usage]) -> Usage:
    """The best wall and CPU times of some runs, their highest peak memory, and the best
    time to the output's end."""
    return (
        min(r[0] for r in runs),
        min(r[1] for r in runs),
        max(r[2] for r in runs),
        min(r[3] for r in runs),
    )


def _status(url: str, output: Path | None = None, as_of: str = AS_OF) -> Usage:
    return _run([LOS, "status", "--as-of", as_of, "--format", "json", "--db", url], output)


def _full_status(database: Path, output: Path, as_of: str = AS_OF) -> Usage:
    """A status computed in full (no scorecard kept for `as_of`), then, not timed, the wait
    for the second process that keeps its scorecard once the output is written (the status
    process ends without waiting for it): the next step must find it kept, or not, for sure."""
    usage = _status(f"sqlite:///{database}", output, as_of)
    wait_kept(database, as_of)
    return usage


def wait_kept(database: Path, as_of: str = AS_OF) -> None:
    """Wait (at most 120 s) until the scorecard of `as_of` is kept in the store: a status
    computed in full leaves keeping it to a second process, after its own end."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            found = conn.execute(
                "SELECT 1 FROM scorecard_snapshots WHERE as_of = ? AND lag = 1", (as_of,)
            ).fetchone()
        finally:
            conn.close()
        if found:
            return
        time.sleep(0.05)
    print(f"  (the scorecard of {as_of} was not kept within 120 s)", flush=True)


# The daily keeper's job as `los jobs --due` runs it, on a given day (the clock's otherwise).
_KEEPER = """
import datetime as dt, sys
from lineofsight.services.snapshots import keep_ready
from lineofsight.store.database import Store
store = Store(sys.argv[1])
print(keep_ready(store, dt.date.fromisoformat(sys.argv[2])))
store.close()
"""


def _changed_strategy(folder: Path, cache: Path, run: int) -> Path:
    """The generated strategy file with the first KPI's tolerance changed (by `run`)."""
    text = (cache / "strategy.yaml").read_text()
    at = text.index("\nkpis:\n")
    found = text.index("\n    tolerance: ", at)
    end = text.index("\n", found + 1)
    changed = f"{text[:found]}\n    tolerance: {0.06 + 0.01 * run:.2f}{text[end:]}"
    path = folder / "strategy.yaml"
    path.write_text(changed)
    return path


def _execute(database: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Run statements on the store in one transaction, the connection closed after it (one
    left open would keep the store's write-ahead log from being folded in)."""
    conn = sqlite3.connect(database)
    try:
        with conn:
            for sql, params in statements:
                conn.execute(sql, params)
    finally:
        conn.close()


def _forget_snapshots(database: Path) -> None:
    _execute(
        database, ("DELETE FROM scorecard_snapshots", ()), ("DELETE FROM scorecard_patches", ())
    )


def _forget_definitions(database: Path) -> None:
    """No definitions kept either (a store no status or write of this release computed a
    scorecard of in full: its first status in full reads them from the tables)."""
    _execute(database, ("DELETE FROM kept_definitions", ()))


def _forget_month_end(database: Path) -> None:
    _execute(
        database,
        ("DELETE FROM scorecard_snapshots WHERE as_of = ?", (MONTH_END,)),
        ("DELETE FROM scorecard_patches WHERE as_of = ?", (MONTH_END,)),
    )


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


def _checkin(folder: Path, url: str, run: int) -> tuple[str, float, Usage]:
    """Load a one-row file replacing the value of the store's first measured KPI."""
    conn = sqlite3.connect(folder / "store.db")
    try:
        kpi_id, unit_id, stored = conn.execute(
            "SELECT k.id, k.unit_id, m.value FROM kpis k JOIN measurements m ON m.kpi_id = k.id "
            "AND m.unit_id = k.unit_id AND m.period = '2026-10' WHERE k.formula IS NULL "
            "AND k.ratio_scale IS NULL AND k.direction != 'range' ORDER BY k.position LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    value = round(stored * 0.5 + 0.001 * (run + 1), 6)  # within the KPI's bounds
    csv = folder / f"checkin{run}.csv"
    csv.write_text(f"kpi,unit,period,value\n{kpi_id},{unit_id},2026-10,{value}\n")
    load = _run([LOS, "load", str(csv), "--db", url])
    return kpi_id, value, load


def _copy(source: Path, target: Path) -> None:
    """A copy of the cached store through SQLite's backup API (its write-ahead log included),
    the cache itself only read."""
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        writing = sqlite3.connect(target)
        try:
            reading.backup(writing)
        finally:
            writing.close()
    finally:
        reading.close()


def _silenced(source: Path, folder: Path, share: float) -> Path:
    """A copy of the cached store (made once in `folder`) in which a `share` of the measured
    KPIs, every 1/share-th by position, has no value of any unit since SILENT_SINCE."""
    target = folder / "silent.db"
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    print(f"  deleting the values since {SILENT_SINCE} of {share:.1%} of the KPIs (once) ...")
    partial = folder / "silent.partial.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    _copy(source, partial)
    every = max(1, round(1 / share))
    _execute(
        partial,
        (
            "DELETE FROM measurements WHERE period_end >= ? AND kpi_id IN "
            "(SELECT id FROM kpis WHERE formula IS NULL AND position % ? = 0)",
            (SILENT_SINCE, every),
        ),
    )
    partial.rename(target)
    return target


def measure(
    cache: Path, work: Path, kpis: int, runs: int, full_only: bool, silent: float | None = None
) -> dict[str, Any]:
    print(
        f"{kpis:,} KPIs"
        + (f", {silent:.1%} of them silent since {SILENT_SINCE}" if silent else ""),
        flush=True,
    )
    source = generated = _store(cache, kpis)
    folder = work / (f"org{kpis}-silent{silent}" if silent else f"org{kpis}")
    if silent:
        folder.mkdir(parents=True, exist_ok=True)
        source = _silenced(source, folder, silent)
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "store.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    _copy(source, database)
    url = f"sqlite:///{database}"
    Store(url).close()  # the migrations of this release (an index to build once), not timed
    full, tables = [], []
    for _ in range(runs):  # in turn: the definitions read from the tables, then kept
        _forget_snapshots(database)
        _forget_definitions(database)
        tables.append(_full_status(database, folder / "status_tables.json"))
        _forget_snapshots(database)  # the definitions that status kept stay
        full.append(_full_status(database, folder / "status_full.json"))
    if (folder / "status_tables.json").read_bytes() != (folder / "status_full.json").read_bytes():
        raise SystemExit("a status in full with the definitions kept differs from one without")
    print(
        f"  in full (no scorecard kept for any date, the definitions kept as by any status in "
        f"full or write of values): output complete after {_best(full)[3]:.2f} s, the "
        f"process ended after {_best(full)[0]:.2f} s (the scorecard then kept in the store by "
        "a second process, not timed)",
        flush=True,
    )
    print(
        f"  in full, the definitions read from the tables (none kept: the first status in full "
        f"of a store last written by an earlier release): output complete after "
        f"{_best(tables)[3]:.2f} s, the process ended after {_best(tables)[0]:.2f} s (the same "
        "bytes)",
        flush=True,
    )
    print("  (a store of the earlier schema migrated first, not timed)", flush=True)
    if full_only:
        duckdb, agreement = _duckdb(source, folder, runs)
        return {
            "kpis": kpis,
            "full": _best(full),
            "full_tables": _best(tables),
            "duckdb": duckdb,
            "agreement": agreement,
        }
    cold, applies = [], []
    for run in range(runs):
        strategy = _changed_strategy(folder, generated.parent, run)
        applies.append(_run([LOS, "apply", str(strategy), "--db", url]))
        cold.append(_status(url, folder / "cold.json"))
    _same_as_full(database, url, folder / "cold.json", AS_OF)
    print(
        f"  cold (the first status after an apply): {_best(cold)[0]:.2f} s (the same bytes as "
        f"computed in full; the apply itself {_best(applies)[0]:.2f} s)",
        flush=True,
    )
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
    _full_status(database, folder / "full.json", days[-1])
    if carried != (folder / "full.json").read_bytes():
        raise SystemExit(f"the status of {days[-1]} carried over differs from a full one")
    print(f"  a new as-of day: {_best(new_day)[0]:.2f} s (the same bytes as computed in full)")
    month_end, writes = [], []
    for run in range(runs):
        _forget_month_end(database)
        writes.append(_checkin(folder, url, runs + run)[2])
        month_end.append(_status(url, folder / "month_end.json", MONTH_END))
    print(
        f"  a month end: {_best(month_end)[0]:.2f} s (the load before it {_best(writes)[0]:.2f} s)",
        flush=True,
    )
    _same_as_full(database, url, folder / "month_end.json", MONTH_END)
    print("  the month end's status: the same bytes as computed in full")
    first, first_loads = [], []
    today = dt.date.today().isoformat()
    for run in range(runs):
        _forget_snapshots(database)
        first_loads.append(_checkin(folder, url, 2 * runs + run)[2])
        first.append(_run([LOS, "status", "--format", "json", "--db", url], folder / "first.json"))
    _same_as_full(database, url, folder / "first.json", today)
    print(
        f"  the first status of a store (today, {today}, after a one-row load): "
        f"{_best(first)[0]:.2f} s (the same bytes as computed in full; the load "
        f"{_best(first_loads)[0]:.2f} s)",
        flush=True,
    )
    kept_end, keepers = [], []
    for _ in range(runs):
        _forget_month_end(database)
        keepers.append(_run([sys.executable, "-c", _KEEPER, url, "2026-11-23"]))
        kept_end.append(_status(url, folder / "kept_end.json", MONTH_END))
    _same_as_full(database, url, folder / "kept_end.json", MONTH_END)
    print(
        f"  a month end kept by the keeper a week before: {_best(kept_end)[0]:.2f} s (the same "
        f"bytes as computed in full; the keeper {_best(keepers)[0]:.2f} s)",
        flush=True,
    )
    duckdb, agreement = _duckdb(source, folder, runs)
    return {
        "kpis": kpis,
        "full": _best(full),
        "full_tables": _best(tables),
        "cold": _best(cold),
        "apply": _best(applies),
        "month_end": _best(month_end),
        "month_end_load": _best(writes),
        "warm": _best(warm),
        "after": _best(after),
        "load": _best(loads),
        "new_day": _best(new_day),
        "first": _best(first),
        "first_load": _best(first_loads),
        "kept_end": _best(kept_end),
        "keeper": _best(keepers),
        "duckdb": duckdb,
        "agreement": agreement,
    }


def _duckdb(source: Path, folder: Path, runs: int) -> tuple[Usage, str]:
    """The hand-written DuckDB query's figures, and how its rows agree with ours."""
    duck = folder / "store.duckdb"
    if not duck.exists() or duck.stat().st_mtime < source.stat().st_mtime:
        print("  copying the store into DuckDB (once, not timed) ...", flush=True)
        prepare(source, duck)
    reference = folder / "duckdb.json"
    code = run_code(duck, AS_OF)
    duckdb = [_run([sys.executable, "-c", code], reference) for _ in range(runs)]
    # The status before any write (the same data as the DuckDB copy).
    before = json.loads((folder / "status_full.json").read_text())
    agreement = _agreement(before, json.loads(reference.read_text()))
    print(f"  DuckDB: {_best(duckdb)[0]:.2f} s; {agreement}", flush=True)
    return _best(duckdb), agreement


def _same_as_full(database: Path, url: str, output: Path, as_of: str) -> None:
    """Check that `output` holds the bytes of a status of `as_of` computed in full (on a copy
    of the store with no kept scorecard)."""
    copy = database.parent / "check.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    # A consistent copy, with what the write-ahead log holds.
    source, target = sqlite3.connect(database), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    try:
        _forget_snapshots(copy)
        _full_status(copy, database.parent / "full.json", as_of)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    if output.read_bytes() != (database.parent / "full.json").read_bytes():
        raise SystemExit(f"the status of {as_of} in {output.name} differs from a full one")


COLUMNS = (
    "full",
    "full_tables",
    "cold",
    "warm",
    "after",
    "new_day",
    "month_end",
    "first",
    "kept_end",
    "duckdb",
)


HEADERS = {
    "full": "in full",
    "full_tables": "in full, definitions read from the tables",
    "cold": "cold (after an apply)",
    "warm": "warm",
    "after": "after a check-in",
    "new_day": "a new as-of day",
    "month_end": "a month end",
    "first": "first of a store",
    "kept_end": "a month end, kept by the keeper",
    "duckdb": "DuckDB",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/los-bench-status"))
    parser.add_argument(
        "--in-full-only",
        action="store_true",
        help="measure only a status in full and the DuckDB query (no write, no kept scorecard)",
    )
    parser.add_argument(
        "--silent-share",
        type=float,
        metavar="S",
        help=f"on a copy of the store with no value since {SILENT_SINCE} for this share of the "
        "measured KPIs (e.g. 0.01)",
    )
    args = parser.parse_args()
    if args.silent_share is not None and not 0 < args.silent_share <= 1:
        parser.error("--silent-share: a share above 0 and at most 1, e.g. 0.01")
    print(f"({keep_compiled()})", flush=True)
    table = [
        measure(args.cache, args.work, int(s), args.runs, args.in_full_only, args.silent_share)
        for s in args.sizes.split(",")
    ]
    columns = [name for name in COLUMNS if name in table[0]]
    print()
    print(
        "Each cell: best wall time (s) / best CPU time (s) / peak memory (MB); in full and "
        "DuckDB: the wall time to the output's end, then (in brackets) to the process's end."
    )
    print("| KPIs | " + " | ".join(HEADERS[name] for name in columns) + " |")
    print("|---:|" + "---:|" * len(columns))
    for row in table:
        cells = [f"{row['kpis']:,}"]
        for name in columns:
            wall, cpu, peak, output = row[name]
            first_figure = (
                f"{output:.2f} ({wall:.2f})"
                if name in ("full", "full_tables", "duckdb")
                else f"{wall:.2f}"
            )
            cells.append(f"{first_figure} / {cpu:.2f} / {peak:,.0f}")
        print("| " + " | ".join(cells) + " |")
    if len(table) > 1:
        first, last = table[0], table[-1]
        growth = ", ".join(f"{name} x{last[name][0] / first[name][0]:.1f}" for name in columns)
        print(f"\ntime from {first['kpis']:,} to {last['kpis']:,} KPIs: {growth}")
    print()
    for row in table:
        wall, _cpu, peak, output = row["full"]
        duck = row["duckdb"][3]
        goal = "met" if output <= GOAL_SECONDS and peak <= GOAL_MB and output < duck else "MISSED"
        print(
            f"{row['kpis']:,} KPIs, in full (no kept scorecard of any date, the definitions "
            "kept): output complete "
            f"after {output:.2f} s (the process ended after {wall:.2f} s), {peak:,.0f} MB, "
            f"DuckDB {duck:.2f} s (<= {GOAL_SECONDS} s, <= 1 GB, faster than DuckDB: {goal}; "
            f"faster than DuckDB: {'yes' if output < duck else 'NO'})"
        )
        tables = row["full_tables"][3]
        print(
            f"{row['kpis']:,} KPIs, in full with the definitions read from the tables: output "
            f"complete after {tables:.2f} s (the process ended after {row['full_tables'][0]:.2f} "
            f"s), DuckDB {duck:.2f} s (faster than DuckDB: {'yes' if tables < duck else 'NO'})"
        )
        if "cold" not in row:
            print(f"  agreement with DuckDB: {row['agreement']}")
            continue
        for name, label in (
            ("cold", "cold (the first status after an apply)"),
            ("month_end", "a month end (the first status of the next turn)"),
            ("warm", "warm"),
            ("after", "after a check-in"),
            ("new_day", "a new as-of day"),
            ("first", "the first status of a store (after its first write)"),
            ("kept_end", "a month end kept by the keeper"),
        ):
            wall, _cpu, peak, _output = row[name]
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
        for name, label in (
            ("apply", "the apply before the cold status"),
            ("load", "the load of one row before a status after a check-in"),
            ("month_end_load", "the load of one row before the month end's status"),
            ("first_load", "the load of one row before the first status of a store"),
            ("keeper", "the keeper's run a week before the month end"),
        ):
            print(f"  {label}: {' / '.join(f'{v:,.2f}' for v in row[name][:3])} (s / CPU s / MB)")
        print(f"  agreement with DuckDB: {row['agreement']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
