"""Which values are missing: the due periods of a KPI at a unit that have no value (SPEC
sections 3 and 8: "a value overdue, every day until it is in").

The scorecard evaluates a KPI at its latest period with a value or due, so a value that was
due and never came in is hidden once a later one is in. This rule finds them all, in one
place, for the attention list (`los inbox`, the home page, the overdue email):

- a period is *due* when its end plus the KPI's `due_days` is on or before the as-of date;
- it is *missing* for a (KPI, unit) when no stored value lies within it (a value of a finer
  period counts for the period that holds its last day);
- only periods from the first value of that KPI at that unit are asked for (before it, the
  KPI was not measured there yet), and only within `LOOKBACK_YEARS`: the periods that end on
  or after the first day of the previous calendar year. A KPI silent for years is then told
  as "N values since P are missing", not one line per week of years gone by.

Formula KPIs and values derived across units have no stored values of their own: their
missing inputs are missing at the KPIs and units that are entered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from lineofsight.domain.model import Calendar, Frequency
from lineofsight.domain.periods import previous_period
from lineofsight.engine.calendar import evaluation_period

# The periods asked for end on or after the first day of the previous calendar year.
LOOKBACK_YEARS = 1

# The stored values asked about: which KPI, at which unit, with which period's last day.
VALUES_SCHEMA = {"kpi_id": pl.String, "unit_id": pl.String, "period_end": pl.Date}
# What is missing: each (KPI, unit) and each of its due periods without a value.
MISSING_SCHEMA = {
    "id": pl.String,
    "unit": pl.String,
    "missing_period": pl.String,
    "missing_end": pl.Date,
    "missing_due": pl.Date,
}


def window_start(as_of: dt.date) -> dt.date:
    """The first day a missing period may end on (the first day of the previous year)."""
    return dt.date(as_of.year - LOOKBACK_YEARS, 1, 1)


def _periods(
    frequency: Frequency, as_of: dt.date, calendar: Calendar
) -> list[tuple[str, dt.date, dt.date]]:
    """The periods of a frequency ending from `window_start` to `as_of`, oldest first, as
    (label, start, end)."""
    first = window_start(as_of)
    found = []
    current = evaluation_period(frequency, as_of, calendar)
    while current.end >= first:
        found.append((current.label, current.start, current.end))
        current = previous_period(current, calendar)
    found.reverse()
    return found


def period_frame(frequencies: Iterable[str], as_of: dt.date, calendar: Calendar) -> pl.DataFrame:
    """The periods of each frequency within the window (`frequency`, `label`, `start`, `end`)."""
    rows = [
        (frequency, label, start, end)
        for frequency in sorted(set(frequencies))
        for label, start, end in _periods(Frequency(frequency), as_of, calendar)
    ]
    return pl.DataFrame(
        rows,
        schema={"frequency": pl.String, "label": pl.String, "start": pl.Date, "end": pl.Date},
        orient="row",
    )


def missing_values(
    pairs: pl.DataFrame, values: pl.DataFrame, as_of: dt.date, calendar: Calendar
) -> pl.DataFrame:
    """The due periods without a value (`MISSING_SCHEMA`, oldest first within each pair) of
    each (KPI, unit) of `pairs` (`id`, `unit`, `frequency`, `due_days`: the KPI's, else the
    calendar's) that has a value in the window; `values`: the stored values (`VALUES_SCHEMA`)
    whose period ends from `window_start(as_of)` to `as_of` (more are ignored)."""
    empty = pl.DataFrame(schema=MISSING_SCHEMA)
    if pairs.is_empty() or values.is_empty():
        return empty
    pairs = pairs.select("id", "unit", pl.col("frequency").cast(pl.String), "due_days").unique()
    periods = period_frame(pairs["frequency"].to_list(), as_of, calendar)
    if periods.is_empty():
        return empty
    # Each value's period: the first of its KPI's frequency that ends on or after its last day.
    held = (
        values.join(pairs, left_on=["kpi_id", "unit_id"], right_on=["id", "unit"])
        .filter(pl.col("period_end") <= as_of)
        .sort("period_end")
        .join_asof(
            periods.sort("end"),
            left_on="period_end",
            right_on="end",
            by="frequency",
            strategy="forward",
            check_sortedness=False,
        )
        .filter(pl.col("start").is_not_null() & (pl.col("start") <= pl.col("period_end")))
        .select(id="kpi_id", unit="unit_id", label="label", end="end")
        .unique()
    )
    if held.is_empty():
        return empty
    first = held.group_by("id", "unit").agg(first=pl.col("end").min())
    due = pl.col("end") + pl.duration(days=pl.col("due_days"))
    asked = (
        pairs.join(first, on=["id", "unit"])
        .join(periods, on="frequency")
        .filter((pl.col("end") >= pl.col("first")) & (due <= as_of))
        .with_columns(due=due)
    )
    return (
        asked.join(held, on=["id", "unit", "label"], how="anti")
        .sort("id", "unit", "end")
        .select(
            "id",
            "unit",
            missing_period="label",
            missing_end="end",
            missing_due=pl.col("due").cast(pl.Date),
        )
    )
