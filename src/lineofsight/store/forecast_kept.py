"""Each KPI's forecast as the whole organisation's forecast keeps it (`kept_forecasts`, rows of
`engine.forecast_kept.KEPT_SCHEMA` with their as-of date): written in the transaction that
keeps that forecast's report (`check_results.save_check_report`), read by a KPI's page only
while that report is the store's current state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import polars as pl

from lineofsight.store.check_results import STATE_COLUMNS, state_of
from lineofsight.store.database import plain_rows

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lineofsight.store.loading import LoadSession

__all__ = ["read_kept_forecast", "read_kept_keys", "write_kept_forecasts"]

# The columns of a row, as `KEPT_SCHEMA` orders them.
_COLUMNS = (
    "kpi_id", "unit_id", "target", "deadline", "points", "method", "models", "on_track",
    "probability", "clamped", "first_period", "last_period", "reason", "path",
)  # fmt: skip

# Ids deleted in one statement (well under the SQLite and PostgreSQL parameter limits).
_IDS = 500


def write_kept_forecasts(
    session: LoadSession,
    as_of: dt.date,
    rows: pl.DataFrame,
    again: Collection[str] | None = None,
) -> None:
    """Keep `rows` (`KEPT_SCHEMA`) as the forecasts of `as_of`, in the caller's transaction:
    in place of every row kept (`again` None: a forecast made in full), or of the rows of the
    KPIs `again` only (a kept forecast of `as_of` brought up to date: those forecast again,
    and those removed since, which are among the KPIs changed), found along the primary key:
    a write of one value does not read every KPI's row."""
    if again is None:
        session.execute("DELETE FROM kept_forecasts")
    else:
        ids = sorted(set(again))
        for start in range(0, len(ids), _IDS):
            chunk = ids[start : start + _IDS]
            marks = ", ".join("?" for _ in chunk)
            session.execute(f"DELETE FROM kept_forecasts WHERE kpi_id IN ({marks})", chunk)
    if rows.is_empty():
        return
    session.append(
        "kept_forecasts",
        rows.select(_COLUMNS).with_columns(pl.lit(as_of).alias("as_of")),
    )


# The store's state, the state the report was made on, and the row (none: not kept).
_READ = (
    f"SELECT {STATE_COLUMNS}, k.state, {', '.join(f'f.{name}' for name in _COLUMNS)}"
    " FROM check_results k LEFT JOIN kept_forecasts f"
    " ON f.kpi_id = ? AND f.unit_id = ? AND f.as_of = ? WHERE k.key = ?"
)


def read_kept_forecast(
    conn: Connection, key: str, kpi_id: str, unit: str, as_of: dt.date
) -> tuple[Any, ...] | None:
    """The kept forecast of `kpi_id` at `unit` as of `as_of` (its `KEPT_SCHEMA` columns in
    order; on SQLite a date comes as ISO text, a flag as 0 or 1), when the report kept for
    `key` (the whole organisation's forecast of that date) was made on the store as it is
    now; else None. One read along the primary keys, through the driver's own cursor (a
    KPI page's: SQLAlchemy's statement and result objects cost more than the read)."""
    day = as_of.isoformat() if conn.dialect.name == "sqlite" else as_of
    found = plain_rows(conn, _READ, (kpi_id, unit, day, key))
    if not found:
        return None
    values = tuple(found[0])
    made_on, row = values[5], values[6:]
    if row[0] is None or state_of(values[:5]) != made_on:
        return None
    return row


def read_kept_keys(conn: Connection, family: str) -> list[str]:
    """The keys of the reports kept whose key starts with `family` (the whole organisation's
    forecasts: one kept at a time)."""
    found = plain_rows(conn, "SELECT key FROM check_results WHERE key LIKE ?", (f"{family}%",))
    return sorted(str(row[0]) for row in found if str(row[0]).startswith(family))
