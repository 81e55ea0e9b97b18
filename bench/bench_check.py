"""Benchmark `los check` on synthetic organisations (issue: 100,000 KPIs in at most 2 s).

For each size it prints, measured in the same run:
- the time to merely load the organisation from its strategy file (the reference);
- the time of the alignment check on that organisation (best of three), which is the figure
  the goal is about;
- the time of the check with the data rules on, over every measurement of the organisation
  (read from the generated CSV into memory first; reading is not counted).

    .venv/bin/python bench/bench_check.py                 # 10,000 and 100,000 KPIs
    .venv/bin/python bench/bench_check.py --sizes 10000   # quicker

Generated files are kept in --cache (default /tmp/los-bench) and reused by later runs.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import generate

from lineofsight.checks.context import Observation
from lineofsight.checks.runner import run_checks
from lineofsight.domain.model import Organization
from lineofsight.domain.periods import parse_period
from lineofsight.spec.files import read_strategy

AS_OF = dt.date(2026, 11, 22)
UNITS_PER_KPI = 5  # 100,000 KPIs across 20,000 units


def _organisation(cache: Path, kpis: int) -> Path:
    folder = cache / f"org{kpis}"
    strategy = folder / "strategy.yaml"
    if not strategy.exists():
        print(f"  generating {kpis:,} KPIs into {folder} ...", flush=True)
        generate(folder, kpis=kpis, units=kpis // UNITS_PER_KPI)
    return folder


def _observations(path: Path, org: Organization) -> dict[str, list[Observation]]:
    scales = {k.id: k.ratio.scale for k in org.kpis if k.ratio is not None}
    periods: dict[str, tuple[dt.date, dt.date]] = {}
    found: dict[str, list[Observation]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            span = periods.get(row["period"])
            if span is None:
                p = parse_period(row["period"], org.calendar)
                span = periods[row["period"]] = (p.start, p.end)
            if row["value"]:
                value: float | None = float(row["value"])
            else:
                denominator = float(row["denominator"])
                scale = scales[row["kpi"]]
                value = scale * float(row["numerator"]) / denominator if denominator else None
            found[row["kpi"]].append(Observation(row["unit"], span[0], span[1], value))
    return dict(found)


def _best(runs: int, action):  # type: ignore[no-untyped-def]
    best = float("inf")
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="KPI counts, comma-separated")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--no-data", action="store_true", help="skip the data-rules run")
    args = parser.parse_args()
    rows = []
    for kpis in [int(s) for s in args.sizes.split(",")]:
        print(f"{kpis:,} KPIs", flush=True)
        folder = _organisation(args.cache, kpis)
        start = time.perf_counter()
        org = read_strategy(folder / "strategy.yaml")
        load = time.perf_counter() - start
        print(f"  load the strategy file:   {load:8.2f} s", flush=True)
        check, report = _best(3, lambda org=org: run_checks(org, AS_OF))
        print(
            f"  check (definition rules): {check:8.2f} s  "
            f"({len(report.findings):,} findings, {len(report.rules_run)} rules)",
            flush=True,
        )
        data_check = None
        if not args.no_data:
            observations = _observations(folder / "measurements.csv", org)
            count = sum(len(v) for v in observations.values())
            data_check, report = _best(
                3, lambda org=org, obs=observations: run_checks(org, AS_OF, obs)
            )
            print(
                f"  check with data rules:    {data_check:8.2f} s  "
                f"({count:,} measurements, {len(report.rules_run)} rules)",
                flush=True,
            )
        rows.append((kpis, load, check, data_check))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print("| KPIs | load strategy file (s) | check (s) | check with data rules (s) | goal |")
    print("|---:|---:|---:|---:|---|")
    for kpis, load, check, data_check in rows:
        data = f"{data_check:.2f}" if data_check is not None else "-"
        goal = "check <= 2 s: " + ("met" if check <= 2 else "MISSED") if kpis >= 100_000 else ""
        print(f"| {kpis:,} | {load:.2f} | {check:.2f} | {data} | {goal} |")
    print(f"peak memory of this run: {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
