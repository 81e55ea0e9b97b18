"""Benchmark `los forecast` on the synthetic organisations of bench/generate.py (goal: 100,000
KPIs in at most 30 s and 2 GB), and how each figure grows from 10,000 to 100,000 KPIs.

The stores are the ones bench/bench_status.py builds (cached under --cache). For each size it
prints, measured in the same run:
- `los forecast --format json` as a user runs it (a subprocess): wall time and peak memory;
- the parts of that run in-process: loading the organisation, reading the measurements, the
  histories (a group-by over the measurements), the fits and paths, and writing the JSON;
- in-process, the forecast of every KPI as the attention lists make it (`whole_forecast`:
  from the store's tables, no domain object per KPI: the off-track calls and each KPI's
  forecast for its page), wall and CPU;
- in-process, that forecast made and kept in the store as the lists keep it
  (`attention_forecast.off_track`), wall and CPU, and what it adds to the store file.

    .venv/bin/python bench/bench_forecast_cost.py                 # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_forecast_cost.py --sizes 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_status import _copy, _store

from lineofsight.cli.render_forecast import forecast_json
from lineofsight.domain.periods import MIN_YEAR
from lineofsight.services.attention_forecast import off_track
from lineofsight.services.evaluate import load_organization, read_measurement_frame
from lineofsight.services.forecast import ForecastReport, forecast_frame, whole_forecast
from lineofsight.store.database import Store

AS_OF = "2026-11-22"
LOS = str(Path(sys.executable).parent / "los")


def _run_forecast(url: str) -> tuple[float, float, float]:
    """Wall time, CPU time (user + system: steadier than the wall clock on a shared machine)
    and peak resident memory (MB) of `los forecast` in a child process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [LOS, "forecast", "--as-of", AS_OF, "--format", "json", "--db", url],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "LOS_DATABASE_URL": ""},
    )
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"los forecast failed with {status}")
    cpu = usage.ru_utime + usage.ru_stime
    return time.perf_counter() - start, cpu, usage.ru_maxrss / 1024


def _size(database: Path) -> int:
    """The bytes of an SQLite store, its write-ahead log folded in."""
    import sqlite3

    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return database.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    args = parser.parse_args()
    rows = []
    for kpis in [int(s) for s in args.sizes.split(",")]:
        print(f"{kpis:,} KPIs", flush=True)
        # A copy: the forecast `off_track` keeps must not land in the cached store, where
        # the other benchmarks' runs "in full" would find them.
        work = Path(tempfile.mkdtemp(prefix="los-forecast-cost-"))
        copy = work / "store.db"
        _copy(_store(args.cache, kpis), copy)
        url = f"sqlite:///{copy}"
        wall, cpu, peak = _run_forecast(url)
        print(
            f"  los forecast (subprocess): {wall:.2f} s ({cpu:.2f} s CPU), peak {peak:,.0f} MB",
            flush=True,
        )
        day = dt.date.fromisoformat(AS_OF)
        store = Store(url)
        start = time.perf_counter()
        org = load_organization(store)
        t_org = time.perf_counter() - start
        start = time.perf_counter()
        frame = read_measurement_frame(store, (dt.date(MIN_YEAR, 1, 1), day))
        t_read = time.perf_counter() - start
        start = time.perf_counter()
        forecasts = forecast_frame(org, frame, day)
        t_fit = time.perf_counter() - start
        start = time.perf_counter()
        forecast_json(ForecastReport(day, org, forecasts))
        t_json = time.perf_counter() - start
        start, cpu_start = time.perf_counter(), time.process_time()
        calls = whole_forecast(store, day).calls
        t_calls = time.perf_counter() - start
        cpu_calls = time.process_time() - cpu_start
        size = _size(copy)
        start, cpu_start = time.perf_counter(), time.process_time()
        off_track(store, day)
        t_kept = time.perf_counter() - start
        cpu_kept = time.process_time() - cpu_start
        store.close()
        grown = _size(copy) - size
        for file in work.iterdir():
            file.unlink()
        work.rmdir()
        print(
            f"  in-process, every KPI's off-track call as the attention lists make it: "
            f"{t_calls:.2f} s ({cpu_calls:.2f} s CPU), {calls.height:,} off track",
            flush=True,
        )
        print(
            f"  in-process, made and kept as the attention lists keep it: {t_kept:.2f} s "
            f"({cpu_kept:.2f} s CPU); the store file grew by {grown / 1e6:,.1f} MB",
            flush=True,
        )
        print(
            f"  in-process: organisation {t_org:.2f} s, measurements ({frame.height:,}) "
            f"{t_read:.2f} s, histories + forecasts ({len(forecasts):,}) {t_fit:.2f} s, "
            f"JSON {t_json:.2f} s",
            flush=True,
        )
        rows.append((kpis, wall, peak, t_org, t_read, t_fit, t_json, cpu))
    print()
    print(
        "| KPIs | los forecast (s) | CPU (s) | peak (MB) | organisation (s) | measurements (s) "
        "| histories + forecasts (s) | JSON (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kpis, wall, peak, t_org, t_read, t_fit, t_json, cpu in rows:
        print(
            f"| {kpis:,} | {wall:.2f} | {cpu:.2f} | {peak:,.0f} | {t_org:.2f} | {t_read:.2f} | "
            f"{t_fit:.2f} | {t_json:.2f} |"
        )
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        names = ("los forecast", "peak memory", "organisation", "measurements", "forecasts")
        growth = ", ".join(
            f"{name} x{large[i] / small[i]:.1f}"
            for name, i in zip(names, (1, 2, 3, 4, 5), strict=True)
            if small[i] > 0
        )
        print(f"\nfrom {small[0]:,} to {large[0]:,} KPIs: {growth}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    for kpis, wall, peak, *_ in rows:
        if kpis >= 100_000:
            goal = "met" if wall <= 30 and peak <= 2048 else "MISSED"
            print(f"goal (100,000 KPIs in <= 30 s and <= 2 GB): {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
