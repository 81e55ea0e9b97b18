"""Which stored values share days with a file's values of another period: a day inside a
file's month, a quarter around it, a week across its end. A load refuses such pairs, since a
KPI's value must not be counted twice (see `measurement_writes.compare_measurements`)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from lineofsight.domain.model import Calendar
from lineofsight.domain.periods import parse_period
from lineofsight.store.loading import LoadSession
from lineofsight.store.measurements import KEY, with_starts

# A stored row that may overlap a file's period, and an overlap found (see
# `measurement_writes.Comparison`).
OTHERS = {"kpi_id": pl.String, "unit_id": pl.String, "period": pl.String, "period_end": pl.Date}
OVERLAPS = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "row": pl.Int64,
    "stored_period": pl.String,
}
_NEAR_BY_PAIRS = (
    "SELECT m.kpi_id, m.unit_id, m.period, CAST(m.period_end AS TEXT) FROM near_keys k "
    "CROSS JOIN measurements m WHERE m.period_end = k.period_end AND m.kpi_id = k.kpi_id"
)


def stored_near(
    session: LoadSession, frame: pl.DataFrame, whole: pl.DataFrame, fiscal_start: int
) -> pl.DataFrame:
    """Stored rows of `frame`'s KPIs that end on another day than `frame`'s periods of that
    KPI but may share days with one (OTHERS): a day inside a file's month, a quarter around
    it, a week across its end. Found by the last days the store holds near the periods (one
    step along the key each), then by (last day, KPI) pairs; those of the `whole` file's own
    pairs were read already."""
    if frame.is_empty():
        return pl.DataFrame(schema=OTHERS)
    # Each period once, with a fingerprint of its KPIs (see `_near_pairs`).
    periods = frame.group_by("period").agg(
        pl.col("period_start").first(),
        pl.col("period_end").first(),
        pl.len().alias("n"),
        pl.col("kpi_id").hash().sum().alias("fp"),
    )
    first = periods.get_column("period_start").min()
    last = periods.get_column("period_end").max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    held = _held_ends(session, first, last + dt.timedelta(days=_LONGEST_DAYS))
    if not held:
        return pl.DataFrame(schema=OTHERS)
    # Each last day held with the first day of the longest period that can end on it; a
    # period of the file is near a held day when the day is inside or after it and that
    # longest period reaches back into it. One range join, not a loop over every period
    # and every day (a history of days holds tens of thousands of each).
    ends = pl.DataFrame(
        {"day": held, "earliest": [_earliest_start(day, fiscal_start) for day in held]},
        schema={"day": pl.Date, "earliest": pl.Date},
    )
    near = (
        periods.select("period", "period_start", "period_end")
        .join_where(
            ends,
            pl.col("day") >= pl.col("period_start"),
            pl.col("earliest") <= pl.col("period_end"),
        )
        .filter(pl.col("day") != pl.col("period_end"))
        .select("period", pl.col("day").alias("near_end"))
    )
    pairs = _near_pairs(frame, whole, periods, near)
    if pairs.is_empty():
        return pl.DataFrame(schema=OTHERS)
    session.stage("near_keys", pairs)
    return _dated(session.query(_NEAR_BY_PAIRS, {**OTHERS, "period_end": pl.String}))


def _near_pairs(
    frame: pl.DataFrame, whole: pl.DataFrame, periods: pl.DataFrame, near: pl.DataFrame
) -> pl.DataFrame:
    """The (last day, KPI) pairs to look up: for each (period, near last day) of `near`, the
    file's KPIs with that period and no period of their own ending on that day (those were
    read with the file's own pairs).

    Most near days are the ends of the file's other periods for the same KPIs (in a history
    of months, March ends the quarter around January): when the KPIs (with their rows) of a
    period and of a period ending on the near day are the same, by a fingerprint of each
    period's KPIs, there is nothing to look up and no KPI-by-KPI work is done.
    """
    none = pl.DataFrame(schema={"period_end": pl.Date, "kpi_id": pl.String})
    if near.is_empty():
        return none
    prints = periods.select("period", "n", "fp")
    ends_alike = periods.select(pl.col("period_end").alias("near_end"), "n", "fp").unique()
    rest = (
        near.join(prints, on="period")
        .join(ends_alike, on=["near_end", "n", "fp"], how="anti")
        .select("period", "near_end")
    )
    if rest.is_empty():
        return none
    wanted = (
        frame.filter(pl.col("period").is_in(rest.get_column("period").unique().implode()))
        .select("period", "kpi_id")
        .unique()
        .join(rest, on="period")
        .select(pl.col("near_end").alias("period_end"), "kpi_id")
        .unique()
    )
    held = whole.filter(
        pl.col("period_end").is_in(rest.get_column("near_end").unique().implode())
    ).select("period_end", "kpi_id")
    return wanted.join(held, on=["period_end", "kpi_id"], how="anti")


# The longest period (a year, or a leap fiscal year), in days.
_LONGEST_DAYS = 366


def with_ends(stored: pl.DataFrame, calendar: Calendar) -> pl.DataFrame:
    """Stored keys (KEY) with each period's last day (OTHERS), from its label: the store
    keeps fiscal periods where the organisation's calendar puts them."""
    if stored.is_empty():
        return pl.DataFrame(schema=OTHERS)
    labels = stored.get_column("period").unique()
    ends = pl.Series([parse_period(label, calendar).end for label in labels], dtype=pl.Date)
    return stored.select(
        *KEY,
        pl.col("period").replace_strict(labels, ends, return_dtype=pl.Date).alias("period_end"),
    )


def _dated(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its `period_end` text as dates (its distinct values parsed once)."""
    ends = frame.get_column("period_end")
    days = ends.unique()
    return frame.with_columns(
        pl.col("period_end").replace_strict(days, days.str.to_date(), return_dtype=pl.Date)
    )


def _earliest_start(end: dt.date, fiscal_start: int) -> dt.date:
    """The first day of the longest period that can end on `end` in a calendar whose fiscal
    year starts in month `fiscal_start`: an ISO week on a Sunday; on a month's last day, the
    month, a (calendar or fiscal) quarter or a year; else the day itself."""
    earliest = end - dt.timedelta(days=6) if end.isoweekday() == 7 else end
    if (end + dt.timedelta(days=1)).day == 1:
        months = 1
        if end.month % 3 == 0 or (end.month - fiscal_start + 1) % 3 == 0:
            months = 3
        if end.month in (12, (fiscal_start - 2) % 12 + 1):
            months = 12
        index = end.year * 12 + end.month - months
        earliest = min(earliest, dt.date(index // 12, index % 12 + 1, 1))
    return earliest


def _held_ends(session: LoadSession, first: dt.date, last: dt.date) -> list[dt.date]:
    """The distinct last days the store holds from `first` to `last`, one index step each."""
    low, high = first.isoformat(), last.isoformat()
    # The recursive query sits in a subquery: a typed query puts a first row before it.
    sql = (
        "SELECT h.day FROM (WITH RECURSIVE held(day) AS ("
        f"SELECT MIN(period_end) FROM measurements WHERE period_end >= '{low}' "
        "UNION ALL SELECT (SELECT MIN(m.period_end) FROM measurements m "
        "WHERE m.period_end > held.day) FROM held "
        f"WHERE held.day IS NOT NULL AND held.day < '{high}'"
        ") SELECT CAST(day AS TEXT) AS day FROM held WHERE day IS NOT NULL) h "
        f"WHERE h.day <= '{high}'"
    )
    days = session.query(sql, {"day": pl.String}).get_column("day").str.to_date().to_list()
    return [day for day in days if day is not None]


def overlapping(rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """Each file row and stored row of one KPI and unit whose periods share days and differ."""
    if stored.is_empty():
        return pl.DataFrame(schema=OVERLAPS)
    stored = with_starts(stored).rename(
        {"period": "stored_period", "period_start": "stored_start", "period_end": "stored_end"}
    )
    keys = stored.select("kpi_id", "unit_id").unique().with_row_index("key")
    near = rows.join(keys, on=["kpi_id", "unit_id"])
    if near.is_empty():
        return pl.DataFrame(schema=OVERLAPS)
    stored = stored.join(keys, on=["kpi_id", "unit_id"]).drop("kpi_id", "unit_id")
    # A range join on two inequalities, on days placed so that each KPI and unit has a stretch
    # of the number line of its own: a join on the key first would pair every file row with
    # every stored row of its KPI and unit (a history of days against one of months).
    found = (
        near.with_columns(start=_on_line("period_start"), end=_on_line("period_end"))
        .join_where(
            stored.with_columns(
                stored_key=pl.col("key"),
                s_start=_on_line("stored_start"),
                s_end=_on_line("stored_end"),
            ).drop("key"),
            pl.col("s_start") <= pl.col("end"),
            pl.col("s_end") >= pl.col("start"),
        )
        .filter(
            (pl.col("key") == pl.col("stored_key")) & (pl.col("stored_period") != pl.col("period"))
        )
    )
    return found.select(
        "kpi_id", "unit_id", "period", pl.col("row").cast(pl.Int64), "stored_period"
    ).sort("row", "stored_period")


# Days from 1970 of any date (years 1 to 9999) lie within this many of 0.
_DAYS_SPAN = 3_000_000


def _on_line(day: str) -> pl.Expr:
    """A date column as a place on a number line where each `key` has its own stretch."""
    return (
        pl.col("key").cast(pl.Int64) * (4 * _DAYS_SPAN)
        + pl.col(day).cast(pl.Int64)
        + (2 * _DAYS_SPAN)
    )
