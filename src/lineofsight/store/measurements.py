"""Write and read measurements; a replaced value is kept as a revision, never lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex

from lineofsight.store import tables as t
from lineofsight.store.loading import LoadSession

CHUNK = 500
_SQLITE = sqlite_dialect.dialect()
_POSTGRESQL = postgresql_dialect.psycopg.dialect()  # type: ignore[no-untyped-call]


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


def write_measurements(
    conn: Connection, rows: Sequence[MeasurementRow], *, source: str, at: dt.datetime
) -> WriteCounts:
    """Add new values, replace changed ones (keeping the old as a revision), skip the same."""
    existing: dict[tuple[str, str, str], Any] = {}
    kpi_ids = sorted({r.kpi_id for r in rows})
    m = t.measurements
    for start in range(0, len(kpi_ids), CHUNK):
        chunk = kpi_ids[start : start + CHUNK]
        query = select(
            m.c.id,
            m.c.kpi_id,
            m.c.unit_id,
            m.c.period,
            m.c.value,
            m.c.numerator,
            m.c.denominator,
            m.c.note,
            m.c.revision,
            m.c.recorded_at,
            m.c.source,
        ).where(m.c.kpi_id.in_(chunk))
        for row in conn.execute(query):
            existing[(row.kpi_id, row.unit_id, row.period)] = row
    new: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for r in rows:
        old = existing.get((r.kpi_id, r.unit_id, r.period))
        if old is None:
            new.append(
                {
                    "kpi_id": r.kpi_id,
                    "unit_id": r.unit_id,
                    "period": r.period,
                    "grain": r.grain,
                    "period_start": r.period_start,
                    "period_end": r.period_end,
                    "value": r.value,
                    "numerator": r.numerator,
                    "denominator": r.denominator,
                    "note": r.note,
                    "revision": 1,
                    "recorded_at": at,
                    "source": source,
                }
            )
            continue
        if (old.value, old.numerator, old.denominator, old.note) == (
            r.value,
            r.numerator,
            r.denominator,
            r.note,
        ):
            unchanged += 1
            continue
        revisions.append(
            {
                "measurement_id": old.id,
                "revision": old.revision,
                "value": old.value,
                "numerator": old.numerator,
                "denominator": old.denominator,
                "note": old.note,
                "recorded_at": old.recorded_at,
                "source": old.source,
                "replaced_at": at,
            }
        )
        updates.append(
            {
                "row_id": old.id,
                "new_value": r.value,
                "new_numerator": r.numerator,
                "new_denominator": r.denominator,
                "new_note": r.note,
                "new_revision": old.revision + 1,
                "new_recorded_at": at,
                "new_source": source,
            }
        )
    if new:
        conn.execute(insert(m), new)
    if revisions:
        conn.execute(insert(t.measurement_revisions), revisions)
        conn.execute(
            update(m)
            .where(m.c.id == bindparam("row_id"))
            .values(
                value=bindparam("new_value"),
                numerator=bindparam("new_numerator"),
                denominator=bindparam("new_denominator"),
                note=bindparam("new_note"),
                revision=bindparam("new_revision"),
                recorded_at=bindparam("new_recorded_at"),
                source=bindparam("new_source"),
            ),
            updates,
        )
    return WriteCounts(added=len(new), replaced=len(updates), unchanged=unchanged)


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
# A stored row: its id, its key, and each compared value with a flag for a missing one (so
# that no column starts with missing values, which ADBC's SQLite driver would take for
# integers).
_STORED = {
    "mid": pl.Int64,
    **{name: MEASUREMENT_FRAME[name] for name in KEY},
    **{
        column: dtype
        for name in COMPARED
        for column, dtype in (
            (f"{name}_stored", MEASUREMENT_FRAME[name]),
            (f"{name}_null", pl.Boolean),
        )
    },
}
_STORED_SQL = (
    "SELECT m.id, m.kpi_id, m.unit_id, m.period, "
    + ", ".join(
        f"COALESCE(m.{name}, {'0.0' if name != 'note' else repr('')}), m.{name} IS NULL"
        for name in COMPARED
    )
    + " FROM measurements m WHERE m.kpi_id IN (SELECT kpi_id FROM load_kpis)"
)


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
    values of its KPIs (compared exactly, missing values alike); only new and changed rows go
    to the database, through a temporary table, and SQL does the rest.
    """
    frame = frame.select(list(MEASUREMENT_FRAME)).with_row_index("row")
    stored = _stored(session, frame)
    if stored.is_empty():
        staged = frame.with_columns(mid=pl.lit(None, pl.Int64))
        replaced = 0
    else:
        joined = frame.join(stored, on=KEY, how="left")
        same = pl.lit(True)
        for name in COMPARED:
            old = pl.when(pl.col(f"{name}_null")).then(None).otherwise(pl.col(f"{name}_stored"))
            same = same & pl.col(name).eq_missing(old)
        staged = joined.filter(pl.col("mid").is_null() | ~same).select(*frame.columns, "mid")
        replaced = staged.filter(pl.col("mid").is_not_null()).height
    if staged.is_empty():
        return WriteCounts(added=0, replaced=0, unchanged=frame.height)
    recorded_at: Any = at
    if session.dialect == "sqlite":  # as SQLAlchemy writes a time on SQLite
        stored_as = t.measurements.c.recorded_at.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
        recorded_at = stored_as(at) if stored_as is not None else at
    else:
        recorded_at = at.isoformat()
    if replaced:
        session.stage(
            "load_rows", _for_database(session, staged.filter(pl.col("mid").is_not_null()))
        )
        session.execute(
            "INSERT INTO measurement_revisions (measurement_id, revision, value, numerator, "
            "denominator, note, recorded_at, source, replaced_at) "
            "SELECT m.id, m.revision, m.value, m.numerator, m.denominator, m.note, "
            "m.recorded_at, m.source, ? FROM measurements m JOIN load_rows n ON m.id = n.mid",
            [recorded_at],
        )
        session.execute(
            "UPDATE measurements SET value = n.value, numerator = n.numerator, "
            "denominator = n.denominator, note = n.note, revision = measurements.revision + 1, "
            "recorded_at = ?, source = ? FROM load_rows AS n WHERE measurements.id = n.mid",
            [recorded_at, source],
        )
    new = staged.filter(pl.col("mid").is_null()).sort("row")
    if not new.is_empty():
        rows = _for_database(session, new.select(list(MEASUREMENT_FRAME))).with_columns(
            revision=pl.lit(1, pl.Int64),
            recorded_at=pl.lit(recorded_at, pl.String),
            source=pl.lit(source, pl.String),
        )
        held = session.query("SELECT COALESCE(MAX(id), 0) FROM measurements", _N).item()
        with _index_rebuilt(session, when=new.height >= max(REBUILD_AT, held)):
            session.append("measurements", rows)
    return WriteCounts(
        added=new.height, replaced=replaced, unchanged=frame.height - new.height - replaced
    )


# Adding more rows than the store holds (a first load, above all; the highest id bounds the
# number held, and costs one index step to find), the scorecard's covering
# index is dropped and built again after: sorting once is several times quicker than putting
# millions of rows one by one into an index in another order than the table's.
REBUILD_AT = 100_000
_COVERING = next(i for i in t.measurements.indexes if i.name == "ix_measurements_by_end")


@contextmanager
def _index_rebuilt(session: LoadSession, *, when: bool) -> Iterator[None]:
    if not when:
        yield
        return
    session.execute(f"DROP INDEX {_COVERING.name}")
    yield
    dialect = _SQLITE if session.dialect == "sqlite" else _POSTGRESQL
    session.execute(str(CreateIndex(_COVERING).compile(dialect=dialect)))


def _stored(session: LoadSession, frame: pl.DataFrame) -> pl.DataFrame:
    """The stored values of the file's KPIs, exactly (a missing value as a flag)."""
    anything = session.query("SELECT COUNT(*) FROM (SELECT 1 FROM measurements LIMIT 1) x", _N)
    if not anything.item():
        return pl.DataFrame(schema=_STORED)
    session.stage("load_kpis", frame.select(pl.col("kpi_id").unique()))
    return session.query(_STORED_SQL, _STORED)


_N = {"n": pl.Int64}


def _for_database(session: LoadSession, frame: pl.DataFrame) -> pl.DataFrame:
    if session.dialect == "sqlite":
        # As SQLAlchemy stores dates on SQLite: ISO text.
        return frame.with_columns(pl.col("period_start", "period_end").dt.to_string("%Y-%m-%d"))
    return frame


def read_measurements(conn: Connection, kpi_id: str | None = None) -> list[dict[str, Any]]:
    """Current measurements, ordered by KPI, unit and period start."""
    m = t.measurements
    query = select(m).order_by(m.c.kpi_id, m.c.unit_id, m.c.period_start, m.c.period_end)
    if kpi_id is not None:
        query = query.where(m.c.kpi_id == kpi_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def read_revisions(
    conn: Connection, kpi_id: str, unit_id: str, period: str
) -> list[dict[str, Any]]:
    """Every earlier value of one measurement, oldest first."""
    m, rev = t.measurements, t.measurement_revisions
    query = (
        select(rev)
        .join(m, m.c.id == rev.c.measurement_id)
        .where(m.c.kpi_id == kpi_id, m.c.unit_id == unit_id, m.c.period == period)
        .order_by(rev.c.revision)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def count_measurements(conn: Connection) -> int:
    from sqlalchemy import func

    return int(conn.execute(select(func.count()).select_from(t.measurements)).scalar_one())
