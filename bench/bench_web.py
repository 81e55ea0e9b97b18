"""Benchmark `los serve` under load: 32 concurrent clients (wrk) from a second process.

- the unit scorecard page (/units/ID) for a unit of 200 KPIs (goal: p95 <= 100 ms);
- GET /api/v1/status for a 10,000-KPI organisation (goal: p95 <= 300 ms).

For each it builds (once, cached under --cache) a SQLite store from bench/generate.py, adds a
user with an API token, starts `los serve` as a subprocess, checks the answer, warms the cache
with one request, then runs wrk (installed by scripts/ensure-wrk.sh when missing) and prints
p50, p95, p99 and requests per second.

    .venv/bin/python bench/bench_web.py
    .venv/bin/python bench/bench_web.py --duration 30 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from generate import generate
from web_login import PASSWORD as PASSWORD  # bench_pages.py's import
from web_login import USER, add_user, log_in

from lineofsight.services import accounts
from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
LOS = str(Path(sys.executable).parent / "los")
# wrk's Lua hook: the latency percentiles (microseconds) and counts, on one line.
REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def build(folder: Path, kpis: int, units: int) -> str:
    """A store of a generated organisation with a benchmark user, built once."""
    database = folder / "store.db"
    if not database.exists():
        print(f"  generating and loading {kpis:,} KPIs in {units:,} unit(s) (once) ...", flush=True)
        generate(folder, kpis=kpis, units=units)
        partial = folder / "store.partial.db"
        partial.unlink(missing_ok=True)
        store = Store(f"sqlite:///{partial}")
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "measurements.csv")
        add_user(store)
        store.close()
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{partial}{suffix}")
            if source.exists():
                shutil.move(source, f"{database}{suffix}")
    return f"sqlite:///{database}"


def token_for(url: str) -> str:
    store = Store(url)
    try:
        return accounts.create_token(store, USER, actor="bench", label="bench_web")
    finally:
        store.close()


def biggest_unit(url: str) -> tuple[str, int]:
    from sqlalchemy import text

    store = Store(url)
    try:
        with store.reading() as conn:
            row = conn.execute(
                text(
                    "SELECT unit_id, COUNT(*) AS n FROM kpis GROUP BY unit_id"
                    " ORDER BY n DESC, unit_id DESC"
                )
            ).first()
    finally:
        store.close()
    assert row is not None
    return str(row[0]), int(row[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`los serve` in a child process, stopped on exit."""

    def __init__(self, url: str, workers: int, options: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LOS_DATABASE_URL": "", "LOS_SECRET_KEY": "bench"}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                LOS,
                "serve",
                "--db",
                url,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                *options,
            ],
            env=env,
        )
        # `los serve` keeps today's scorecards in the store before it listens (a store with
        # none kept computes them first: tens of seconds at 100,000 KPIs on a loaded machine).
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(f"{self.base}/login", timeout=5)
                self.listening = time.perf_counter() - self.started  # seconds to its first answer
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise SystemExit("los serve did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def login_cookie(base: str) -> str:
    with httpx.Client(base_url=base) as client:
        return log_in(client)


def run_wrk(url: str, header: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(REPORT)
    try:
        result = subprocess.run(
            ["wrk", "-t", str(args.threads), "-c", str(args.connections),
             "-d", f"{args.duration}s", "--timeout", "10s", "-H", header, "-s", script.name,
             url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    requests, duration, p50, p95, p99, bad_status, socket_errors = map(int, line.split()[1:])
    return {
        "requests": requests,
        "rps": requests / (duration / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "non_2xx": bad_status,
        "socket_errors": socket_errors,
    }


def bench(name: str, url: str, path: str, auth: str, args: argparse.Namespace,
          goal_ms: float) -> dict[str, object]:  # fmt: skip
    server = Server(url, args.workers)
    try:
        header = (
            auth if auth.startswith("Authorization") else f"Cookie: {login_cookie(server.base)}"
        )
        key, _, value = header.partition(": ")
        started = time.perf_counter()
        first = httpx.get(server.base + path, headers={key: value}, timeout=60)
        cold = time.perf_counter() - started
        if first.status_code != 200:
            raise SystemExit(f"{path}: {first.status_code} {first.text[:300]}")
        # Each server process fills its own cache: warm every worker before measuring.
        for _ in range(4 * args.workers):
            httpx.get(server.base + path, headers={key: value}, timeout=60)
        print(f"  {name}: first request {cold * 1000:.0f} ms, {len(first.content):,} bytes")
        stats = run_wrk(server.base + path, header, args)
    finally:
        server.stop()
    met = stats["p95"] <= goal_ms and stats["non_2xx"] == 0 and stats["socket_errors"] == 0
    print(
        f"  {name}: p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, "
        f"p99 {stats['p99']:.1f} ms, {stats['rps']:.0f} requests/s "
        f"({stats['requests']:,} requests, {stats['non_2xx']} non-2xx, "
        f"{stats['socket_errors']} socket errors); goal p95 <= {goal_ms:.0f} ms: "
        f"{'met' if met else 'MISSED'}",
        flush=True,
    )
    return {"name": name, **stats, "goal": goal_ms, "met": met}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench-web"))
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per case")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="`los serve` processes")
    parser.add_argument("--only", choices=["page", "status"], help="run one case only")
    args = parser.parse_args()
    subprocess.run(["sh", str(ROOT / "scripts" / "ensure-wrk.sh")], check=True)
    results = []

    if args.only != "status":
        print("Unit scorecard page, a unit of 200 KPIs (600 KPIs in 3 units)", flush=True)
        url = build(args.cache / "unit200", kpis=600, units=3)
        unit, count = biggest_unit(url)
        print(f"  unit {unit}: {count} KPIs")
        results.append(bench(f"GET /units/{unit}", url, f"/units/{unit}", "", args, 100))

    if args.only != "page":
        print("GET /api/v1/status, 10,000 KPIs", flush=True)
        url = build(args.cache / "org10000", kpis=10_000, units=2_000)
        token = token_for(url)
        results.append(
            bench("GET /api/v1/status", url, "/api/v1/status", f"Authorization: Bearer {token}",
                  args, 300)
        )  # fmt: skip

    print()
    print(f"{args.connections} connections, {args.duration} s each, {args.workers} server "
          f"process(es), {os.cpu_count()} CPUs")  # fmt: skip
    print("| case | p50 (ms) | p95 (ms) | p99 (ms) | requests/s | goal p95 | met |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r['name']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
            f"{r['rps']:.0f} | <= {r['goal']:.0f} ms | {'yes' if r['met'] else 'no'} |"
        )
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
