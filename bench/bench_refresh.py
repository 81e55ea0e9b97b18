"""Benchmark `los refresh`: KPIs filled from where the facts live, against exporting the same
period values to CSV and loading them (goal: an incremental refresh after one new day of
facts takes at most 10% of the full refresh).

The data (bench/refresh_facts.py, generated once and cached under --cache): a DuckDB file of
50 million orders (day, region, product, amount), in the order they arrive (by day; or with
--by-product clustered by product then day), and 1,000 KPIs, each the monthly revenue of one
product per region, all from one named source: by the source's one grouped query whose kpi
column names the product (each KPI's `key:`) and whose unit column the region (or with
--per-kpi one query per KPI); the same orders, 10 million of them, as Parquet files for a
Spark source on `local[*]`.

Each step is a fresh process (`los ...`, on a SQLite store), timed from start to exit, with the
peak memory of its whole process tree (the sum of the resident memory of it and its children,
Spark's JVM included, sampled every 20 ms):
- DuckDB, full: `los refresh --all` into a store with nothing yet;
- the reference: export every KPI's period values to CSV with one grouped DuckDB query (a
  process of its own), then `los load` the file into a store with nothing yet; both stores are
  checked to hold the same values;
- DuckDB, incremental: one new day of facts, then `los refresh --all` (each query reads from
  its `:since`: two periods before the last one refreshed);
- Spark, full and incremental: the same over the Parquet files (each refresh starts Spark's
  JVM: its start is part of the time, as it is for a refresh started by cron);
- rows: the period-level rows that cross from the source to the store, against the fact rows
  the queries aggregate.

The goal is measured three ways: the processes' times (the start of Python and its modules
included, as for `los refresh` run by cron), the refresh's own time as its summary gives it
(`duration`), and in one process as `los serve` runs it (its own CPU time, then with the
kept scorecard's upkeep after it; then a late correction of a few KPIs, whose upkeep patches
their rows only). Beside them, the floor the look-back sets: the share of
the facts and of the values an incremental refresh must read again (two periods before the
last one, and the new one). With `--months 24,60` the DuckDB runs are made with the same
orders spread over 24 months, then over 60 (cached apart), so that a reader sees the share
fall as history grows.

    .venv/bin/python bench/bench_refresh.py                      # 50 M / 1,000 KPIs; Spark 10 M
    .venv/bin/python bench/bench_refresh.py --rows 5000000 --kpis 100 --spark-rows 1000000
    .venv/bin/python bench/bench_refresh.py --per-kpi --by-product --no-spark   # as before
    .venv/bin/python bench/bench_refresh.py --no-spark --months 24,60 --cache /tmp/r3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bytecode import keep_compiled
from refresh_facts import (
    DAYS,
    END,
    SHARED,
    add_day,
    days_of,
    export_code,
    make_duckdb_facts,
    make_parquet_facts,
    product,
    write_strategy,
)

LOS = str(Path(sys.executable).parent / "los")
GOAL_RATIO = 0.10
SPARK_START = (
    "from lineofsight.sources import spark_session\n"
    "spark_session.session(spark_session.LOCAL).sql('select 1').collect()\n"
)
NEW_DAY = END + dt.timedelta(days=1)
# The incremental refresh's :since: the last month refreshed (October) less the default
# look-back of two months.
SINCE = dt.date(END.year, END.month - 2, 1)


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, from the kernel's list of each task's children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except OSError:
            continue  # ended meanwhile
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    """User and system CPU time of one process so far, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


# The CPU seconds of the last command run: the machine is shared, so its wall time says
# less about the work done than its CPU time does.
LAST_CPU = [0.0]


def run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall time (s), peak memory of the process tree (MB) and standard output of a command;
    exit on failure (its standard error shown). Its CPU time (the process's own, exactly,
    and its descendants', such as Spark's JVM, as last sampled) goes to LAST_CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    descendants: dict[int, int] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            tree = _tree(child.pid)
            peak = max(peak, sum(_rss_kb(pid) for pid in tree))
            for pid in tree[1:]:
                descendants[pid] = max(descendants.get(pid, 0), _cpu_ticks(pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_CPU[0] = own + sum(descendants.values()) / os.sysconf("SC_CLK_TCK")
    if child.returncode not in (0,):
        raise SystemExit(f"{' '.join(command[:3])} failed ({child.returncode}):\n{err[-3000:]}")
    return wall, peak / 1024, out


def los(args: list[str], db: Path, env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    return run([LOS, *args, "--db", f"sqlite:///{db}"], env, cwd)


def refresh(db: Path, env: dict[str, str], cwd: Path) -> tuple[float, float, dict[str, Any]]:
    wall, peak, out = los(["refresh", "--all", "--format", "json"], db, env, cwd)
    (summary,) = json.loads(out)["sources"]
    if summary["state"] != "ok":
        raise SystemExit(f"refresh failed: {summary}")
    return wall, peak, summary


def stored(db: Path) -> tuple[int, float]:
    """How many values the store holds, and their sum (to compare two stores)."""
    with sqlite3.connect(db) as conn:
        count, total = conn.execute("select count(*), sum(value) from measurements").fetchone()
    return int(count), float(total or 0.0)


def facts_since(facts: str, since: dt.date, kpis: int, parquet: bool = False) -> int:
    """The fact rows the KPIs' queries aggregate from `since` on."""
    import duckdb

    table = f"read_parquet('{facts}/*.parquet')" if parquet else "orders"
    with duckdb.connect(":memory:" if parquet else facts, read_only=not parquet) as conn:
        row = conn.execute(
            f"select count(*) from {table} where day >= ? and product < ?",
            [since, f"p{kpis:04d}"],
        ).fetchone()
    assert row is not None
    return int(row[0])


def line(label: str, wall: float, peak: float, extra: str = "", cpu: float | None = None) -> None:
    spent = LAST_CPU[0] if cpu is None else cpu
    print(f"  {label:<48} {wall:7.2f} s {spent:7.2f} s CPU {peak:6.0f} MB  {extra}", flush=True)


def timings(summary: dict[str, Any]) -> str:
    """Where a refresh's own time went (the rest of its process's time is its start)."""
    steps = summary.get("timings") or {}
    return "; ".join(f"{step} {seconds:.2f} s" for step, seconds in steps.items())


def process_start(env: dict[str, str], cwd: Path) -> float:
    """The start of a process that refreshes a SQL source: Python and the modules it loads
    (and, apart, what of it Python and the libraries take); its CPU seconds."""
    code = "import lineofsight.cli.app, lineofsight.services.refresh, lineofsight.sources.sql"
    wall, peak, _ = run([sys.executable, "-c", code + ", duckdb_engine"], env, cwd)
    line("a los process's start alone (its imports)", wall, peak)
    start = LAST_CPU[0]
    # What of it is not Line of Sight's: Python and the libraries a refresh of a DuckDB
    # source uses (the command line's, the frames', the store's and the source's driver).
    wall, peak, _ = run([sys.executable, "-c", "import typer, polars, duckdb_engine"], env, cwd)
    line("  of it, Python and the libraries it uses", wall, peak)
    LAST_CPU[0] = start
    return start


def _order(args: argparse.Namespace) -> str:
    return "by-product" if args.by_product else "by-day"


def _queries(args: argparse.Namespace) -> str:
    return (
        "one query per KPI"
        if args.per_kpi
        else "the source's one query (kpi column: the product, each KPI's key)"
    )


def _verdict(label: str, inc: float, full: float) -> str:
    ratio = inc / full
    met = "met" if ratio <= GOAL_RATIO else "MISSED"
    return f"{label} {ratio:.1%} (goal <= {GOAL_RATIO:.0%}: {met})"


def bench_duckdb(args: argparse.Namespace, work: Path, env: dict[str, str], months: int) -> None:
    days = days_of(months)
    # The 24 months' facts keep the name they were cached under before there was a choice.
    spread = "" if days == DAYS else f"-{months}m"
    cached = args.cache / f"facts-{args.rows}-{args.kpis}-{_order(args)}{spread}.duckdb"
    work = work / f"{months}m"
    work.mkdir()
    if not cached.exists():
        print(f"  generating {args.rows:,} orders over {months} months in DuckDB ...", flush=True)
        started = time.perf_counter()
        make_duckdb_facts(
            cached.with_suffix(".partial"),
            args.rows,
            args.kpis,
            by_product=args.by_product,
            days=days,
        )
        cached.with_suffix(".partial").rename(cached)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    facts = work / "facts.duckdb"
    shutil.copyfile(cached, facts)
    env = {**env, "FACTS_URL": f"duckdb:///{facts}"}
    write_strategy(
        work / "strategy.yaml",
        args.kpis,
        {"url": "env:FACTS_URL"},
        "orders",
        shared=not args.per_kpi,
    )
    store, reference = work / "refresh.db", work / "load.db"
    for db in (store, reference):
        los(["apply", "strategy.yaml"], db, env, work)

    print(
        f"DuckDB: {args.rows:,} orders over {months} months ({_order(args)}), {args.kpis:,} "
        f"KPIs per month and region, {_queries(args)}",
        flush=True,
    )
    start_cpu = process_start(env, work)
    full, full_peak, summary = refresh(store, env, work)
    full_cpu = LAST_CPU[0]
    line("los refresh --all (full)", full, full_peak, f"{summary['added']:,} values added")
    print(f"    inside: {timings(summary)}", flush=True)
    exported, export_peak, _ = run(
        [sys.executable, "-c", export_code(facts, work / "values.csv", args.kpis)], env, work
    )
    export_cpu = LAST_CPU[0]
    line("reference: export period values to CSV", exported, export_peak)
    loaded, load_peak, _ = los(["load", "values.csv"], reference, env, work)
    line("reference: los load of that CSV", loaded, load_peak)
    line(
        "reference: export + load",
        exported + loaded,
        max(export_peak, load_peak),
        f"the full refresh takes {full / (exported + loaded):.1f}x its time",
        cpu=export_cpu + LAST_CPU[0],
    )
    same = stored(store) == stored(reference)
    print(f"  the two stores hold the same values: {same} ({stored(store)[0]:,} values)")
    if not same:
        raise SystemExit("the refresh and the load stored different values")

    added = add_day(facts, args.rows, args.kpis, NEW_DAY, days)
    inc, inc_peak, inc_summary = refresh(store, env, work)
    line(
        f"los refresh --all after {added:,} new orders",
        inc,
        inc_peak,
        f"{inc / full:.1%} of the full refresh, CPU {LAST_CPU[0] / full_cpu:.1%}",
    )
    print(f"    inside: {timings(inc_summary)}", flush=True)
    _goal(summary, inc_summary, full, inc, full_cpu, LAST_CPU[0])
    print(
        f"    of which the process's start alone (above) is {start_cpu / full_cpu:.1%} of the "
        "full refresh's CPU: a fresh process's part that no refresh can cut",
        flush=True,
    )
    scanned = facts_since(str(facts), SINCE, args.kpis)
    _rows("DuckDB", summary, inc_summary, args.rows, scanned, SINCE)
    _floor(summary, inc_summary, scanned, args.rows + added, months)
    engine = _engine_floor(args, facts, full_cpu, days)
    facts.unlink()
    _in_one_process(args, cached, work, env, days, engine)


IN_ONE_PROCESS = """
import json, sys
sys.path.insert(0, {bench!r})
from lineofsight.store.database import Store
from lineofsight.services.refresh import refresh
from lineofsight.services.refresh_held import keep_holds
from refresh_facts import add_day, correct_day
import datetime as dt
import time
store = Store({db!r})
keep_holds(store)  # as los serve's scheduler and web app mark theirs: refreshes hold
def timed():
    started = time.process_time()
    report = refresh(store)
    cpu = time.process_time() - started
    return report.sources[0].as_json() | {{
        "cpu": cpu, "upkeep": report.upkeep, "upkeep_cpu": report.upkeep_cpu
    }}
full = timed()
add_day({facts!r}, {rows}, {kpis}, dt.date.fromisoformat({day!r}), {days})
inc = timed()
orders = correct_day({facts!r}, {corrected}, dt.date.fromisoformat({late!r}))
late = timed() | {{"orders": orders}}
store.close()
print(json.dumps([full, inc, late]))
"""

# The late correction measured in one process after the new day: a few products' orders of
# one day inside the look-back changed, so that a handful of KPIs' values are replaced.
CORRECTED = 5
LATE_DAY = END - dt.timedelta(days=16)


def _floor(
    full: dict[str, Any], inc: dict[str, Any], scanned: int, facts: int, months: int
) -> None:
    """The least share of the full refresh's work an incremental one can take: the facts its
    queries aggregate and the period values that cross to the store from the look-back's
    `:since` on (two periods before the last one refreshed, and the new one)."""
    print(
        f"  the floor the look-back sets (facts over {months} months): the incremental refresh "
        f"aggregates {scanned / facts:.1%} of the facts and reads "
        f"{inc['rows_read'] / max(1, full['rows_read']):.1%} of the values the full one reads",
        flush=True,
    )


def _engine_cpu(facts: Path, query: str, since: dt.date) -> float:
    """The CPU seconds DuckDB takes to run `query` from `since` into a frame, on a connection
    of its own opened for it (as each refresh opens one): this process's, threads included."""
    import duckdb
    import polars as pl

    before = time.process_time()
    conn = duckdb.connect(str(facts), read_only=True)
    try:
        pl.DataFrame(conn.sql(query.replace(":since", "?"), params=[since]))
    finally:
        conn.close()
    return time.process_time() - before


def _engine_floor(
    args: argparse.Namespace, facts: Path, full_cpu: float, days: int
) -> float | None:
    """The source engine's own part of each refresh: the query run by DuckDB alone, from the
    full refresh's :since and from the incremental one's (best of three each). No refresh's
    own work can cost less than its source's. The incremental one's CPU seconds."""
    if args.per_kpi:  # a thousand queries: their sum is not one statement's time
        return None
    query = SHARED.format(table="orders", last=product(args.kpis))
    first = END - dt.timedelta(days=days - 1)
    full = min(_engine_cpu(facts, query, first) for _ in range(3))
    inc = min(_engine_cpu(facts, query, SINCE) for _ in range(3))
    print(
        f"  the source engine's own part (DuckDB running the query alone, a fresh connection "
        f"each, best of 3): full {full:.2f} s CPU, from {SINCE} {inc:.2f} s CPU ({inc / full:.1%} "
        f"of the full's, {inc / full_cpu:.1%} of the full refresh process's CPU)",
        flush=True,
    )
    return inc


def _in_one_process(
    args: argparse.Namespace,
    cached: Path,
    work: Path,
    env: dict[str, str],
    days: int,
    engine: float | None = None,
) -> None:
    """The full refresh, a new day, and the refresh after it, in one process as `los serve`
    runs them (its modules imported and its first connection made once)."""
    facts = work / "facts-serve.duckdb"
    shutil.copyfile(cached, facts)
    env = {**env, "FACTS_URL": f"duckdb:///{facts}"}
    db = work / "serve.db"
    los(["apply", "strategy.yaml"], db, env, work)
    code = IN_ONE_PROCESS.format(
        bench=str(Path(__file__).parent),
        db=f"sqlite:///{db}",
        facts=str(facts),
        rows=args.rows,
        kpis=args.kpis,
        day=NEW_DAY.isoformat(),
        days=days,
        corrected=CORRECTED,
        late=LATE_DAY.isoformat(),
    )
    wall, peak, out = run([sys.executable, "-c", code], env, work)
    facts.unlink()
    full, inc, late = json.loads(out.strip().splitlines()[-1])
    print(
        f"  in one process (as los serve): full {full['duration']:.2f} s ({full['cpu']:.2f} s "
        f"CPU), after a new day {inc['duration']:.2f} s ({inc['cpu']:.2f} s CPU); the process "
        f"{wall:.1f} s wall, {LAST_CPU[0]:.2f} s CPU, {peak:.0f} MB",
        flush=True,
    )
    print(f"    inside, after a new day: {timings(inc)}", flush=True)
    print(
        f"    then the kept scorecard's upkeep (once per refresh, as after any write of "
        f"values): full {full['upkeep']:.2f} s ({full['upkeep_cpu']:.2f} s CPU), after a new "
        f"day {inc['upkeep']:.2f} s ({inc['upkeep_cpu']:.2f} s CPU)",
        flush=True,
    )
    own_full, own_inc = (run["cpu"] - run["upkeep_cpu"] for run in (full, inc))
    print(
        f"  goal, the refresh's own time inside one process (reading, checking, writing; "
        f"the upkeep after it apart): {_verdict('wall', inc['duration'], full['duration'])}; "
        f"{_verdict('CPU', own_inc, own_full)} ({own_inc:.2f} of {own_full:.2f} s)",
        flush=True,
    )
    if engine is not None:
        print(
            f"    of which no refresh can cut the source engine's own part (above): "
            f"{engine:.2f} s, {engine / own_full:.1%} of the full refresh's own CPU",
            flush=True,
        )
    print(
        f"  the same with the scorecard's upkeep counted: "
        f"{_verdict('CPU', inc['cpu'], full['cpu'])} ({inc['cpu']:.2f} of {full['cpu']:.2f} s)",
        flush=True,
    )
    # The new day gives every KPI a new month, so every row of today's scorecard changes and
    # its upkeep scores them all; a late correction of a few KPIs patches their rows only.
    print(
        f"  then a late correction ({late['orders']:,} orders of {CORRECTED} products on "
        f"{LATE_DAY}): {late['replaced']:,} values replaced, {late['unchanged']:,} unchanged; "
        f"the refresh's own work {late['cpu'] - late['upkeep_cpu']:.2f} s CPU, the upkeep "
        f"(the {CORRECTED} KPIs' rows patched) {late['upkeep_cpu']:.2f} s CPU "
        f"({late['upkeep_cpu'] / max(full['upkeep_cpu'], 1e-9):.0%} of the upkeep after the "
        "full refresh)",
        flush=True,
    )


def _goal(
    full: dict[str, Any],
    inc: dict[str, Any],
    full_wall: float,
    inc_wall: float,
    full_cpu: float,
    inc_cpu: float,
) -> None:
    """The goal (incremental <= 10% of full), measured both ways."""
    print(
        f"  goal, the processes (start included): "
        f"{_verdict('wall', inc_wall, full_wall)}; {_verdict('CPU', inc_cpu, full_cpu)}",
        flush=True,
    )
    print(
        f"  goal, the refresh's own time in that process (its summary's duration): "
        f"{inc['duration']:.2f} s of {full['duration']:.2f} s: "
        f"{_verdict('', inc['duration'], full['duration']).strip()}",
        flush=True,
    )


def _rows(
    engine: str,
    full: dict[str, Any],
    inc: dict[str, Any],
    scanned_full: int,
    scanned_inc: int,
    since: dt.date,
) -> None:
    print(
        f"  rows to the store: full {full['rows_read']:,} of {scanned_full:,} fact rows "
        f"aggregated ({scanned_full / max(1, full['rows_read']):,.0f} to 1); incremental "
        f"{inc['rows_read']:,} of {scanned_inc:,} (facts from {since})",
        flush=True,
    )


def bench_spark(args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
    lake = work / "lake"
    lake.mkdir()
    cached = args.cache / f"orders-{args.spark_rows}-{args.spark_kpis}-{_order(args)}.parquet"
    if not cached.exists():
        print(f"  writing {args.spark_rows:,} orders as Parquet ...", flush=True)
        make_parquet_facts(
            cached.with_suffix(".partial"),
            args.spark_rows,
            args.spark_kpis,
            by_product=args.by_product,
        )
        cached.with_suffix(".partial").rename(cached)
    shutil.copyfile(cached, lake / "orders-0.parquet")
    table = f"parquet.`{lake}`"
    write_strategy(
        work / "spark.yaml", args.spark_kpis, {"kind": "spark"}, table, shared=not args.per_kpi
    )
    store = work / "spark.db"
    los(["apply", "spark.yaml"], store, env, work)
    print(
        f"Spark local[*]: {args.spark_rows:,} orders in Parquet ({_order(args)}), "
        f"{args.spark_kpis:,} KPIs, {_queries(args)}",
        flush=True,
    )
    started, start_peak, _ = run([sys.executable, "-c", SPARK_START], env, work)
    line("Spark's start alone (a process that starts it)", started, start_peak)
    full, full_peak, summary = refresh(store, env, work)
    full_cpu = LAST_CPU[0]
    line("los refresh --all (full, Spark start included)", full, full_peak)
    print(f"    inside: {timings(summary)}", flush=True)
    day = work / "day.duckdb"
    import duckdb

    with duckdb.connect(str(day)) as conn:
        conn.execute(
            "create table orders (day date, region varchar, product varchar, amount double)"
        )
    added = add_day(day, args.spark_rows, args.spark_kpis, NEW_DAY)
    with duckdb.connect(str(day)) as conn:
        conn.execute(f"copy orders to '{lake / 'orders-1.parquet'}' (format parquet)")
    inc, inc_peak, inc_summary = refresh(store, env, work)
    line(
        f"los refresh --all after {added:,} new orders",
        inc,
        inc_peak,
        f"{inc / full:.1%} of the full refresh, CPU {LAST_CPU[0] / full_cpu:.1%}",
    )
    print(f"    inside: {timings(inc_summary)}", flush=True)
    _goal(summary, inc_summary, full, inc, full_cpu, LAST_CPU[0])
    _rows(
        "Spark",
        summary,
        inc_summary,
        args.spark_rows,
        facts_since(str(lake), SINCE, args.spark_kpis, parquet=True),
        SINCE,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--spark-rows", type=int, default=10_000_000)
    parser.add_argument("--spark-kpis", type=int, default=1000)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--per-kpi", action="store_true", help="one query per KPI")
    parser.add_argument(
        "--by-product", action="store_true", help="facts clustered by product, not by day"
    )
    parser.add_argument(
        "--months",
        default="24",
        help="the months the facts are spread over, comma-separated: each a DuckDB run "
        "(e.g. 24,60: the share an incremental refresh takes falls as history grows)",
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench-refresh"))
    args = parser.parse_args()
    spreads = [int(months) for months in args.months.split(",")]
    args.cache.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "LOS_DATABASE_URL"}
    work = args.cache / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    print(f"(machine: {os.cpu_count()} cores, shared with other work: times are noisy)")
    print(f"({keep_compiled()})", flush=True)
    if not args.no_duckdb:
        for months in spreads:
            bench_duckdb(args, work, env, months)
    if not args.no_spark:
        bench_spark(args, work, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
