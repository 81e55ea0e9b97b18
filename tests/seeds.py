"""How many random cases the heaviest property tests run: the test suite's share, or many in
bench/bench_properties.py (which sets LOS_PROPERTY_SEEDS, e.g. "1-40", and
LOS_PROPERTY_EXAMPLES, e.g. "1000"); and on which pairs of example and database the tests of
an example's store run when either example would do."""

from __future__ import annotations

import os

import pytest

EXAMPLES = ("manufacturing", "techinnovate")
DATABASES = ("sqlite", "postgresql")


def seeds(*default: int) -> list[int]:
    """The seeds to run with: `default`, or the range LOS_PROPERTY_SEEDS names ("FIRST-LAST")."""
    wanted = os.environ.get("LOS_PROPERTY_SEEDS", "").strip()
    if not wanted:
        return list(default)
    first, _, last = wanted.partition("-")
    return list(range(int(first), int(last or first) + 1))


def spread(first: int, turn: int) -> pytest.MarkDecorator:
    """The cases of a test that writes at random to a copy of an example's store: its `store`
    fixture (the example), `unmade_db_url` (the database) and `seed`, with ids such as
    "manufacturing-sqlite-1".

    The test suite runs two of the four pairs of example and database, each with its own
    seed (`first`, then `first + 1`): both examples and both databases every time. The pairs
    alternate with `turn` (0: manufacturing on SQLite and techinnovate on PostgreSQL; 1: the
    other two), so that the tests given each turn together write at random to every pair.
    With LOS_PROPERTY_SEEDS (bench/bench_properties.py), every pair runs every seed."""
    if os.environ.get("LOS_PROPERTY_SEEDS", "").strip():
        cases = [(e, d, s) for e in EXAMPLES for d in DATABASES for s in seeds()]
    else:
        cases = [(e, d, first + i) for i, (e, d) in enumerate(_pairs(turn))]
    return pytest.mark.parametrize(
        ("store", "unmade_db_url", "seed"),
        [pytest.param(e, d, s, id=f"{e}-{d}-{s}") for e, d, s in cases],
        indirect=["store", "unmade_db_url"],
    )


def paired(turn: int) -> pytest.MarkDecorator:
    """The cases of a test of an example's store that writes no random values: its `store`
    fixture (the example) and `unmade_db_url` (the database), on the two pairs of `turn` as
    `spread` chooses them: both examples and both databases, each example on one database
    (the tests of a module alternate the turns, so each pair is run by some of them)."""
    return pytest.mark.parametrize(
        ("store", "unmade_db_url"),
        [pytest.param(e, d, id=f"{e}-{d}") for e, d in _pairs(turn)],
        indirect=["store", "unmade_db_url"],
    )


def _pairs(turn: int) -> list[tuple[str, str]]:
    return [(e, DATABASES[(i + turn) % 2]) for i, e in enumerate(EXAMPLES)]


def examples(default: int) -> int:
    """Hypothesis's max_examples: `default`, or the number LOS_PROPERTY_EXAMPLES gives."""
    wanted = os.environ.get("LOS_PROPERTY_EXAMPLES", "").strip()
    return int(wanted) if wanted else default
