"""Benchmark the pages people work in on the 100,000-KPI organisation: server time under 32
concurrent clients, and the bytes each page transfers on a first (cold) visit.

Pages (goal for each: p95 of server time <= 100 ms with 32 concurrent clients):

    home                 /
    map of a BU          /map?unit=BU
    unit page            /units/BU
    KPI page             /kpis/KPI           (a KPI of that business unit)
    red list             /lists/red          (--red-list PATH; skipped while it answers 404)
    heatmap of a BU      /heatmap?unit=BU    (--heatmap PATH; likewise)

BU is the business unit with the most KPIs in its subtree. The store is a copy of the one
`bench/bench_status.py` builds under --cache (org100000/store.db), with a benchmark user added.
`los serve --no-scheduler --workers 2` runs as a subprocess (--workers); each page is first
requested once (cold: the first request after start waits for the organisation and the
scorecards each worker starts reading when it starts; `los serve` keeps the scorecards in the
store before it listens, computing them there when none is kept: the copied store has none the
first time; the time from the server's start and its CPU by then are printed), warmed in every
worker, then loaded by wrk with 32 connections for --duration seconds, sending
`Accept-Encoding: gzip` as browsers do. Two
latencies are printed for each page:

- server time: the app's own `Server-Timing: app;dur=` header, from the request's arrival in
  the app to its answer (compression included), collected by wrk's Lua hook for every answer;
- latency: what wrk measured from the client, which adds the time a request waits for the
  server while the 31 others are served (about 31 x the mean CPU time per request / the
  processes).

The `kpis` line (`--many`) visits the pages of 20,000 different KPIs in turn, so each request
is a first visit that makes the page's kept parts (chart, forecast, explanation, line of sight,
lower half). With 32 clients always waiting, a request's server time is mostly its wait for
the others (Little's law: about 32 / requests per second), so the p95 follows the CPU time of
a first visit, printed as "CPU ms a request" (the server processes' CPU over the requests
answered): 100 ms at p95 needs about 3 ms of CPU a request on 2 cores.

The memory of each server process (now and at its peak) is printed at the end.

Cold bytes: the page and every asset it links (stylesheet, scripts), as sent with gzip and
without; a second visit sends only the page (assets are cached for a year by their content
hash).

    .venv/bin/python bench/bench_pages.py
    .venv/bin/python bench/bench_pages.py --duration 20 --only home kpi
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_web import PASSWORD, USER, Server, login_cookie

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 100.0
# wrk's Lua hooks: every answer's Server-Timing duration, gathered from all threads at the end;
# then the client-side latency percentiles (microseconds) and the counts, on one line.
REPORT = """
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
  if place then place(thread) end
end
init = function(args) durs = {}; n = 0 end
response = function(status, headers, body)
  local t = headers["server-timing"] or headers["Server-Timing"]
  if t then
    local d = string.match(t, "dur=([%d%.]+)")
    if d then n = n + 1; durs[n] = tonumber(d) end
  end
end
done = function(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get("durs")) do table.insert(all, v) end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return -1 end
    return all[math.max(1, math.ceil(#all * p / 100))]
  end
  io.write(string.format("RESULT %d %d %d %d %d %d %d %.2f %.2f %.2f %d\\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, pct(50), pct(95), pct(99), #all))
end
"""
# The KPI page of many different KPIs, each thread from its own place in the list: the page's
# kept parts are then mostly made by the request itself (a first visit), not read back.
ROTATE = """
local paths = {%s}
local offset = 0
place = function(thread) offset = offset + 7919; thread:set("at", offset) end
request = function()
  at = at + 1
  return wrk.format(nil, paths[(at %% #paths) + 1])
end
"""
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def prepare(cache: Path, work: Path) -> str:
    """A copy of the 100,000-KPI store with the benchmark user (copied again when the cached
    store is newer)."""
    source = cache / "org100000" / "store.db"
    if not source.exists():
        raise SystemExit(f"no store at {source}: run bench/bench_status.py --sizes 100000 first")
    work.mkdir(parents=True, exist_ok=True)
    database = work / "store.db"
    if not database.exists() or database.stat().st_mtime < source.stat().st_mtime:
        print(f"  copying {source} ...", flush=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        # SQLite's backup API: what the cached store's write-ahead log holds is copied too,
        # and the cached store is only read.
        cached = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        copy = sqlite3.connect(database)
        try:
            cached.backup(copy)
        finally:
            copy.close()
            cached.close()
    url = f"sqlite:///{database}"
    store = Store(url)
    try:
        if accounts.find_user(store, USER) is None:
            accounts.add_user(store, USER, PASSWORD, [Grant("admin")], actor="bench")
    finally:
        store.close()
    return url


def many_kpis(url: str, count: int) -> list[str]:
    """`count` KPI pages of the organisation, spread over it (every n-th KPI by id)."""
    from sqlalchemy import text

    store = Store(url)
    try:
        with store.reading() as conn:
            ids = [str(i) for i in conn.execute(text("SELECT id FROM kpis ORDER BY id")).scalars()]
    finally:
        store.close()
    step = max(1, len(ids) // count)
    return [f"/kpis/{k}" for k in ids[::step][:count]]


def business_unit(url: str) -> tuple[str, str, int]:
    """The business unit with the most KPIs in its subtree, one KPI of it, and that count."""
    from sqlalchemy import text

    store = Store(url)
    try:
        with store.reading() as conn:
            parents = dict(conn.execute(text("SELECT id, parent_id FROM units")).all())
            levels = dict(conn.execute(text("SELECT id, level FROM units")).all())
            per_unit = dict(
                conn.execute(text("SELECT unit_id, COUNT(*) FROM kpis GROUP BY unit_id")).all()
            )
            counts: dict[str, int] = {}
            for unit, n in per_unit.items():
                node = unit
                while node is not None:
                    if levels.get(node) == "business_unit":
                        counts[node] = counts.get(node, 0) + int(n)
                        break
                    node = parents.get(node)
            bu = max(counts, key=lambda u: (counts[u], u))
            kpi = conn.execute(
                text("SELECT id FROM kpis WHERE unit_id = :u ORDER BY id LIMIT 1"), {"u": bu}
            ).scalar_one()
    finally:
        store.close()
    return bu, str(kpi), counts[bu]


def _raw_size(client: httpx.Client, path: str, gzip: bool) -> tuple[int, str]:
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    with client.stream("GET", path, headers=headers) as answer:
        body = b"".join(answer.iter_raw())
        text = ""
        if answer.headers.get("content-type", "").startswith("text/html"):
            import gzip as gz

            plain = (
                gz.decompress(body) if answer.headers.get("content-encoding") == "gzip" else body
            )
            text = plain.decode("utf-8", "replace")
        return len(body), text


def cold_bytes(base: str, cookie: str, path: str) -> dict[str, int]:
    """Bytes a first visit transfers (bodies only): the page and its assets, gzip and plain."""
    with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=120) as client:
        page_gz, html = _raw_size(client, path, gzip=True)
        page_plain, _ = _raw_size(client, path, gzip=False)
        assets = sorted(set(ASSET.findall(html)))
        assets_gz = sum(_raw_size(client, a, gzip=True)[0] for a in assets)
        assets_plain = sum(_raw_size(client, a, gzip=False)[0] for a in assets)
    return {
        "page_gz": page_gz,
        "page_plain": page_plain,
        "assets_gz": assets_gz,
        "assets_plain": assets_plain,
        "assets": len(assets),
    }


def server_pids(pid: int) -> list[int]:
    """The server process and its children (the workers of `--workers N`)."""
    pids = [pid]
    try:
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
        ).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    return pids


def worker_pids(pid: int) -> list[int]:
    """The processes that answer requests: the server itself with one worker, else its
    children started as workers (not multiprocessing's resource tracker)."""
    children = []
    for p in server_pids(pid)[1:]:
        try:
            command = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            children.append(p)
    return children or [pid]


def memory_mb(pid: int) -> tuple[float, float]:
    """A process's resident memory now and at its peak (MB), from /proc."""
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in found:
                found[name] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found["VmRSS"], found["VmHWM"]


def cpu_seconds(pid: int, *, ended: bool = False) -> float:
    """CPU seconds (user + system) of a process and its children, from /proc; `ended`: with
    those of its children that ended (the scorecard keeper `los serve` runs at start)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in server_pids(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        if ended and p == pid:
            total += (int(fields[13]) + int(fields[14])) / tick
    return total


def run_wrk(
    url: str, cookie: str, args: argparse.Namespace, rotate: list[str] | None = None
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if rotate:
            script.write(ROTATE % ", ".join(f'"{p}"' for p in rotate))
        script.write(REPORT)
    try:
        result = subprocess.run(
            ["wrk", "-t", str(args.threads), "-c", str(args.connections),
             "-d", f"{args.duration}s", "--timeout", "10s", "-H", f"Cookie: {cookie}",
             "-H", "Accept-Encoding: gzip", "-s", script.name, url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    values = line.split()[1:]
    requests, duration, p50, p95, p99, bad, errors = map(int, values[:7])
    s50, s95, s99 = map(float, values[7:10])
    return {
        "requests": requests,
        "rps": requests / (duration / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "server_p50": s50,
        "server_p95": s95,
        "server_p99": s99,
        "timed": int(values[10]),
        "non_2xx": bad,
        "socket_errors": errors,
    }


def measure(
    name: str,
    path: str,
    server: Server,
    cookie: str,
    args: argparse.Namespace,
    rotate: list[str] | None = None,
) -> dict:
    started = time.perf_counter()
    first = httpx.get(server.base + path, headers={"Cookie": cookie}, timeout=300)
    cold = time.perf_counter() - started
    since_start = time.perf_counter() - server.started
    cpu_cold = cpu_seconds(server.process.pid, ended=True)
    if first.status_code == 404:
        print(f"  {name} ({path}): 404, not built yet: skipped", flush=True)
        return {"name": name, "path": path, "skipped": True}
    if first.status_code != 200:
        raise SystemExit(f"{path}: {first.status_code} {first.text[:300]}")
    # Each worker keeps its own cache: warm them all (connections are spread by the kernel,
    # so several at once, several times).
    with ThreadPoolExecutor(2 * args.workers) as pool:
        for answer in pool.map(
            lambda _: httpx.get(server.base + path, headers={"Cookie": cookie}, timeout=300),
            range(8 * args.workers),
        ):
            answer.raise_for_status()
    sizes = cold_bytes(server.base, cookie, path)
    cpu_before = cpu_seconds(server.process.pid)
    workers_before = worker_pids(server.process.pid)
    stats = run_wrk(server.base + path, cookie, args, rotate)
    cpu = cpu_seconds(server.process.pid) - cpu_before
    if worker_pids(server.process.pid) != workers_before:
        print(f"  {name}: a worker was replaced during the run (its cache lost)", flush=True)
    met = (
        stats["timed"] > 0
        and stats["server_p95"] <= GOAL_MS
        and stats["non_2xx"] == 0
        and stats["socket_errors"] == 0
    )
    print(
        f"  {name} ({path}): first request {cold * 1000:.0f} ms (answered {since_start:.1f} s "
        f"after the server's start, {cpu_cold:.1f} s of server CPU by then); server time p50 "
        f"{stats['server_p50']:.1f} / p95 {stats['server_p95']:.1f} / p99 "
        f"{stats['server_p99']:.1f} ms; latency p50 {stats['p50']:.1f} / p95 "
        f"{stats['p95']:.1f} ms; "
        f"{stats['rps']:.0f} requests/s, server CPU {cpu:.1f} s "
        f"({1000 * cpu / max(stats['requests'], 1):.1f} ms a request); load average "
        f"{os.getloadavg()[0]:.1f}; cold "
        f"{(sizes['page_gz'] + sizes['assets_gz']) / 1024:,.0f} kB gzip "
        f"({(sizes['page_plain'] + sizes['assets_plain']) / 1024:,.0f} kB plain); "
        f"goal: {'met' if met else 'MISSED'}",
        flush=True,
    )
    return {"name": name, "path": path, "skipped": False, "met": met, "cpu": cpu, **stats, **sizes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/los-bench-pages"))
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="`los serve --workers N`")
    parser.add_argument("--red-list", default="/lists/red", help="the red list's path")
    parser.add_argument("--heatmap", default="/heatmap?unit={bu}", help="a BU's heatmap path")
    parser.add_argument("--only", nargs="+", help="page names: home map unit kpi red heatmap kpis")
    parser.add_argument(
        "--many", type=int, default=20000, help="KPIs whose pages the `kpis` line visits in turn"
    )
    args = parser.parse_args()
    subprocess.run(["sh", str(ROOT / "scripts" / "ensure-wrk.sh")], check=True)
    url = prepare(args.cache, args.work)
    bu, kpi, count = business_unit(url)
    print(f"100,000 KPIs; business unit {bu} ({count:,} KPIs in its subtree), KPI {kpi}")
    pages = {
        "home": "/",
        "map": f"/map?unit={bu}",
        "unit": f"/units/{bu}",
        "kpi": f"/kpis/{kpi}",
        "red": args.red_list.format(bu=bu),
        "heatmap": args.heatmap.format(bu=bu),
    }
    results = []
    # No background scheduler: its jobs (notifications of 46,753 people, refreshes) would take
    # the CPU from the pages at moments of their own; `bench_attention.py` measures them.
    server = Server(url, args.workers, ("--no-scheduler",))
    print(
        f"  server answered its first request (the login page) {server.listening:.1f} s after start"
    )
    try:
        cookie = login_cookie(server.base)
        for name, path in pages.items():
            if args.only and name not in args.only:
                continue
            results.append(measure(name, path, server, cookie, args))
        if not args.only or "kpis" in args.only:
            rotate = many_kpis(url, args.many)
            name = f"kpis ({len(rotate):,} KPIs' pages in turn)"
            results.append(measure(name, rotate[0], server, cookie, args, rotate))
        main = memory_mb(server.process.pid)
        workers = [memory_mb(p) for p in worker_pids(server.process.pid)]
    finally:
        server.stop()
    print()
    print(
        f"server memory (MB now / peak): main process {main[0]:,.0f} / {main[1]:,.0f}"
        + "".join(
            f"; worker {n} {now:,.0f} / {peak:,.0f}" for n, (now, peak) in enumerate(workers, 1)
        )
        + (" (the main process runs the scheduler, when on)" if args.workers > 1 else "")
    )
    print(
        f"{args.connections} connections, {args.duration} s per page, {args.workers} server "
        f"process(es), {os.cpu_count()} CPUs; goal: server time p95 <= {GOAL_MS:.0f} ms"
    )
    print(
        "| page | server p50 / p95 / p99 (ms) | latency p50 / p95 (ms) | requests/s | "
        "CPU ms a request | page kB gzip (plain) | cold kB gzip (plain) | met |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        if r["skipped"]:
            print(f"| {r['name']} `{r['path']}` | not built (404) | | | | | | |")
            continue
        print(
            f"| {r['name']} `{r['path']}` | {r['server_p50']:.1f} / {r['server_p95']:.1f} / "
            f"{r['server_p99']:.1f} | {r['p50']:.1f} / {r['p95']:.1f} | {r['rps']:.0f} | "
            f"{1000 * r['cpu'] / max(r['requests'], 1):.1f} | "
            f"{r['page_gz'] / 1024:,.1f} ({r['page_plain'] / 1024:,.1f}) | "
            f"{(r['page_gz'] + r['assets_gz']) / 1024:,.1f} "
            f"({(r['page_plain'] + r['assets_plain']) / 1024:,.1f}) | "
            f"{'yes' if r['met'] else 'no'} |"
        )
    measured = [r for r in results if not r["skipped"]]
    return 0 if measured and all(r["met"] for r in measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
