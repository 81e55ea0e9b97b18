"""Benchmark keeping the whole organisation's forecast current (goal: a one-value write at
100,000 KPIs adds under 0.1 s of CPU to bring it up to date), comparing this source tree's
code with others' (`--code NAME=SRC`, e.g. an export of the main branch) on copies of one store.

On a copy of the store (never the store given, which is only read), the keeper runs once with
this code (`snapshots.keep_ready`: today's scorecard and today's forecast of every KPI kept, as
`los serve` does before its workers start). Then, in turn for each code, on a fresh copy of that
prepared store, each a process of its own:
- `los load` of a one-row file (a value of a KPI that a formula reads, at its own unit, for its
  last period): CPU of the whole process (user + system), and whether the kept forecast is of
  the store as it is after it (the page reads it, rather than fitting its KPI);
- two check-ins as the web app's check-in form makes them (`checkin.record_measurement`, in one
  process, modules loaded): the CPU of the second, the forecast brought up to date inside it;
- with `--keeper`, the keeper on a copy of the store as given (nothing kept for today): CPU of
  the process and the processes it waits for.
Each figure is printed with the machine's load average beside it (`os.getloadavg`).

    .venv/bin/python bench/bench_forecast_keep.py --store /tmp/los-bench/org100000/store.db \
        --code before=/tmp/los-main/src --rounds 3 --keeper
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_status import _copy  # a copy through SQLite's backup API, the source only read

HERE = Path(__file__).resolve().parent.parent / "src"
LOS = str(Path(sys.executable).parent / "los")


def _run(args: list[str], src: Path) -> tuple[float, str]:
    """CPU seconds (user + system, with the processes it waited for) and the output of a
    process run with the code of `src`."""
    env = {**os.environ, "PYTHONPATH": str(src), "LOS_DATABASE_URL": ""}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{args[:3]} failed: {err.read()[-2000:]}")
        return usage.ru_utime + usage.ru_stime, out.read()


_KEEPER = """
import datetime as dt, sys
from lineofsight.services.snapshots import keep_ready
from lineofsight.store.database import Store
store = Store(sys.argv[1])
print(keep_ready(store, dt.date.fromisoformat(sys.argv[2])))
store.close()
"""

_FRESH = """
import datetime as dt, sys
from lineofsight.services.attention_forecast import _key
from lineofsight.store.check_results import read_check_state, read_kept_report
from lineofsight.store.database import Store
store = Store(sys.argv[1])
with store.reading() as conn:
    kept = read_kept_report(conn, _key(dt.date.fromisoformat(sys.argv[2])))
    print("yes" if kept is not None and kept[0] == read_check_state(conn) else "no")
store.close()
"""

_CHECKINS = """
import sys, time
from lineofsight.services.checkin import record_measurement
from lineofsight.store.database import Store
store = Store(sys.argv[1])
kpi, unit, period, value = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
record_measurement(store, kpi_id=kpi, unit_id=unit, period=period, value=value, actor="bench")
start = time.process_time()
record_measurement(store, kpi_id=kpi, unit_id=unit, period=period, value=value * 1.01, actor="b")
print(f"{time.process_time() - start:.3f}")
store.close()
"""


def _input_of_a_formula(database: Path) -> tuple[str, str, str, float]:
    """A KPI that a formula reads, its own unit, its last period with a value there, and a
    value near that one."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        ids = {row[0] for row in conn.execute("SELECT id FROM kpis WHERE formula IS NULL")}
        for (formula,) in conn.execute("SELECT formula FROM kpis WHERE formula IS NOT NULL"):
            for name in re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula):
                if name not in ids:
                    continue
                (unit,) = conn.execute("SELECT unit_id FROM kpis WHERE id = ?", (name,)).fetchone()
                found = conn.execute(
                    "SELECT period, value FROM measurements WHERE kpi_id = ? AND unit_id = ?"
                    " AND value IS NOT NULL ORDER BY period_end DESC LIMIT 1",
                    (name, unit),
                ).fetchone()
                if found is not None:
                    return name, unit, found[0], round(float(found[1]) * 1.02 + 0.5, 2)
    finally:
        conn.close()
    raise SystemExit("no formula reads a measured KPI in this store")


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="an SQLite store (only read)")
    parser.add_argument(
        "--code", action="append", default=[], help="NAME=SRC: another code's src folder"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--today", default=None, help="the keeper's day (default: the clock's)")
    parser.add_argument("--keeper", action="store_true", help="time the keeper too")
    args = parser.parse_args()
    import datetime as dt

    today = args.today or dt.date.today().isoformat()
    codes = {name: Path(src).resolve() for name, _, src in (c.partition("=") for c in args.code)}
    codes["now"] = HERE
    work = Path(tempfile.mkdtemp(prefix="los-forecast-keep-"))
    prepared = work / "prepared.db"
    _copy(args.store, prepared)
    cpu, said = _run([sys.executable, "-c", _KEEPER, f"sqlite:///{prepared}", today], HERE)
    print(f"keeper (this code, to prepare): {cpu:.2f} s CPU, load {_load()}: {said.strip()}")
    kpi, unit, period, value = _input_of_a_formula(prepared)
    print(f"the value written: {kpi} at {unit}, {period}: {value}")
    one = work / "one.csv"
    with one.open("w", newline="") as out:
        csv.writer(out).writerows([["kpi", "unit", "period", "value"], [kpi, unit, period, value]])
    run = work / "run.db"
    url = f"sqlite:///{run}"
    for number in range(1, args.rounds + 1):
        for name, src in codes.items():
            _copy(prepared, run)
            cpu, _ = _run([LOS, "load", str(one), "--db", url], src)
            _, fresh = _run([sys.executable, "-c", _FRESH, url, today], HERE)
            print(
                f"round {number}, {name}: los load of one row {cpu:.2f} s CPU, load {_load()}; "
                f"today's forecast current after it: {fresh.strip()}",
                flush=True,
            )
            _copy(prepared, run)
            _, second = _run(
                [sys.executable, "-c", _CHECKINS, url, kpi, unit, period, str(value)], src
            )
            print(
                f"round {number}, {name}: a check-in {float(second):.3f} s CPU, load {_load()}",
                flush=True,
            )
            if args.keeper:
                _copy(args.store, run)
                cpu, _ = _run([sys.executable, "-c", _KEEPER, url, today], src)
                print(f"round {number}, {name}: keeper {cpu:.2f} s CPU, load {_load()}", flush=True)
    for file in work.iterdir():
        file.unlink()
    work.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
