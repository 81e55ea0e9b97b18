"""Measurements in the store: the shape of a checked row, and reads of the stored values
with where each came from and the revisions they replaced (writes: measurement_writes.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

from lineofsight.domain.periods import parse_period, start_of
from lineofsight.store import tables as t
from lineofsight.store.database import plain_rows
from lineofsight.store.loading import LoadSession

# Read with a scorecard's measurements, where no SQLAlchemy is loaded; the writes use it too.
from lineofsight.store.scorecard_reads import with_starts as with_starts


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
# A stored value as a check-in or a deletion reads it before changing it.
_CURRENT = {
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "note": pl.String,
    "revision": pl.Int64,
}


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


def of_kpis(
    kpi_ids: Iterable[str], window: tuple[dt.date, dt.date] | None = None
) -> ColumnElement[bool]:
    """Measurements of these KPIs, found along the primary key: one step to each last day held
    (a recursive query hops from one to the next, within `window`'s days when given), then
    one to each KPI there."""
    m = t.measurements
    ends = _held_ends() if window is None else _held_ends_within(*window)
    return and_(ends, m.c.kpi_id.in_(sorted(set(kpi_ids))))


@lru_cache(maxsize=1)
def _held_ends() -> ColumnElement[bool]:
    """`of_kpis`'s hops from one last day to the next, built once (a page reads one KPI's
    measurements with it at each first visit)."""
    m = t.measurements
    ends = select(func.min(m.c.period_end).label("day")).cte("held_ends", recursive=True)
    following = (
        select(func.min(m.c.period_end)).where(m.c.period_end > ends.c.day).scalar_subquery()
    )
    ends = ends.union_all(select(following).where(ends.c.day.is_not(None)))
    return m.c.period_end.in_(select(ends.c.day))


def _held_ends_within(first: dt.date, last: dt.date) -> ColumnElement[bool]:
    """`_held_ends` from `first` to `last` only: no step to the KPIs at the days outside."""
    m = t.measurements
    ends = (
        select(func.min(m.c.period_end).label("day"))
        .where(m.c.period_end >= first, m.c.period_end <= last)
        .cte("held_ends", recursive=True)
    )
    following = (
        select(func.min(m.c.period_end))
        .where(m.c.period_end > ends.c.day, m.c.period_end <= last)
        .scalar_subquery()
    )
    ends = ends.union_all(select(following).where(ends.c.day.is_not(None)))
    return m.c.period_end.in_(select(ends.c.day))


def with_load() -> Any:
    """Measurements joined with the write that recorded each (its source and time)."""
    return t.measurements.join(t.loads, t.loads.c.id == t.measurements.c.load_id)


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


def kpi_values(
    conn: Connection, kpi_id: str, *, newest_first: bool = False, limit: int | None = None
) -> list[dict[str, Any]]:
    """A KPI's current values (every unit) with the source and time of the write of each;
    newest period first (then by unit) when asked, else in no particular order."""
    ms, loads = t.measurements, t.loads
    query = select(ms, loads.c.source, loads.c.recorded_at).select_from(with_load())
    query = query.where(of_kpis([kpi_id]))
    if newest_first:
        query = query.order_by(ms.c.period_end.desc(), ms.c.unit_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def kpi_measurements_query(
    kpi_ids: Iterable[str], window: tuple[dt.date, dt.date] | None = None
) -> Select[Any]:
    """The current measurements of a few KPIs (every unit; within `window`'s period ends when
    given): KPI, unit, period, period end, value, numerator, denominator."""
    ms = t.measurements
    query = select(
        ms.c.kpi_id,
        ms.c.unit_id,
        ms.c.period,
        ms.c.period_end,
        ms.c.value,
        ms.c.numerator,
        ms.c.denominator,
    )
    # The window bounds the days `of_kpis` steps to (a range on the last day beside them
    # would have SQLite read every row of the window's days instead).
    return query.where(of_kpis(kpi_ids, window))


def kpi_measurements(
    conn: Connection, kpi_ids: Iterable[str]
) -> list[tuple[str, str, dt.date, dt.date, float | None, float | None, float | None]]:
    """The current measurements of a few KPIs (every unit, every period) as plain tuples in
    the order of the engine's measurement frame: (KPI, unit, period's first day, last day,
    value, numerator, denominator). For a page's few dozen rows, cheaper than a frame."""
    query = kpi_measurements_query(kpi_ids)
    starts: dict[tuple[str, dt.date], dt.date] = {}
    rows = []
    for kpi_id, unit_id, period, end, value, numerator, denominator in conn.execute(query):
        start = starts.get((period, end))
        if start is None:
            start = starts[(period, end)] = start_of(period, end)
        rows.append((kpi_id, unit_id, start, end, value, numerator, denominator))
    return rows


def kpi_revisions(
    conn: Connection, kpi_id: str, *, newest_first: bool = False
) -> list[dict[str, Any]]:
    """Every earlier value of a KPI's measurements (every unit and period), by revision
    number: oldest first, or newest first when asked."""
    rev = t.measurement_revisions
    order = rev.c.revision.desc() if newest_first else rev.c.revision
    query = select(rev).where(rev.c.kpi_id == kpi_id).order_by(order)
    return [dict(row) for row in conn.execute(query).mappings()]


def key_condition(
    kpi_id: str, unit_id: str, period: str, period_end: dt.date, alias: str = ""
) -> str:
    """The SQL condition that finds one measurement along the primary key.

    Only for ids and periods that the caller checked against the store's KPIs, units and
    calendar (known ids, a parsed period label and its last day): they are quoted inline,
    which every session (ADBC, SQLAlchemy) takes alike.
    """
    prefix = f"{alias}." if alias else ""
    key = {
        "period_end": period_end.isoformat(),
        "kpi_id": kpi_id,
        "unit_id": unit_id,
        "period": period,
    }
    return " AND ".join(f"{prefix}{name} = '{value}'" for name, value in key.items())


def current_value(
    session: LoadSession, kpi_id: str, unit_id: str, period: str, period_end: dt.date
) -> dict[str, Any]:
    """One measurement's value, numerator, denominator, note and revision as the session
    sees it; empty when there is none (see `key_condition` for what the ids must be)."""
    where = key_condition(kpi_id, unit_id, period, period_end)
    frame = session.query(
        f"SELECT value, numerator, denominator, note, revision FROM measurements WHERE {where}",
        _CURRENT,
    )
    return frame.to_dicts()[0] if frame.height else {}


def latest_value(conn: Connection, kpi_id: str, unit_id: str) -> dict[str, Any] | None:
    """The value of a KPI at a unit for the latest period that has one (period, value,
    numerator, denominator), or None."""
    ms = t.measurements
    query = (
        select(ms.c.period, ms.c.value, ms.c.numerator, ms.c.denominator)
        .where(ms.c.kpi_id == kpi_id, ms.c.unit_id == unit_id)
        .order_by(ms.c.period_end.desc(), ms.c.period)
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


# A KPI page's read (`kpi_page_rows`): the measurements of its KPI and of what its formula
# reads, with the write that recorded each, skipping along the key as `of_kpis` does. Plain
# SQL through the driver: the page's few dozen rows cost less to read than to build the
# statement and the result objects of SQLAlchemy (half of a first visit's reads).
_HELD_ENDS = (
    "WITH RECURSIVE held_ends(day) AS ("
    "SELECT min(period_end) FROM measurements UNION ALL "
    "SELECT (SELECT min(m2.period_end) FROM measurements m2 WHERE m2.period_end > held_ends.day)"
    " FROM held_ends WHERE held_ends.day IS NOT NULL) "
)
_PAGE_COLUMNS = (
    "SELECT m.kpi_id, m.unit_id, m.period, m.period_end, m.value, m.numerator, m.denominator, "
    "m.note, m.revision, l.source, l.recorded_at "
    "FROM measurements m JOIN loads l ON l.id = m.load_id "
)
_PAGE_ORDER = "ORDER BY m.period_end DESC, m.unit_id"
_PAGE_ROWS = (
    _HELD_ENDS + _PAGE_COLUMNS + "WHERE m.period_end IN (SELECT day FROM held_ends) "
    "AND m.kpi_id IN ({marks}) " + _PAGE_ORDER
)
# The same rows where the last days held are given (`held_period_ends`, read once per
# revision of the values): the query then does not hop from one to the next itself.
_PAGE_ROWS_AT = (
    _PAGE_COLUMNS + "WHERE m.period_end IN ({days}) AND m.kpi_id IN ({marks}) " + _PAGE_ORDER
)
# More last days than this (years of daily values) are not written into a statement.
MAX_GIVEN_ENDS = 1000


def held_period_ends(conn: Connection) -> tuple[Any, ...]:
    """Every last day of a period that the store holds a measurement for, oldest first, as
    the driver gives them (text on SQLite): `kpi_page_rows`'s `held`."""
    rows = plain_rows(conn, _HELD_ENDS + "SELECT day FROM held_ends WHERE day IS NOT NULL")
    return tuple(day for (day,) in rows)


_PAGE_REVISIONS = (
    "SELECT unit_id, period, value, numerator, denominator, note, revision, recorded_at, "
    "source FROM measurement_revisions WHERE kpi_id = {mark} ORDER BY revision DESC"
)


@dataclass(frozen=True, slots=True)
class PageRows:
    """What a KPI page reads of the measurements, in one snapshot of the store.

    `measurements`: the current values of the KPI and of the KPIs its values come from, as
    `kpi_measurements` gives them. `values`: the KPI's own current values, newest period
    first (then by unit), as tuples (unit, period, period end, value, numerator,
    denominator, note, revision, source, recorded at). `revisions`: the values they replaced,
    newest revision first, as tuples (unit, period, value, numerator, denominator, note,
    revision, recorded at, source)."""

    measurements: list[tuple[str, str, dt.date, dt.date, float | None, float | None, float | None]]
    values: list[tuple[Any, ...]]
    revisions: list[tuple[Any, ...]]


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _moment(value: Any) -> dt.datetime:
    """A stored time as SQLAlchemy reads it (SQLite keeps text, PostgreSQL a timestamp)."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def kpi_page_rows(
    conn: Connection, kpi_id: str, sources: Iterable[str], held: Sequence[Any] | None = None
) -> PageRows:
    """The measurements a KPI page shows and draws from: those of `sources` (the KPIs its
    values come from) and of the KPI itself with where and when each was written, and the
    KPI's earlier values (two statements, whatever the number of rows). `held`: the last
    days of periods the store holds (`held_period_ends`), when read already."""
    wanted = sorted({kpi_id, *sources})
    measured = set(sources)
    if not conn.in_transaction():
        # Both statements in one snapshot: SQLite begins where SQLAlchemy begins (the
        # store's begin hook), not at the driver's first statement; PostgreSQL's READ
        # COMMITTED would show the second a write committed after the first.
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
    marks = ", ".join(["?"] * len(wanted))
    if held is None or not 0 < len(held) <= MAX_GIVEN_ENDS:
        rows = plain_rows(conn, _PAGE_ROWS.format(marks=marks), wanted)
    else:
        days = ", ".join(["?"] * len(held))
        rows = plain_rows(conn, _PAGE_ROWS_AT.format(days=days, marks=marks), [*held, *wanted])
    revisions: list[tuple[Any, ...]] = []
    if any(r[0] == kpi_id for r in rows):
        revisions = [
            (u, p, v, n, d, note, rev, _moment(at), source)
            for u, p, v, n, d, note, rev, at, source in plain_rows(
                conn, _PAGE_REVISIONS.format(mark="?"), [kpi_id]
            )
        ]
    starts: dict[tuple[str, Any], dt.date] = {}
    ends: dict[Any, dt.date] = {}
    measurements = []
    values = []
    for k, unit, period, end_text, value, numerator, denominator, note, rev, source, at in rows:
        end = ends.get(end_text)
        if end is None:
            end = ends[end_text] = _day(end_text)
        if k in measured:
            start = starts.get((period, end))
            if start is None:
                start = starts[(period, end)] = start_of(period, end)
            measurements.append((k, unit, start, end, value, numerator, denominator))
        if k == kpi_id:
            values.append((unit, period, end, value, numerator, denominator, note, rev, source,
                           _moment(at)))  # fmt: skip
    # In the key's order, as `kpi_measurements` reads them.
    measurements.sort(key=lambda r: (r[3], r[0], r[1], r[2]))
    return PageRows(measurements, values, revisions)
