"""Write and read measurements; a replaced value is kept as a revision, never lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, and_, func, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect

from lineofsight.domain.model import Calendar
from lineofsight.domain.periods import parse_period, start_of
from lineofsight.store import tables as t
from lineofsight.store.loading import LoadSession

_SQLITE = sqlite_dialect.dialect()


@dataclass(frozen=True, slots=True)
class MeasurementRow:
    """One checked value for one KPI, unit and period."""

    kpi_id: str
    unit_id: str
    period: str
    grain: int
    period_start: dt.date
    period_end: dt.date
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class WriteCounts:
    added: int
    replaced: int
    unchanged: int


# Checked measurements, one row per value to store, in the order of the file.
MEASUREMENT_FRAME = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "grain": pl.Int64,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "note": pl.String,
}
KEY = ["kpi_id", "unit_id", "period"]
COMPARED = ["value", "numerator", "denominator", "note"]
# A stored row: its key and the values a load compares (read with a typed first row, see
# `typed_query`, so that a column whose first values are missing keeps its type).
_STORED = {name: MEASUREMENT_FRAME[name] for name in (*KEY, *COMPARED)}
_STORED_COLUMNS = ", ".join(f"m.{name}" for name in (*KEY, *COMPARED))
# A stored row that may overlap a file's period, and an overlap found (see `Comparison`).
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
# The stored rows of a few (last day, KPI) pairs are found one key step each; those of many,
# by reading their last days whole (each a range of the table).
_STORED_BY_PAIRS = (
    f"SELECT {_STORED_COLUMNS} FROM load_keys k CROSS JOIN measurements m "
    "WHERE m.period_end = k.period_end AND m.kpi_id = k.kpi_id"
)
# Only the file's KPIs: the other KPIs' values on those days are neither compared nor can
# they overlap, and a store of many KPIs' histories holds many of them.
_STORED_BY_ENDS = (
    f"SELECT {_STORED_COLUMNS} FROM measurements m "
    "WHERE m.period_end IN (SELECT period_end FROM load_ends) "
    "AND m.kpi_id IN (SELECT kpi_id FROM load_kpis)"
)
PAIRS_AT_MOST = 20_000
# How many of the file's rows a comparison with the store takes at a time.
COMPARE_ROWS = 500_000
_N = {"n": pl.Int64}
# What the table keeps of a checked row: not the first day and grain (see `with_starts`).
_STORED_AS = [name for name in MEASUREMENT_FRAME if name not in ("grain", "period_start")]
# The primary key: a row of the file and a stored row are the same measurement.
_SAME_ROW = " AND ".join(f"m.{name} = n.{name}" for name in ("period_end", *KEY))


def frame_of_rows(rows: Sequence[MeasurementRow]) -> pl.DataFrame:
    """Checked rows as a measurement frame."""
    return pl.DataFrame(
        [
            (
                r.kpi_id,
                r.unit_id,
                r.period,
                r.grain,
                r.period_start,
                r.period_end,
                r.value,
                r.numerator,
                r.denominator,
                r.note,
            )
            for r in rows
        ],
        schema=MEASUREMENT_FRAME,
        orient="row",
    )


@dataclass(frozen=True)
class Comparison:
    """A file's checked rows against the store: what is new, what changed, and what overlaps.

    `overlaps` has one row per pair of a file row that the load writes (new or changed) and a
    stored value of the same KPI and unit whose periods share days but are not the same
    period (a day and its month, a week across two months, a fiscal and a calendar quarter):
    kpi_id, unit_id, period, row (the file's row number, when the frame had a `row` column),
    stored_period.
    """

    frame: pl.DataFrame
    new: pl.DataFrame
    changed: pl.DataFrame
    overlaps: pl.DataFrame


def compare_measurements(
    session: LoadSession, frame: pl.DataFrame, calendar: Calendar = Calendar()
) -> Comparison:
    """The file's rows (MEASUREMENT_FRAME, and optionally `row`) compared with the store of
    an organisation with this calendar."""
    rows = frame if "row" in frame.columns else frame.with_row_index("row", offset=1)
    frame = frame.select(list(MEASUREMENT_FRAME))
    new, changed, others = _compare(session, frame)
    # Only what the load writes can make a new overlap: a row the store already holds as it
    # is, and whatever shares its days, were both there before.
    written = pl.concat([new, changed]) if not changed.is_empty() else new
    if written.is_empty():
        return Comparison(frame, new, changed, pl.DataFrame(schema=OVERLAPS))
    if written.height < frame.height:
        rows = rows.join(written.select(KEY), on=KEY, how="semi", maintain_order="left")
    others = _with_ends(others, calendar)
    extra = _stored_near(session, written, frame, calendar.fiscal_year_start)
    candidates = pl.concat([others, extra]) if not extra.is_empty() else others
    return Comparison(frame, new, changed, _overlapping(rows, candidates))


def write_compared(
    session: LoadSession, comparison: Comparison, *, source: str, at: dt.datetime
) -> WriteCounts:
    """Add new values, replace changed ones (keeping the old as a revision), skip the same.

    What is new, changed or the same is found by joining the file's rows with the stored
    values of its periods and KPIs (compared exactly, missing values alike). New rows go to
    the table in its own order (by last day), which appends a new period at the end; changed
    rows go through a temporary table, and SQL does the rest. When anything is written, one
    row of `loads` records the source and the time. The caller refuses overlaps first.
    """
    frame, new, changed = comparison.frame, comparison.new, comparison.changed
    unchanged = frame.height - new.height - changed.height
    if new.is_empty() and changed.is_empty():
        return WriteCounts(added=0, replaced=0, unchanged=unchanged)
    recorded_at: Any = at
    if session.dialect == "sqlite":  # as SQLAlchemy writes a time on SQLite
        stored_as = t.loads.c.recorded_at.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
        recorded_at = stored_as(at) if stored_as is not None else at
    load_id = session.insert_returning_id(
        "INSERT INTO loads (source, recorded_at) VALUES (?, ?) RETURNING id", [source, recorded_at]
    )
    if not changed.is_empty():
        session.stage("load_rows", changed)
        session.execute(
            "INSERT INTO measurement_revisions (kpi_id, unit_id, period, revision, value, "
            "numerator, denominator, note, recorded_at, source, replaced_at) "
            "SELECT m.kpi_id, m.unit_id, m.period, m.revision, m.value, m.numerator, "
            "m.denominator, m.note, l.recorded_at, l.source, ? "
            "FROM load_rows n CROSS JOIN measurements m JOIN loads l ON l.id = m.load_id "
            f"WHERE {_SAME_ROW}",
            [recorded_at],
        )
        session.execute(
            "UPDATE measurements SET value = n.value, numerator = n.numerator, "
            "denominator = n.denominator, note = n.note, revision = measurements.revision + 1, "
            "load_id = ? FROM load_rows AS n WHERE " + _SAME_ROW.replace("m.", "measurements."),
            [load_id],
        )
    if not new.is_empty():
        session.append(
            "measurements",
            new.select(_STORED_AS)
            .sort("period_end", *KEY, maintain_order=True)
            .with_columns(revision=pl.lit(1, pl.Int64), load_id=pl.lit(load_id, pl.Int64)),
        )
    return WriteCounts(added=new.height, replaced=changed.height, unchanged=unchanged)


def _compare(
    session: LoadSession, frame: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The file's rows that are new, those whose stored values differ, and the stored rows
    read on the way that the file does not hold (OTHERS: they may overlap its periods).

    The stored values of a few (last day, KPI) pairs are looked up pair by pair; those of
    many, a group of last days at a time, so that only part of a large store is in memory at
    once (a whole history loaded again compares one slice after another).
    """
    anything = session.query("SELECT COUNT(*) FROM (SELECT 1 FROM measurements LIMIT 1) x", _N)
    if not anything.item():
        return frame, frame.clear(), pl.DataFrame(schema=_STORED).select(KEY)
    pairs = frame.select("period_end", "kpi_id").unique()
    if pairs.height <= PAIRS_AT_MOST:
        session.stage("load_keys", pairs)
        return _split(frame, session.query(_STORED_BY_PAIRS, _STORED))
    session.stage("load_kpis", frame.select("kpi_id").unique())
    counts = frame.group_by("period_end").len().sort("period_end")
    groups = counts.with_columns(group=pl.col("len").cum_sum() // COMPARE_ROWS)
    new, changed, others = [], [], []
    for (_,), ends in groups.select("group", "period_end").group_by("group", maintain_order=True):
        session.stage("load_ends", ends.select("period_end"))
        part = frame.join(ends, on="period_end", how="semi")
        new_here, changed_here, others_here = _split(part, session.query(_STORED_BY_ENDS, _STORED))
        new.append(new_here)
        changed.append(changed_here)
        others.append(others_here)
    return pl.concat(new), pl.concat(changed), pl.concat(others)


def _split(
    frame: pl.DataFrame, stored: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Of `frame`'s rows, those `stored` does not hold, and those it holds with other values;
    and the stored rows `frame` does not hold."""
    if stored.is_empty():
        return frame, frame.clear(), pl.DataFrame(schema=_STORED).select(KEY)
    stored = stored.rename({name: f"{name}_stored" for name in COMPARED}).with_columns(
        held=pl.lit(True)
    )
    joined = frame.join(stored, on=KEY, how="left", maintain_order="left")
    same = pl.lit(True)
    for name in COMPARED:
        same = same & pl.col(name).eq_missing(pl.col(f"{name}_stored"))
    held = pl.col("held").fill_null(False)
    new = joined.filter(~held).select(frame.columns)
    changed = joined.filter(held & ~same).select(frame.columns)
    # Keys are unique on both sides: when every stored row was matched, none is left over.
    others = stored.clear().select(KEY)
    if frame.height - new.height < stored.height:
        others = stored.join(frame.select(KEY), on=KEY, how="anti").select(KEY)
    return new, changed, others


def _stored_near(
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


def _with_ends(stored: pl.DataFrame, calendar: Calendar) -> pl.DataFrame:
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


def _overlapping(rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
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


def of_kpis(kpi_ids: Iterable[str]) -> ColumnElement[bool]:
    """Measurements of these KPIs, found along the primary key: one step to each last day held
    (a recursive query hops from one to the next), then one to each KPI there."""
    m = t.measurements
    ends = select(func.min(m.c.period_end).label("day")).cte("held_ends", recursive=True)
    following = (
        select(func.min(m.c.period_end)).where(m.c.period_end > ends.c.day).scalar_subquery()
    )
    ends = ends.union_all(select(following).where(ends.c.day.is_not(None)))
    return and_(m.c.period_end.in_(select(ends.c.day)), m.c.kpi_id.in_(sorted(set(kpi_ids))))


def with_load() -> Any:
    """Measurements joined with the write that recorded each (its source and time)."""
    return t.measurements.join(t.loads, t.loads.c.id == t.measurements.c.load_id)


def with_starts(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (with `period` and `period_end`) with each period's first day, `period_start`:
    worked out once for each distinct period and joined on."""
    if frame.is_empty():
        return frame.with_columns(period_start=pl.lit(None, pl.Date))
    periods = frame.select("period", "period_end").unique()
    starts = periods.with_columns(
        period_start=pl.Series(
            [start_of(label, end) for label, end in periods.iter_rows()], dtype=pl.Date
        )
    )
    return frame.join(starts, on=["period", "period_end"], how="left", maintain_order="left")


def read_measurements(conn: Connection, kpi_id: str | None = None) -> list[dict[str, Any]]:
    """Current measurements with their period's first day and grain, source and time, ordered
    by KPI, unit and period."""
    ms, loads = t.measurements, t.loads
    query = select(ms, loads.c.source, loads.c.recorded_at).select_from(with_load())
    if kpi_id is not None:
        query = query.where(of_kpis([kpi_id]))
    rows = []
    for row in conn.execute(query).mappings():
        found = dict(row)
        found["period_start"] = start_of(found["period"], found["period_end"])
        found["grain"] = int(parse_period(found["period"]).grain)
        rows.append(found)
    return sorted(
        rows, key=lambda r: (r["kpi_id"], r["unit_id"], r["period_start"], r["period_end"])
    )


def read_revisions(
    conn: Connection, kpi_id: str, unit_id: str, period: str
) -> list[dict[str, Any]]:
    """Every earlier value of one measurement, oldest first."""
    rev = t.measurement_revisions
    query = (
        select(rev)
        .where(rev.c.kpi_id == kpi_id, rev.c.unit_id == unit_id, rev.c.period == period)
        .order_by(rev.c.revision)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def move_fiscal_periods(conn: Connection, calendar: Calendar) -> int:
    """Give the stored fiscal periods (`FY2026`, `FY2026-Q1`) the days they have in `calendar`,
    after the fiscal year's first month changed; the number of values moved.

    A value's key holds its period's last day, which must follow from its label in the
    organisation's calendar, for the scorecards and for the key to stay one per period.
    """
    ms = t.measurements
    labels = conn.execute(select(ms.c.period).where(ms.c.period.like("FY%")).distinct())
    moved = 0
    for (label,) in labels.all():
        period = parse_period(label, calendar)
        moved += conn.execute(
            update(ms).where(ms.c.period == label).values(period_end=period.end)
        ).rowcount
    return moved


_KEPT = {
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "note": pl.String,
    "revision": pl.Int64,
}


def delete_measurement(
    session: LoadSession,
    kpi_id: str,
    unit_id: str,
    period: str,
    period_end: dt.date,
    *,
    at: dt.datetime,
) -> dict[str, Any] | None:
    """Remove one current value, keeping it as a revision replaced at `at`; the value removed,
    or None when there was none.

    The ids and the period reach here only after the caller checked them against the store's
    KPIs, units and calendar, so they are quoted inline as `_current` in check-in does.
    """
    key = {
        "period_end": period_end.isoformat(),
        "kpi_id": kpi_id,
        "unit_id": unit_id,
        "period": period,
    }
    where = " AND ".join(f"{name} = '{value}'" for name, value in key.items())
    where_m = " AND ".join(f"m.{name} = '{value}'" for name, value in key.items())
    found = session.query(
        f"SELECT value, numerator, denominator, note, revision FROM measurements WHERE {where}",
        _KEPT,
    )
    if found.is_empty():
        return None
    replaced_at: Any = at
    if session.dialect == "sqlite":  # as SQLAlchemy writes a time on SQLite
        stored_as = t.loads.c.recorded_at.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
        replaced_at = stored_as(at) if stored_as is not None else at
    session.execute(
        "INSERT INTO measurement_revisions (kpi_id, unit_id, period, revision, value, "
        "numerator, denominator, note, recorded_at, source, replaced_at) "
        "SELECT m.kpi_id, m.unit_id, m.period, m.revision, m.value, m.numerator, "
        "m.denominator, m.note, l.recorded_at, l.source, ? "
        f"FROM measurements m JOIN loads l ON l.id = m.load_id WHERE {where_m}",
        [replaced_at],
    )
    session.execute(f"DELETE FROM measurements WHERE {where}")
    return found.to_dicts()[0]
