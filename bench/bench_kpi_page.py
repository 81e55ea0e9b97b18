"""Benchmark the KPI web page right after a one-value check-in (goal: the page reflects it
within the budget of `los status`, 0.5 s, with no full rebuild per write).

It copies the 100,000-KPI store that `bench_status.py` builds (under --cache) to --work, adds
a user, then through the web app's in-process test client: draws the page of the first KPI
once (the scorecard of today computed and kept), and --runs times loads a one-row file
replacing that KPI's November value (the load brings the kept scorecard up to date itself: its
time is printed too) and times the next request of its page (checked to show the new value;
the app puts the changed rows in place in the scorecard it holds), then the one after
(nothing written since).

    .venv/bin/python bench/bench_kpi_page.py
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import time
from pathlib import Path

from fastapi.testclient import TestClient

from lineofsight.domain.accounts import Grant
from lineofsight.services import accounts
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store
from lineofsight.web.app import create_app

PASSWORD = "a benchmark password"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/los-bench-page"))
    args = parser.parse_args()
    source = args.cache / f"org{args.kpis}" / "store.db"
    if not source.exists():
        raise SystemExit(f"run bench/bench_status.py --sizes {args.kpis} first")
    args.work.mkdir(parents=True, exist_ok=True)
    database = args.work / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    # SQLite's backup API: the cached store's write-ahead log is copied too, the store only read.
    cached = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    copy = sqlite3.connect(database)
    try:
        cached.backup(copy)
    finally:
        copy.close()
        cached.close()
    url = f"sqlite:///{database}"
    store = Store(url)
    store.arrow_sqlite = False  # one SQLite library per process, as the web app
    accounts.add_user(store, "bench", PASSWORD, (Grant("admin"),), actor="bench")
    app = create_app(url, secret_key="bench")
    with TestClient(app, follow_redirects=False) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        client.post(
            "/login",
            data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        kpi, unit = "k0000003", "u000000"
        start = time.perf_counter()
        assert client.get(f"/kpis/{kpi}").status_code == 200
        print(f"{args.kpis:,} KPIs: first page {time.perf_counter() - start:.2f} s (cold)")
        after, again, loads = [], [], []
        for run in range(args.runs):
            value = 20.25 + run
            csv = args.work / f"checkin{run}.csv"
            csv.write_text(f"kpi,unit,period,value\n{kpi},{unit},2026-11,{value}\n")
            start = time.perf_counter()
            load_file(store, csv)
            loads.append(time.perf_counter() - start)
            start = time.perf_counter()
            page = client.get(f"/kpis/{kpi}")
            after.append(time.perf_counter() - start)
            if page.status_code != 200 or str(value) not in page.text:
                raise SystemExit(f"the page after the check-in does not show {value}")
            start = time.perf_counter()
            client.get(f"/kpis/{kpi}")
            again.append(time.perf_counter() - start)
        print(f"  after a check-in: {min(after):.2f} s (best of {args.runs}; the value shown)")
        print(f"  next request: {min(again):.2f} s")
        print(f"  the load of one row before it (in-process): {min(loads):.2f} s")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
