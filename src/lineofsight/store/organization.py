"""Small reads of the organisation that a page or a command needs without building it whole:
its calendar, the file it was applied from, its KPIs' ratio scales, and the store's revision
(and the counter that writes of actions, commentary and reviews bump in it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from lineofsight.domain.model import Calendar
from lineofsight.store import tables as t
from lineofsight.store.arrow import read_frame
from lineofsight.store.database import Store

Revision = tuple[int, ...]


def read_calendar(conn: Connection) -> Calendar:
    """The organisation's calendar (the default one before any apply)."""
    row = conn.execute(_CALENDAR).first()
    return Calendar(row[0]) if row is not None else Calendar()


_CALENDAR = select(t.organization.c.fiscal_year_start)  # built once: pages read it often


def read_source_file(conn: Connection) -> str | None:
    """The strategy file the store was last applied from, as it was named then (None: not
    known, or nothing applied yet)."""
    source = conn.execute(select(t.organization.c.source_file)).scalar()
    return str(source) if source else None


def read_revision(conn: Connection) -> Revision:
    """A value that changes whenever anything a page or a scorecard shows was written.

    The highest row id of the tables every write of values and definitions adds to: loads (a
    new or replaced value), measurement revisions (a replaced or deleted value) and definition
    changes (an apply); whether the organisation exists; and the store's activity counter,
    which every write of actions, commentary, reviews and definitions bumps (an apply that
    only moves items in the file adds no definition change, but moves the findings' lines).
    Reading them is a few index look-ups, in one statement (one snapshot of the store on
    both databases).

    Sound under concurrent writers: every write transaction takes the store's write lock
    before it writes anything (`database.Store.transaction`), so ids are handed out, and the
    counter bumped, in the order the writes commit; PostgreSQL makes a transaction visible
    before it lets its locks go. A reader that sees a write's id sees every write committed
    before it: a revision never claims a write whose predecessors it misses.
    """
    return revision_of(conn.exec_driver_sql(REVISION_SELECT).one())


def revision_of(row: Sequence[Any]) -> Revision:
    """The revision of the columns `REVISION_SELECT` reads."""
    return tuple(int(v or 0) for v in row)


def values_revision(revision: Revision) -> Revision:
    """The part of a revision that a scorecard reads: values and definitions (not actions,
    commentary or reviews)."""
    return revision[:4]


def definitions_revision(revision: Revision) -> Revision:
    """The part of a revision that only an apply changes."""
    return revision[2:4]


def bump_activity(conn: Connection) -> None:
    """Count a write of actions, commentary, reviews or definitions in the store's revision
    (inside the caller's write transaction)."""
    conn.exec_driver_sql(_BUMP)


# Read by every page request: plain SQL (the same in both dialects), which skips building and
# compiling a statement (0.2 ms against 0.9 ms a read on a busy server). Its columns are
# named, so that a page's read of its session takes it as a table of one row
# (`sessions.find_session_and_revision`).
REVISION_SELECT = (
    f"SELECT (SELECT MAX(id) FROM {t.loads.name}) AS loads,"
    f" (SELECT MAX(id) FROM {t.measurement_revisions.name}) AS revisions,"
    f" (SELECT MAX(id) FROM {t.definition_changes.name}) AS changes,"
    f" (SELECT COUNT(*) FROM {t.organization.name}) AS organization,"
    f" (SELECT activity FROM {t.store_activity.name} WHERE key = 1) AS activity"
)
REVISION_COLUMNS = 5
_BUMP = f"UPDATE {t.store_activity.name} SET activity = activity + 1 WHERE key = 1"


_SCALES = {"kpi_id": pl.String, "scale": pl.Float64}


def read_ratio_scales(store: Store) -> pl.DataFrame:
    """Each KPI's ratio scale (missing for a KPI that is not a ratio): kpi_id, scale."""
    return read_frame(store, "SELECT id, ratio_scale FROM kpis", [], _SCALES)
