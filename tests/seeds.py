"""The seeds of the tests that write at random: one per case in the test suite, many in
bench/bench_properties.py (which sets LOS_PROPERTY_SEEDS, e.g. "1-40")."""

from __future__ import annotations

import os


def seeds(*default: int) -> list[int]:
    """The seeds to run with: `default`, or the range LOS_PROPERTY_SEEDS names ("FIRST-LAST")."""
    wanted = os.environ.get("LOS_PROPERTY_SEEDS", "").strip()
    if not wanted:
        return list(default)
    first, _, last = wanted.partition("-")
    return list(range(int(first), int(last or first) + 1))
