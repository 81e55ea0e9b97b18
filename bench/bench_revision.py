"""Benchmark what the store's revision costs: its read (every page request reads it), a write
of commentary (which bumps the store's activity counter in it), and a warm KPI page.

It makes the techinnovate example in a temporary folder on --db (default: a new SQLite file;
give a PostgreSQL URL to measure there), or works on a copy of --store (an SQLite store such
as /tmp/los-bench/org100000/store.db, copied with SQLite's backup API, WAL included; give
--kpi and --period of one of its KPIs), then prints the median of --runs calls of each:

- the revision's statement as it was (three highest ids and the organisation) and as it is
  (the activity counter beside them), on one open connection;
- a comment written (a new version each time: one write transaction with its audit row), and
  the counter's bump alone in a write transaction;
- the KPI page (--kpi) and the home page through the web app's in-process test client,
  nothing written between requests (their kept parts reused: the request's own cost, the
  revision's read included), and each right after a comment is written (--after runs).

Run it with the code before a change too (another checkout on PYTHONPATH) for a reference.

    .venv/bin/python bench/bench_revision.py [--db URL] [--runs 300]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from web_login import add_user, log_in

from lineofsight.services.commentary import write_comment
from lineofsight.services.init import init_workspace
from lineofsight.store.database import Store
from lineofsight.web.app import create_app

BEFORE = (
    "SELECT (SELECT MAX(id) FROM loads), (SELECT MAX(id) FROM measurement_revisions),"
    " (SELECT MAX(id) FROM definition_changes), (SELECT COUNT(*) FROM organization)"
)
NOW = BEFORE + ", (SELECT activity FROM store_activity WHERE key = 1)"
BUMP = "UPDATE store_activity SET activity = activity + 1 WHERE key = 1"


def median_ms(runs: int, call: Callable[[int], object]) -> float:
    """The median wall time of `runs` calls, in milliseconds (two calls first, not timed)."""
    call(-1)
    call(-2)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="store URL (default: a new SQLite file)")
    parser.add_argument("--store", type=Path, help="an SQLite store to work on a copy of")
    parser.add_argument("--kpi", default="nps", help="the KPI whose page is requested")
    parser.add_argument("--period", default="2026-Q3", help="the period commented on")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--after", type=int, default=5, help="pages requested after a write")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="los-bench-revision-"))
    url = args.db or f"sqlite:///{folder / 'store.db'}"
    if args.store is not None:
        source = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True)
        copy = sqlite3.connect(folder / "store.db")
        source.backup(copy)
        copy.close()
        source.close()
    else:
        init_workspace(folder / "demo", example="techinnovate", db=url)
    store = Store(url)
    store.arrow_sqlite = False  # one SQLite library per process, as the web app
    has_counter = True
    with store.reading() as conn:
        try:
            conn.execute(text(NOW)).one()
        except Exception:
            has_counter = False  # the code before the counter: its statement only
    print(f"store: {store.dialect}, {args.runs} runs each, medians")
    with store.reading() as conn:
        before = median_ms(args.runs, lambda _: conn.exec_driver_sql(BEFORE).one())
        print(f"revision read, 4 parts (before):        {before * 1000:8.1f} us")
        if has_counter:
            now = median_ms(args.runs, lambda _: conn.exec_driver_sql(NOW).one())
            print(f"revision read, 5 parts (now):           {now * 1000:8.1f} us")

    def comment(i: int) -> None:
        write_comment(
            store,
            "bench",
            subject_type="kpi",
            subject_id=args.kpi,
            period=args.period,
            analysis=f"analysis {i}",
            recommendation="none",
        )

    print(f"write of a comment (one transaction):   {median_ms(args.runs, comment):8.2f} ms")
    if has_counter:

        def bump(_: int) -> None:
            with store.transaction() as conn:
                conn.exec_driver_sql(BUMP)

        empty = median_ms(args.runs, lambda _: _empty(store))
        print(f"empty write transaction:                {empty:8.2f} ms")
        print(f"write transaction bumping the counter:  {median_ms(args.runs, bump):8.2f} ms")
    add_user(store)
    app = create_app(url, secret_key="bench")
    with TestClient(app, follow_redirects=False) as client:
        log_in(client)

        for name, path in (("KPI page", f"/kpis/{args.kpi}"), ("home page", "/")):

            def page(_: int, path: str = path) -> None:
                assert client.get(path).status_code == 200

            start = time.perf_counter()
            page(0)
            print(f"{name:9}, first (in-process client): {time.perf_counter() - start:8.2f} s")
            runs = max(args.runs // 10, 3)
            print(f"{name:9}, warm (in-process client):  {median_ms(runs, page):8.2f} ms")

            shown: list[float] = []

            def after_comment(
                i: int, page: Callable[[int], None] = page, shown: list[float] = shown
            ) -> None:
                comment(10_000 + i)
                start = time.perf_counter()
                page(i)
                shown.append(time.perf_counter() - start)

            median_ms(args.after, after_comment)
            after = statistics.median(shown[2:]) * 1000
            print(f"{name:9}, right after a comment:    {after:8.2f} ms")
    store.close()
    shutil.rmtree(folder, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"process: {usage.ru_utime + usage.ru_stime:.2f} CPU s, "
        f"peak {usage.ru_maxrss / 1024:.0f} MB"
    )
    return 0


def _empty(store: Store) -> None:
    with store.transaction():
        pass


if __name__ == "__main__":
    raise SystemExit(main())
