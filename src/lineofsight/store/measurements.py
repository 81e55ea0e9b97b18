"""Write and read measurements; a replaced value is kept as a revision, never lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from lineofsight.store import tables as t

CHUNK = 500


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
