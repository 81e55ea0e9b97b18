"""The reports `los check` keeps in the store, and the state of the store they were made on.

A report is valid while nothing it read has changed: the store's revision (every load,
replaced or deleted value and definition change adds a row) and the `definitions` row, which
every write of the definitions replaces with a new token in its own transaction (an apply that
only moves items in their file changes no revision, but changes the findings' lines).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, delete, insert, select

from lineofsight.store import tables as t
from lineofsight.store.database import Store
from lineofsight.store.organization import read_revision

DEFINITIONS = "definitions"


def read_check_state(conn: Connection) -> str:
    """The state of the store a check report depends on, as one string."""
    token = conn.execute(
        select(t.check_results.c.state).where(t.check_results.c.key == DEFINITIONS)
    ).scalar()
    return f"{'.'.join(map(str, read_revision(conn)))}/{token or ''}"


def read_check_report(conn: Connection, key: str, state: str) -> str | None:
    """The report kept for `key` if it was made on the store in `state`, else None."""
    row = conn.execute(
        select(t.check_results.c.state, t.check_results.c.report).where(
            t.check_results.c.key == key
        )
    ).first()
    return row.report if row is not None and row.state == state else None


def save_check_report(store: Store, key: str, state: str, report: str) -> bool:
    """Keep `report` for `key`, unless the store changed since `state` was read (False then).

    Reports made on another state are dropped: they can never be valid again."""
    c = t.check_results.c
    with store.transaction() as conn:
        if read_check_state(conn) != state:
            return False
        conn.execute(
            delete(t.check_results).where(c.key != DEFINITIONS, (c.key == key) | (c.state != state))
        )
        conn.execute(insert(t.check_results), {"key": key, "state": state, "report": report})
    return True


def forget_check_reports(conn: Connection) -> None:
    """Drop every kept report and mark the definitions as new (inside the caller's write of
    the definitions, so no report outlives the definitions it was made on)."""
    conn.execute(delete(t.check_results))
    conn.execute(
        insert(t.check_results),
        {"key": DEFINITIONS, "state": uuid.uuid4().hex, "report": ""},
    )
