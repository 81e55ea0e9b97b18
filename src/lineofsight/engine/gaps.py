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
from lineofsight.domain.periods import periods_between
from lineofsight.engine.calendar import evaluation_period, period_for

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
    first = period_for(window_start(as_of), frequency, calendar)
    last = evaluation_period(frequency, as_of, calendar)
    return [(p.label, p.start, p.end) for p in periods_between(first, last, calendar)]


def period_frame(frequencies: Iterable[str], as_of: dt.date, calendar: Calendar) -> pl.DataFrame:
    """The periods of each frequency within the window (`frequency`, `label`, `start`, `end`,
    and `index`: 0 for the oldest of its frequency, then one more per period)."""
    rows = [
        (frequency, index, label, start, end)
        for frequency in sorted(set(frequencies))
        for index, (label, start, end) in enumerate(_periods(Frequency(frequency), as_of, calendar))
    ]
    return pl.DataFrame(
        rows,
        schema={
            "frequency": pl.String,
            "index": pl.Int64,
            "label": pl.String,
            "start": pl.Date,
            "end": pl.Date,
        },
        orient="row",
    )


def missing_values(
    pairs: pl.DataFrame, values: pl.DataFrame, as_of: dt.date, calendar: Calendar
) -> pl.DataFrame:
    """The due periods without a value (`MISSING_SCHEMA`, oldest first within each pair) of
    each (KPI, unit) of `pairs` (`id`, `unit`, `frequency`, `due_days`: the KPI's, else the
    calendar's) that has a value in the window; `values`: the stored values (`VALUES_SCHEMA`)
    whose period ends from `window_start(as_of)` to `as_of` (more are ignored).

    Millions of values, nearly all complete: each value is first told by numbers alone (its
    pair's, its frequency's and its period's), each pair's values are counted (the periods
    from its first value to its latest due one, against the periods that have one), and only
    the pairs that come short are listed period by period."""
    empty = pl.DataFrame(schema=MISSING_SCHEMA)
    if pairs.is_empty() or values.is_empty():
        return empty
    pairs = (
        pairs.select(
            "id", "unit", pl.col("frequency").cast(pl.String), pl.col("due_days").cast(pl.Int64)
        )
        .unique(["id", "unit"], maintain_order=True)
        .with_row_index("pair")
    )
    periods = period_frame(pairs["frequency"].to_list(), as_of, calendar)
    if periods.is_empty():
        return empty
    # Frequencies by number too (`kind`): each of millions of values carries one.
    kinds = sorted(set(periods["frequency"].to_list()))
    kind = pl.col("frequency").replace_strict(kinds, range(len(kinds)), return_dtype=pl.Int32)
    pairs = pairs.with_columns(kind=kind)
    periods = periods.with_columns(kind=kind)
    # The latest due period of each (frequency, due_days): its index.
    lags = pairs.select("frequency", "due_days").unique()
    last = (
        lags.join(periods, on="frequency")
        .filter(pl.col("end") + pl.duration(days=pl.col("due_days")) <= as_of)
        .group_by("frequency", "due_days")
        .agg(last=pl.col("index").max())
    )
    coded = pairs.join(last, on=["frequency", "due_days"]).select("pair", "kind", "last")
    # Each value by its pair's number (the texts of millions of rows dropped at once).
    read = (
        values.lazy()
        .filter(pl.col("period_end") <= as_of)
        .join(
            pairs.lazy().select("id", "unit", "pair"),
            left_on=["kpi_id", "unit_id"],
            right_on=["id", "unit"],
        )
        .select("pair", "period_end")
        .join(coded.lazy(), on="pair")
        .collect()
    )
    # Each value's period: the one of its KPI's frequency ending on its last day, else (a
    # value of a finer period) the first ending after it.
    exact = read.join(
        periods.select("kind", "end", "index"),
        left_on=["kind", "period_end"],
        right_on=["kind", "end"],
        how="left",
    )
    held = exact.filter(pl.col("index").is_not_null())  # one row per pair and period
    finer = exact.filter(pl.col("index").is_null()).drop("index")
    if not finer.is_empty():
        placed = (
            finer.sort("period_end")
            .join_asof(
                periods.select("kind", "start", "end", "index").sort("end"),
                left_on="period_end",
                right_on="end",
                by="kind",
                strategy="forward",
                check_sortedness=False,
            )
            .filter(pl.col("start").is_not_null() & (pl.col("start") <= pl.col("period_end")))
            .select(held.columns)
            .unique(["pair", "index"])
            .join(held, on=["pair", "index"], how="anti")
        )
        held = pl.concat([held, placed])
    held = held.filter(pl.col("index") <= pl.col("last")).select("pair", "index")
    counted = held.group_by("pair").agg(first=pl.col("index").min(), seen=pl.len())
    short = (
        counted.join(coded, on="pair")
        .filter(pl.col("last") - pl.col("first") + 1 > pl.col("seen"))
        .join(pairs.drop("kind"), on="pair")
    )
    if short.is_empty():
        return empty
    asked = short.join(periods.drop("kind"), on="frequency").filter(
        (pl.col("index") >= pl.col("first")) & (pl.col("index") <= pl.col("last"))
    )
    return (
        asked.join(held, on=["pair", "index"], how="anti")
        .sort("pair", "index")
        .select(
            "id",
            "unit",
            missing_period="label",
            missing_end="end",
            missing_due=(pl.col("end") + pl.duration(days=pl.col("due_days"))).cast(pl.Date),
        )
    )
