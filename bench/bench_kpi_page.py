"""Benchmark the KPI web page right after a one-value check-in (goal: the page reflects it
within the budget of `los status`, 0.5 s, with no full rebuild per write).

It copies the 100,000-KPI store that `bench_status.py` builds (under --cache) to --work, adds
a user, then through the web app's in-process test client (made as `los serve` makes it,
today's scorecard started at its start): draws the page of the first KPI once (the
scorecard of today computed and kept), and --runs times loads a one-row file
replacing that KPI's November value (the load brings the kept scorecard up to date itself: its
time is printed too) and times the next request of its page (checked to show the new value;
the app puts the changed rows in place in the scorecard it holds), then the one after
(nothing written since).

With --many N it then visits the pages of N different KPIs (every n-th KPI by id), each for
the first time, so each request makes the page's kept parts itself (chart, forecast,
explanation, line of sight, lower half), and prints the CPU time (`time.process_time`) of such
a first visit. Before the visits, today's forecast of the whole organisation is kept as the
attention lists keep it (`attention_forecast.off_track`, its time printed), as on a server
whose lists were made today: each page reads its KPI's forecast from it (--no-kept: not kept,
each page fits its KPI's forecast itself). The `kpis` line of bench_pages.py costs about a
first visit's CPU per request. --save DIR writes each page's HTML there (to compare with
another checkout's), --profile FILE keeps a cProfile of the visits (of the pages' own code:
the test client runs the app in other threads).

With --in-thread the visits call the app (its ASGI entry, as uvicorn does) in this thread, its
thread pool's calls made in place: no test client and no thread switches, so the CPU is what a
server's process pays for the app, middlewares, session and framework included (not uvicorn's
HTTP parsing), steadier on a loaded machine; --profile then covers the whole request.

    .venv/bin/python bench/bench_kpi_page.py
    .venv/bin/python bench/bench_kpi_page.py --runs 0 --many 300
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from web_login import add_user, log_in

from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store
from lineofsight.web.app import create_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/los-bench-page"))
    parser.add_argument("--many", type=int, default=0, help="first visits of N KPIs' pages")
    parser.add_argument("--save", type=Path, help="write the --many pages' HTML here")
    parser.add_argument("--profile", type=Path, help="a cProfile of the --many visits")
    parser.add_argument(
        "--no-kept", action="store_true", help="no kept forecast: each page fits its own"
    )
    parser.add_argument(
        "--in-thread", action="store_true", help="call the app in this thread, no test client"
    )
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
    add_user(store)
    # As `los serve` makes it: today's scorecard made at start, its millions of objects then
    # moved out of the garbage collector's sight (else a full collection walks them now and
    # then, about 0.45 s each at 100,000 KPIs, which no server's request pays).
    app = create_app(url, secret_key="bench", warm=True)
    with TestClient(app, follow_redirects=False) as client:
        log_in(client)
        kpi, unit = "k0000003", "u000000"
        start = time.perf_counter()
        assert client.get(f"/kpis/{kpi}").status_code == 200
        print(f"{args.kpis:,} KPIs: first page {time.perf_counter() - start:.2f} s (cold)")
        app.state.warming.join()  # the start's second scorecard (the home page's), not timed
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
        if args.runs:
            print(f"  after a check-in: {min(after):.2f} s (best of {args.runs}; the value shown)")
            print(f"  next request: {min(again):.2f} s")
        if args.runs:
            print(f"  the load of one row before it (in-process): {min(loads):.2f} s")
        if args.many:
            if not args.no_kept:
                keep_forecast(store)
            first_visits(client, store, args)
    store.close()
    return 0


def _profile_endpoints() -> cProfile.Profile:
    """A profile of the pages' own code: the app runs each endpoint in a worker thread, where
    a profile started here would not see it (the framework's part is left out)."""
    import fastapi.routing

    profile = cProfile.Profile()
    run = fastapi.routing.run_in_threadpool

    async def profiled(func: Any, *args: Any, **kwargs: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            profile.enable()
            try:
                return func(*args, **kwargs)
            finally:
                profile.disable()

        return await run(call, *args, **kwargs)

    fastapi.routing.run_in_threadpool = profiled  # type: ignore[assignment]
    return profile


def _in_thread(client: TestClient) -> Callable[[str], tuple[int, bytes, bool]]:
    """A GET of a path through the app's ASGI entry in this thread, with the client's session
    cookie and `Accept-Encoding: gzip` as a browser sends (the body as the app sent it, and
    whether it is gzip); the app's thread pool calls are made in place from then on."""
    import asyncio

    import fastapi.dependencies.utils
    import fastapi.routing
    import starlette.concurrency

    async def in_place(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    for module in (starlette.concurrency, fastapi.routing, fastapi.dependencies.utils):
        module.run_in_threadpool = in_place  # type: ignore[attr-defined]
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    headers = [
        (b"host", b"testserver"),
        (b"cookie", cookie.encode()),
        (b"accept-encoding", b"gzip, deflate"),
    ]
    app = client.app
    loop = asyncio.new_event_loop()

    async def get(path: str) -> tuple[int, bytes, bool]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        status, body, packed = 0, [], False

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, packed
            if message["type"] == "http.response.start":
                status = message["status"]
                packed = (b"content-encoding", b"gzip") in message.get("headers", [])
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(body), packed

    return lambda path: loop.run_until_complete(get(path))


def keep_forecast(store: Store) -> None:
    """Today's forecast of the whole organisation kept, as the attention lists keep it."""
    from lineofsight.services.attention_forecast import off_track
    from lineofsight.web.pagekit import today

    start, cpu = time.perf_counter(), time.process_time()
    calls = off_track(store, today())
    print(
        f"  the whole organisation's forecast kept: {time.perf_counter() - start:.2f} s "
        f"({time.process_time() - cpu:.2f} s CPU), {calls.height:,} KPIs off track"
    )


def first_visits(client: TestClient, store: Store, args: argparse.Namespace) -> None:
    """The first visit of many KPIs' pages: CPU ms each (mean, median, p95)."""
    with store.reading() as conn:
        ids = [str(i) for i in conn.execute(text("SELECT id FROM kpis ORDER BY id")).scalars()]
    step = max(1, len(ids) // args.many)
    kpis = ids[step // 2 :: step][: args.many]
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    if args.in_thread:
        get = _in_thread(client)
        profile = cProfile.Profile() if args.profile else None
    else:

        def get(path: str) -> tuple[int, bytes, bool]:
            page = client.get(path)
            return page.status_code, page.content, False

        profile = _profile_endpoints() if args.profile else None
    cpu: list[float] = []
    wall = time.perf_counter()
    for kpi in kpis:
        start = time.process_time()
        if args.in_thread and profile:
            profile.enable()
        status, content, packed = get(f"/kpis/{kpi}")
        if args.in_thread and profile:
            profile.disable()
        cpu.append(time.process_time() - start)
        if status != 200:
            raise SystemExit(f"/kpis/{kpi} answered {status}")
        if args.save:
            (args.save / f"{kpi}.html").write_bytes(gzip.decompress(content) if packed else content)
    wall = time.perf_counter() - wall
    if profile:
        profile.dump_stats(args.profile)
    cpu.sort()
    how = "in this thread" if args.in_thread else "through the test client"
    print(
        f"  first visits of {len(kpis)} KPIs' pages (every {step}th KPI, {how}), CPU ms a page: "
        f"mean {1000 * sum(cpu) / len(cpu):.1f}, median {1000 * cpu[len(cpu) // 2]:.1f}, "
        f"p95 {1000 * cpu[int(len(cpu) * 0.95)]:.1f} (wall {1000 * wall / len(kpis):.1f} ms a page)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
