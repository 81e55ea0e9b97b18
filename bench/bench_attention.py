"""Benchmark the attention lists (goal: every person's list of the 100,000-KPI organisation,
and their digests, in at most 10 s and 2 GB), printed beside `los status` on the same store.

It copies the cached store (bench/bench_status.py builds it: --cache, default /tmp/los-bench;
the cached store is never written), then, each in a fresh process started from a small
launcher (wall time, CPU time, peak memory of that process alone):

- `los status --as-of 2026-11-22 --format json`, cold (the scorecard computed and kept) and
  warm (the kept one), the reference;
- every person's attention list (`services.attention.attention_lists`: one board of the whole
  organisation cut per person), in full: the engine's forecast of every KPI and the alignment
  check run and kept in the store (as `los forecast` and `los check` would; what the first run
  on a store meets, or the first after a change of units or of the organisation's settings;
  the forecast runs in a second process beside the lists, whose CPU time is counted and whose
  peak memory is printed apart),
  then warm: both read back, which is what a scheduled digest run meets after the first one
  of a day;
- every list again after a one-value check-in (`los load` of a one-row file, as
  bench/bench_status.py does; its time printed apart): the kept forecast calls brought up to
  date (the KPI written forecast again), the check run again;
- every list again, cold: the first run after `los apply` of a changed strategy file (one
  KPI's tolerance changed, as bench/bench_status.py does; the apply's time printed apart):
  the apply keeps the scorecard of the date a status asked for ready; the kept forecast calls
  are brought up to date (the KPI changed forecast again), the check run again;
- one person's list with `los inbox` (the lead of the top unit: the longest list; and a person
  who leads nothing), warm;
- the digests: every person's digest email rendered (never sent) from those lists
  (`lineofsight.services.notify.render_digests`), in the same process; each item's part of
  them is rendered (`prepare_digests`) while the forecast is made, before the lists are
  complete.

    .venv/bin/python bench/bench_attention.py
    .venv/bin/python bench/bench_attention.py --kpis 10000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

AS_OF = "2026-11-22"
LOS = str(Path(sys.executable).parent / "los")
GOAL_SECONDS, GOAL_MB = 10.0, 2048

_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    out.write(f"{status} {wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""

# Every person's list in one process, then the digests; prints a JSON summary (counts and the
# time of each part, in-process: the lists' time holds the digests' items rendered while the
# forecast is made).
_LISTS = """
import json, resource, sys, time
start = time.perf_counter()
from lineofsight.store.database import Store
from lineofsight.services.attention import attention_lists
from lineofsight.services.notify import prepare_digests, render_digests
store = Store(sys.argv[1])
# The items' part of the digests is rendered while the forecast is made (in full).
prepared = {}
own = []
def meanwhile(items):
    prepared.update(prepare_digests(store, items))
    own.append(time.perf_counter())
lists = attention_lists(store, as_of=sys.argv[2], meanwhile=meanwhile)
made = time.perf_counter()
digests = render_digests(store, lists, cache=prepared)
done = time.perf_counter()
items = sum(len(v) for v in lists.values())
# The forecast's process (in full) has handed its calls over; it is waited for here (as the
# process's end waits for it) so that its CPU time and peak memory are counted.
from lineofsight.services.attention_forecast import settle
settle()
aside = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "people": len(lists), "items": items, "longest": max(map(len, lists.values()), default=0),
    "empty": sum(1 for v in lists.values() if not v), "lists_s": made - start,
    "own_s": own[0] - start,
    "digests": digests, "digests_s": done - made,
    "own_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "aside_mb": aside.ru_maxrss / 1024, "aside_cpu": aside.ru_utime + aside.ru_stime,
}))
"""


def _run(command: list[str]) -> tuple[float, float, float, str]:
    """Wall s, CPU s, peak MB and standard output of one process."""
    with (
        tempfile.NamedTemporaryFile("r", suffix=".usage") as usage,
        tempfile.TemporaryFile("w+") as sink,
    ):
        subprocess.run(
            [sys.executable, "-c", _LAUNCHER, usage.name, *command],
            stdout=sink,
            env={**os.environ, "LOS_DATABASE_URL": ""},
            check=True,
        )
        status, wall, cpu, peak = usage.read().split()
        sink.seek(0)
        output = sink.read()
    if int(status) != 0:
        raise SystemExit(f"{command[:3]} failed with {status}")
    return float(wall), float(cpu), int(peak) / 1024, output


def _figures(run: tuple[float, float, float, str]) -> str:
    return f"{run[0]:.2f} / {run[1]:.2f} / {run[2]:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=None, help="where the copy goes")
    parser.add_argument("--runs", type=int, default=2, help="warm runs (the best is shown)")
    args = parser.parse_args()
    cached = args.cache / f"org{args.kpis}" / "store.db"
    if not cached.exists():
        raise SystemExit(f"no cached store at {cached}: run bench/bench_status.py first")
    work = Path(tempfile.mkdtemp(prefix="los-attention-", dir=args.work))
    try:
        copy = work / "store.db"
        shutil.copyfile(cached, copy)
        url = f"sqlite:///{copy}"
        status = [LOS, "status", "--as-of", AS_OF, "--format", "json", "--db", url]
        lists = [sys.executable, "-c", _LISTS, url, AS_OF]
        print(
            f"{args.kpis:,} KPIs, as of {AS_OF}; wall s / CPU s / peak MB; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )
        status_cold = _run(status)
        # The scorecard computed in full is kept by a second process after the status's end:
        # waited for (untimed), so that the warm status reads it.
        from bench_status import wait_kept

        wait_kept(copy, AS_OF)
        status_warm = min((_run(status) for _ in range(args.runs)), key=lambda r: r[0])
        print(f"  los status: cold {_figures(status_cold)}, warm {_figures(status_warm)}")
        cold = _run(lists)
        warm = min((_run(lists) for _ in range(args.runs)), key=lambda r: r[0])
        summary = json.loads(warm[3])
        print(f"  every list, in full (forecast and check run and kept): {_figures(cold)}")
        parts = json.loads(cold[3])
        print(
            f"    in the lists' process: every item but the forecast's and their part of the "
            f"digests done at {parts['own_s']:.2f} s, the forecast's items placed at "
            f"{parts['lists_s']:.2f} s (waiting for the forecast between), the digests "
            f"rendered in {parts['digests_s']:.2f} s after"
        )
        if parts["aside_mb"]:
            # CPU s count both processes, peak MB the larger of the two.
            print(
                f"    the forecast of every KPI ran in a second process beside the lists (the "
                f"lists' process fitting part of its batches once its own work was done): "
                f"{parts['aside_cpu']:.2f} CPU s of the {cold[1]:.2f}, "
                f"peak {parts['aside_mb']:,.0f} MB there, {parts['own_mb']:,.0f} MB in the "
                f"lists' process (both together at most {parts['aside_mb'] + parts['own_mb']:,.0f}"
                " MB)"
            )
        print(f"  every list, warm: {_figures(warm)}")
        print(
            f"    {summary['people']:,} people, {summary['items']:,} items "
            f"(longest list {summary['longest']:,}, {summary['empty']:,} empty); "
            f"lists {summary['lists_s']:.2f} s in-process"
        )
        print(f"    digests: {summary['digests']:,} rendered in {summary['digests_s']:.2f} s")
        from bench_status import _checkin

        _kpi, _value, load = _checkin(work, url, 0)
        after = _run(lists)
        print(
            f"  every list after a one-value check-in: {_figures(after)} "
            f"(the load itself {load[0]:.2f} / {load[1]:.2f} / {load[2]:,.0f})"
        )
        from bench_status import _changed_strategy

        strategy = _changed_strategy(work, args.cache / f"org{args.kpis}", 0)
        applied = _run([LOS, "apply", str(strategy), "--db", url])
        after_apply = _run(lists)
        print(
            f"  every list after an apply (cold): {_figures(after_apply)} "
            f"(the apply itself {_figures(applied)})"
        )
        top, member = _people(url)
        for who in (top, member):
            run = _run([LOS, "inbox", "--person", who, "--as-of", AS_OF, "--db", url])
            print(f"  los inbox --person {who}: {_figures(run)}")
        ratio = warm[0] / status_warm[0]
        verdict = {
            name: "met" if run[0] <= GOAL_SECONDS and run[2] <= GOAL_MB else "MISSED"
            for name, run in (
                ("warm", warm),
                ("after a check-in", after),
                ("cold", after_apply),
                ("in full", cold),
            )
        }
        print(
            f"  goal <= {GOAL_SECONDS:.0f} s and {GOAL_MB:,} MB, lists and digests: "
            f"warm {verdict['warm']}, after a check-in {verdict['after a check-in']}, "
            f"cold (after an apply) {verdict['cold']}, in full {verdict['in full']}; warm is "
            f"{ratio:.1f}x a warm "
            "los status"
        )
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _people(url: str) -> tuple[str, str]:
    """The lead of a root unit, and a person who leads no unit."""
    from lineofsight.store.attention_reads import read_responsibilities
    from lineofsight.store.database import Store

    store = Store(url)
    try:
        resp = read_responsibilities(store)
    finally:
        store.close()
    units = resp.units
    top = units.filter(units["parent_id"].is_null() & units["lead_id"].is_not_null())
    leads = set(units["lead_id"].drop_nulls().to_list())
    member = next(p for p in resp.people["id"].to_list() if p not in leads)
    return top["lead_id"][0], member


if __name__ == "__main__":
    sys.exit(main())
