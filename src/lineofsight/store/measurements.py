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
# The stored rows of a few (last day, KPI) pairs are found one key step each; those of many,
# by reading their last days whole (each a range of the table).
_STORED_BY_PAIRS = (
    f"SELECT {_STORED_COLUMNS} FROM load_keys k CROSS JOIN measurements m "
    "WHERE m.period_end = k.period_end AND m.kpi_id = k.kpi_id"
)
_STORED_BY_ENDS = (
    f"SELECT {_STORED_COLUMNS} FROM measurements m "
    "WHERE m.period_end IN (SELECT period_end FROM load_ends)"
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


def write_measurement_frame(
    session: LoadSession, frame: pl.DataFrame, *, source: str, at: dt.datetime
) -> WriteCounts:
    """Add new values, replace changed ones (keeping the old as a revision), skip the same.

    What is new, changed or the same is found by joining the file's rows with the stored
    values of its periods and KPIs (compared exactly, missing values alike). New rows go to
    the table in its own order (by last day), which appends a new period at the end; changed
    rows go through a temporary table, and SQL does the rest. When anything is written, one
    row of `loads` records the source and the time.
    """
    frame = frame.select(list(MEASUREMENT_FRAME))
    new, changed = _compare(session, frame)
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


def _compare(session: LoadSession, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The file's rows that are new, and those whose stored values differ.

    The stored values of a few (last day, KPI) pairs are looked up pair by pair; those of
    many, a group of last days at a time, so that only part of a large store is in memory at
    once (a whole history loaded again compares one slice after another).
    """
    anything = session.query("SELECT COUNT(*) FROM (SELECT 1 FROM measurements LIMIT 1) x", _N)
    if not anything.item():
        return frame, frame.clear()
    pairs = frame.select("period_end", "kpi_id").unique()
    if pairs.height <= PAIRS_AT_MOST:
        session.stage("load_keys", pairs)
        return _split(frame, session.query(_STORED_BY_PAIRS, _STORED))
    counts = frame.group_by("period_end").len().sort("period_end")
    groups = counts.with_columns(group=pl.col("len").cum_sum() // COMPARE_ROWS)
    new, changed = [], []
    for (_,), ends in groups.select("group", "period_end").group_by("group", maintain_order=True):
        session.stage("load_ends", ends.select("period_end"))
        part = frame.join(ends, on="period_end", how="semi")
        new_here, changed_here = _split(part, session.query(_STORED_BY_ENDS, _STORED))
        new.append(new_here)
        changed.append(changed_here)
    return pl.concat(new), pl.concat(changed)


def _split(frame: pl.DataFrame, stored: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Of `frame`'s rows, those `stored` does not hold, and those it holds with other values."""
    if stored.is_empty():
        return frame, frame.clear()
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
    return new, changed


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
