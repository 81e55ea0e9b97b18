"""Run the heaviest property tests with many random cases: the exhaustive version of what the
test suite runs with few seeds (to keep `make test` under its time budget).

The test suite runs each of the tests that write at random on two of the four pairs of
example (manufacturing, techinnovate) and database (SQLite, PostgreSQL), each pair with its
own seed: both examples and both databases every time, the other two pairs by the tests of
the other turn (tests/seeds.py, `spread`). Here each runs on every pair with every seed of
`--seeds` (default 1-20), the same assertions, through pytest (tests/seeds.py reads the range
from LOS_PROPERTY_SEEDS, and Hypothesis's number of examples from LOS_PROPERTY_EXAMPLES):

- tests/services/test_snapshots.py: patched scorecards equal full computations after random
  writes (the suite's seeds 1 and 2); writes of values bring the scorecard kept last up to
  date themselves (seeds 4 and 5); a new as-of date is carried from the nearest kept one as
  computed in full (seeds 9 and 10); a full score reads only the months its KPIs look at
  (seeds 12 and 13, three days on one store); patches saved beside the scorecard give the
  full computation (seeds 11 and 12, patched and saved in full); a scorecard held in memory
  takes the rows of a newer patch (seeds 8 and 9, computed in full and read back);
- tests/services/test_attention_forecast_kept.py: the kept forecast calls brought up to date
  equal a full forecast after random writes (seeds 1 and 2);
- tests/engine/test_frame_values.py: the columnar derived values are the value tables, on
  `--examples` generated organisations (default 1000; the suite runs 100, before 300).

Prints pytest's summary and the time taken; exits as pytest does (0: every seed passed).

    .venv/bin/python bench/bench_properties.py
    .venv/bin/python bench/bench_properties.py --seeds 1-100 --workers 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = "tests/services/test_snapshots.py"
FORECAST = "tests/services/test_attention_forecast_kept.py"
PROPERTIES = [
    f"{SNAPSHOTS}::test_patched_scorecards_equal_full_computations_after_random_writes",
    f"{SNAPSHOTS}::test_writes_of_values_bring_the_scorecard_kept_last_up_to_date_themselves",
    f"{SNAPSHOTS}::test_a_new_as_of_date_is_carried_from_the_nearest_kept_one_as_computed_in_full",
    f"{SNAPSHOTS}::test_a_full_score_reads_only_the_months_its_kpis_look_at_and_scores_the_same",
    f"{SNAPSHOTS}::test_patches_saved_beside_the_scorecard_give_the_full_computation",
    f"{SNAPSHOTS}::test_a_scorecard_held_in_memory_takes_the_rows_of_a_newer_patch",
    f"{FORECAST}::test_kept_calls_brought_up_to_date_equal_a_full_forecast_after_random_writes",
    "tests/engine/test_frame_values.py::test_columnar_derived_values_are_the_value_tables",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-20", help="FIRST-LAST (default 1-20)")
    parser.add_argument("--examples", type=int, default=1000, help="Hypothesis examples")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers")
    parser.add_argument("-k", default=None, help="only the tests pytest's -k selects")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    if not first.isdigit() or not (last or first).isdigit() or int(last or first) < int(first):
        parser.error(f"--seeds {args.seeds!r}: give FIRST-LAST, e.g. 1-20")
    env = {
        **os.environ,
        "LOS_PROPERTY_SEEDS": args.seeds,
        "LOS_PROPERTY_EXAMPLES": str(args.examples),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PROPERTIES]
    if args.workers > 1:
        command += ["-n", str(args.workers)]
    if args.k:
        command += ["-k", args.k]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    took = time.perf_counter() - start
    print(f"seeds {args.seeds}, {args.examples} examples: {took:.1f} s", flush=True)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
