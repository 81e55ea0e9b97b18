"""Benchmark `los status` on synthetic organisations (goal: 100,000 KPIs in at most 2 s and
2 GB, at most 3 times the time to only read the measurements out of the store).

For each size it builds (once, cached under --cache) a SQLite store with the organisation and
all its measurements, then prints, measured in the same run:
- the floor: the time to only read every measurement out of the store into memory;
- `los status --format json` as a user runs it (a subprocess): wall time and peak memory;
- the parts of that run in-process: loading the definitions, reading the measurements the
  evaluation needs, the evaluation itself, and writing the JSON.

    .venv/bin/python bench/bench_status.py                 # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_status.py --sizes 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import generate

from lineofsight.cli.render_status import frames_json
from lineofsight.engine.frames import evaluate_frames
from lineofsight.services.apply import apply_file
from lineofsight.services.evaluate import (
    frame_window,
    read_definition_frames,
    read_measurement_frame,
)
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

AS_OF = "2026-11-22"
LOS = str(Path(sys.executable).parent / "los")


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
        start = time.perf_counter()
        apply_file(store, folder / "strategy.yaml")
        print(f"    apply: {time.perf_counter() - start:.1f} s", flush=True)
        start = time.perf_counter()
        load_file(store, folder / "measurements.csv")
        print(f"    load:  {time.perf_counter() - start:.1f} s", flush=True)
        store.close()
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{partial}{suffix}")
            if source.exists():
                shutil.move(source, f"{database}{suffix}")
    return database


def _run_status(url: str) -> tuple[float, float]:
    """Best wall time of three runs and peak resident memory (MB) of `los status`, each in a
    child process of its own."""
    best, peak = float("inf"), 0.0
    for _ in range(3):
        start = time.perf_counter()
        child = subprocess.Popen(
            [LOS, "status", "--as-of", AS_OF, "--format", "json", "--db", url],
            stdout=subprocess.DEVNULL,
            env={**os.environ, "LOS_DATABASE_URL": ""},
        )
        _, status, usage = os.wait4(child.pid, 0)
        best = min(best, time.perf_counter() - start)
        if status != 0:
            raise SystemExit(f"los status failed with {status}")
        peak = max(peak, usage.ru_maxrss / 1024)
    return best, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    args = parser.parse_args()
    table = []
    for kpis in [int(s) for s in args.sizes.split(",")]:
        print(f"{kpis:,} KPIs", flush=True)
        database = _store(args.cache, kpis)
        url = f"sqlite:///{database}"
        # `los status` first: a child started while this process holds every measurement in
        # memory would count those shared pages in its peak until it runs `los`.
        wall, peak = _run_status(url)
        print(f"  los status (subprocess):           {wall:.2f} s, peak {peak:,.0f} MB")
        store = Store(url)
        start = time.perf_counter()
        everything = read_measurement_frame(store)
        floor = time.perf_counter() - start
        print(f"  floor, read all {everything.height:,} measurements: {floor:.2f} s", flush=True)
        del everything
        day = dt.date.fromisoformat(AS_OF)
        start = time.perf_counter()
        defs = read_definition_frames(store)
        t_org = time.perf_counter() - start
        start = time.perf_counter()
        frame = read_measurement_frame(store, frame_window(defs, day))
        t_read = time.perf_counter() - start
        start = time.perf_counter()
        evaluation = evaluate_frames(defs, frame, day)
        t_eval = time.perf_counter() - start
        start = time.perf_counter()
        frames_json(evaluation)
        t_json = time.perf_counter() - start
        store.close()
        print(
            f"  in-process: definitions {t_org:.2f} s, measurements needed ({frame.height:,}) "
            f"{t_read:.2f} s, evaluation {t_eval:.2f} s, JSON {t_json:.2f} s"
        )
        table.append((kpis, floor, wall, peak, t_org, t_read, t_eval, t_json))
    print()
    print(
        "| KPIs | floor: read all measurements (s) | los status (s) | x floor | peak (MB) "
        "| definitions (s) | measurements needed (s) | evaluation (s) | JSON (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kpis, floor, wall, peak, t_org, t_read, t_eval, t_json in table:
        print(
            f"| {kpis:,} | {floor:.2f} | {wall:.2f} | {wall / floor:.2f} | {peak:,.0f} | "
            f"{t_org:.2f} | {t_read:.2f} | {t_eval:.2f} | {t_json:.2f} |"
        )
    for kpis, _floor, wall, peak, *_ in table:
        goal = "met" if wall <= 2 and peak <= 2048 else "MISSED"
        print(
            f"{kpis:,} KPIs: los status {wall:.2f} s, {peak:,.0f} MB (<= 2 s and <= 2 GB: {goal})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
