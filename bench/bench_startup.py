"""Benchmark the start of a `los` process: what every command pays before its work.

Prints, for this source tree and (with --reference SRC) another one measured in the same run,
each run of one after a run of the other so that both see the same load:
- `los --version`, `los status --help`, `los check --help`: a process start and nothing else
  (Python, Typer, the command's modules);
- `los status --as-of 2026-11-22 --format json` on a copy of the 100,000-KPI store whose
  scorecard of that date is kept (the status goal's warm case, output to /dev/null);
- `los check --as-of 2026-11-22 --format json` on the same copy, its report kept (repeated).
Each figure is the best of --runs fresh processes: wall seconds, CPU seconds (user + system:
what a run costs when other work shares the machine) and peak resident MB. The copy is made
once under --work and read by both trees; the cached store under --cache is never written.

    PYTHONPATH=src python bench/bench_startup.py --reference /path/to/other/src --runs 7
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

LOS = str(Path(sys.executable).parent / "los")
AS_OF = "2026-11-22"
HERE = Path(__file__).resolve().parents[1] / "src"


def _once(args: list[str], source: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak MB of one `los` process run with the package in
    `source`."""
    env = {**os.environ, "LOS_DATABASE_URL": "", "PYTHONPATH": str(source)}
    start = time.perf_counter()
    child = subprocess.Popen(
        [LOS, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: a check with error findings
        raise SystemExit(f"los {' '.join(args)} failed with the package in {source}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _best(runs: list[tuple[float, float, float]]) -> str:
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    peak = max(r[2] for r in runs)
    return f"{wall:6.3f} s wall {cpu:6.3f} s CPU {peak:6.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, help="another tree's src/ to measure beside")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/los-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/los-bench-startup"))
    parser.add_argument("--size", type=int, default=100_000, help="KPIs of the cached store")
    args = parser.parse_args()

    cached = args.cache / f"org{args.size}" / "store.db"
    copy = args.work / f"org{args.size}" / "store.db"
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, copy)
    url = f"sqlite:///{copy}"
    cases = {
        "los --version": ["--version"],
        "los status --help": ["status", "--help"],
        "los check --help": ["check", "--help"],
        f"los status ({args.size:,} KPIs, kept)": [
            *("status", "--as-of", AS_OF, "--format", "json", "--db", url)
        ],
        f"los check ({args.size:,} KPIs, repeated)": [
            *("check", "--as-of", AS_OF, "--format", "json", "--db", url)
        ],
    }
    trees = {"this tree": HERE}
    if args.reference is not None:
        trees["reference"] = args.reference.resolve()
    load = os.getloadavg()[0]
    print(f"los process start, best of {args.runs} runs, load {load:.1f} at the start")
    for case, argv in cases.items():
        for source in trees.values():
            _once(argv, source)  # the scorecard and the report kept, the files in the cache
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, source in trees.items():
                figures[name].append(_once(argv, source))
        for name in trees:
            print(f"  {case:<34} {name:<10} {_best(figures[name])}", flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
