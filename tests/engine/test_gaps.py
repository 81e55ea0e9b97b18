"""`engine.gaps`: the due periods of a (KPI, unit) without a value, from its first value (and
no earlier than the previous year) to its latest due period."""

from __future__ import annotations

import datetime as dt

import polars as pl

from lineofsight.domain.model import Calendar
from lineofsight.engine.gaps import VALUES_SCHEMA, missing_values

CAL = Calendar()
D = dt.date


def _pairs(*rows: tuple[str, str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"id": pl.String, "unit": pl.String, "frequency": pl.String, "due_days": pl.Int64},
        orient="row",
    )


def _values(*rows: tuple[str, str, dt.date]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=VALUES_SCHEMA, orient="row")


def _missing(pairs: pl.DataFrame, values: pl.DataFrame, day: dt.date) -> list[tuple[str, ...]]:
    found = missing_values(pairs, values, day, CAL)
    return [(r[0], r[1], r[2], str(r[4])) for r in found.iter_rows()]


def test_a_gap_before_a_later_value_stays_missing() -> None:
    pairs = _pairs(("sales", "co", "monthly", 30))
    values = _values(
        ("sales", "co", D(2026, 6, 30)),
        ("sales", "co", D(2026, 9, 30)),
        ("sales", "co", D(2026, 11, 30)),
    )
    # As of 2026-12-15: July, August and October are due (November is not), none is in; May
    # and before come before the first value.
    assert _missing(pairs, values, D(2026, 12, 15)) == [
        ("sales", "co", "2026-07", "2026-08-30"),
        ("sales", "co", "2026-08", "2026-09-30"),
        ("sales", "co", "2026-10", "2026-11-30"),
    ]
    # Each unit on its own; a pair not asked about is not looked at.
    other = _values(("sales", "north", D(2026, 6, 30)))
    assert _missing(pairs, other, D(2026, 12, 15)) == []
    assert [
        r[1] for r in _missing(_pairs(("sales", "north", "monthly", 30)), other, D(2026, 8, 1))
    ] == []


def test_values_of_finer_periods_count_for_the_period_that_holds_them() -> None:
    pairs = _pairs(("visits", "co", "monthly", 10))
    values = _values(
        ("visits", "co", D(2026, 8, 31)),
        ("visits", "co", D(2026, 9, 3)),  # a day of September
        ("visits", "co", D(2026, 9, 17)),
    )
    assert _missing(pairs, values, D(2026, 11, 15)) == [("visits", "co", "2026-10", "2026-11-10")]


def test_a_kpi_silent_for_years_is_asked_only_back_to_the_previous_year() -> None:
    pairs = _pairs(("nps", "co", "quarterly", 30))
    values = _values(("nps", "co", D(2020, 3, 31)), ("nps", "co", D(2025, 6, 30)))
    # The window starts on 2025-01-01: 2025-Q1 is before the first value in it.
    found = _missing(pairs, values, D(2026, 12, 15))
    assert [r[2] for r in found] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
