"""Benchmark `los brief` (goal: each book, HTML and PDF, in at most 10 s and 1 GB, process
start to the file written) on two generated organisations:

- a business unit of 2,000 KPIs with 200 red: the company of a generated 2,000-KPI
  organisation (bench/generate.py, cached under --cache), whose values of the evaluation
  period are changed so that exactly 200 of its KPI rows are red; its whole subtree, every
  red and amber KPI with its chart;
- the whole 100,000-KPI organisation at the company level (the store bench_status.py builds
  and caches): its top two levels of units, their objectives and their reds.

Each store is copied to --work (the cached one is never written). For each, `los brief ...
-o book.html` and `-o book.pdf` run in fresh processes: the first one is cold (no scorecard
or check report kept for the as-of date: both are made and kept), then --runs warm runs, each
with its wall time, CPU time (user and system) and peak memory. The machine may be shared:
CPU time is the steadier figure.

    .venv/bin/python bench/bench_brief.py
    .venv/bin/python bench/bench_brief.py --runs 3 --cache /tmp/los-bench --work /tmp/los-brief
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_status import _run, _store
from generate import generate

from lineofsight.domain import model as m
from lineofsight.services.apply import apply_file
from lineofsight.services.brief import build_book
from lineofsight.services.evaluate import load_organization
from lineofsight.services.measurements import load_file
from lineofsight.services.snapshots import scorecard
from lineofsight.store.database import Store

AS_OF = "2026-11-22"
LOS = str(Path(sys.executable).parent / "los")
GOAL_SECONDS, GOAL_MB = 10.0, 1024
UNIT_KPIS, UNIT_REDS = 2_000, 200


def _unit_store(cache: Path) -> Path:
    """The 2,000-KPI organisation with exactly 200 red KPI rows as of AS_OF (cached)."""
    folder = cache / f"brief{UNIT_KPIS}"
    database = folder / "store.db"
    if database.exists():
        return database
    print(f"  generating {UNIT_KPIS:,} KPIs with {UNIT_REDS} red ...", flush=True)
    generate(folder, kpis=UNIT_KPIS, units=UNIT_KPIS // 5)
    partial = folder / "store.partial.db"
    partial.unlink(missing_ok=True)
    store = Store(f"sqlite:///{partial}")
    apply_file(store, folder / "strategy.yaml")
    load_file(store, folder / "measurements.csv")
    _make_reds(store, folder)
    store.close()
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{partial}{suffix}")
        if source.exists():
            shutil.move(source, f"{database}{suffix}")
    return database


def _reds(store: Store, top: str) -> int:
    return len(build_book(store, top, as_of=AS_OF).reds)


def _make_reds(store: Store, folder: Path) -> None:
    """Change values of the evaluation period until the company's book has 200 red rows:
    a value far below (or above, for `decrease`) its target turns a KPI red, one at its target
    turns it green; simple KPIs only (no formula, ratio, range or bounds)."""
    org = load_organization(store)
    top = next(u.id for u in org.units if u.parent is None)
    simple = [
        k
        for k in org.kpis
        if k.formula is None
        and k.ratio is None
        and k.bounds is None
        and k.direction is not m.Direction.RANGE
        and k.target is not None
    ]
    for attempt in range(20):
        count = _reds(store, top)
        if count == UNIT_REDS:
            return
        rows = scorecard(store, None, AS_OF).evaluation.kpis
        own = {
            r["id"]: r
            for r in rows.iter_rows(named=True)
            if r["own_unit"] and r["target"] is not None and r["period"]
        }
        lines = ["kpi,period,value"]
        want_red = count < UNIT_REDS
        step = max(1, abs(UNIT_REDS - count) // 2) if attempt else abs(UNIT_REDS - count)
        for kpi in simple:
            row = own.get(kpi.id)
            if row is None or (row["status"] == "red") == want_red:
                continue
            target = float(row["target"])
            if want_red:
                far = abs(target) * 3 + 10
                value = target - far if kpi.direction is m.Direction.INCREASE else target + far
            else:
                value = target
            lines.append(f"{kpi.id},{row['period']},{value}")
            if len(lines) > step:
                break
        path = folder / f"reds{attempt}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        load_file(store, path)
    raise SystemExit(f"could not make {UNIT_REDS} red rows (have {_reds(store, top)})")


def _top(url: str) -> str:
    store = Store(url)  # opening it brings an older cached store to the current schema
    try:
        org_units = scorecard(store, None, AS_OF).defs.units
        return str(org_units.filter(org_units["parent_id"].is_null())["id"][0])
    finally:
        store.close()


def measure(name: str, database: Path, work: Path, runs: int) -> list[str]:
    slug = "".join(c if c.isalnum() else "_" for c in name)
    copy = work / f"{slug}.db"
    shutil.copy(database, copy)
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{copy}"
    top = _top(url)
    lines = []
    cold = True
    for kind in ("html", "pdf"):
        output = work / f"{slug}.{kind}"
        command = [LOS, "brief", top, "--as-of", AS_OF, "-o", str(output), "--db", url]
        if cold:
            # The first book of the date makes and keeps the scorecard and the check report.
            _forget_kept(copy)
            first = _run(command)
            lines.append(_line(name, f"{kind}, cold", first, output))
            cold = False
        results = [_run(command) for _ in range(runs)]
        best = (
            min(r[0] for r in results),
            min(r[1] for r in results),
            max(r[2] for r in results),
        )
        lines.append(_line(name, kind, best, output))
    return lines


def _forget_kept(database: Path) -> None:
    import contextlib
    import sqlite3

    with sqlite3.connect(database) as conn:
        for table in ("scorecard_snapshots", "scorecard_patches", "check_results"):
            # A table an older store does not have yet has nothing to forget.
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute(f"DELETE FROM {table}")


def _line(name: str, kind: str, figures: tuple[float, float, float], output: Path) -> str:
    wall, cpu, peak = figures
    met = "met" if wall <= GOAL_SECONDS and peak <= GOAL_MB else "MISSED"
    size = output.stat().st_size / 1e6
    return f"| {name} | {kind} | {wall:.2f} | {cpu:.2f} | {peak:,.0f} | {size:.1f} | {met} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="los-brief-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"briefing books as of {AS_OF} ({dt.date.today()}), best of {args.runs} warm runs")
    print("| book | output | wall s | CPU s | peak MB | file MB | goal (10 s, 1 GB) |")
    print("|---|---|---|---|---|---|---|")
    cases = [
        (f"unit of {UNIT_KPIS:,} KPIs, {UNIT_REDS} red", _unit_store(args.cache)),
        ("100,000 KPIs, company level", _store(args.cache, 100_000)),
    ]
    for name, database in cases:
        for line in measure(name, database, work, args.runs):
            print(line, flush=True)


if __name__ == "__main__":
    main()
