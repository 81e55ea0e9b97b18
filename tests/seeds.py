"""How many random cases the heaviest property tests run: the test suite's share, or many in
bench/bench_properties.py (which sets LOS_PROPERTY_SEEDS, e.g. "1-40", and
LOS_PROPERTY_EXAMPLES, e.g. "1000")."""

from __future__ import annotations

import os


def seeds(*default: int) -> list[int]:
    """The seeds to run with: `default`, or the range LOS_PROPERTY_SEEDS names ("FIRST-LAST")."""
    wanted = os.environ.get("LOS_PROPERTY_SEEDS", "").strip()
    if not wanted:
        return list(default)
    first, _, last = wanted.partition("-")
    return list(range(int(first), int(last or first) + 1))


def examples(default: int) -> int:
    """Hypothesis's max_examples: `default`, or the number LOS_PROPERTY_EXAMPLES gives."""
    wanted = os.environ.get("LOS_PROPERTY_EXAMPLES", "").strip()
    return int(wanted) if wanted else default
