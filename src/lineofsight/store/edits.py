"""Reads and writes of the approval setting and of the strategy edits waiting for approval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lineofsight.store import tables as t


def read_require_approval(conn: Connection) -> bool:
    """Whether editors' changes wait for approval (no row yet: they do not)."""
    value = conn.execute(
        select(t.edit_settings.c.require_approval).where(t.edit_settings.c.id == 1)
    ).scalar_one_or_none()
    return bool(value)


def write_require_approval(conn: Connection, on: bool, actor: str, at: dt.datetime) -> None:
    """Set the approval setting (one row, made on first use)."""
    s = t.edit_settings
    values = {"require_approval": on, "changed_by": actor, "changed_at": at}
    done = conn.execute(update(s).where(s.c.id == 1).values(**values))
    if not done.rowcount:
        conn.execute(insert(s).values(id=1, **values))


def insert_pending(conn: Connection, values: dict[str, Any]) -> int:
    """Write one pending change; its id."""
    result = conn.execute(insert(t.pending_changes).values(state="pending", **values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def read_pending(
    conn: Connection, *, state: str | None = "pending", change_id: int | None = None
) -> list[dict[str, Any]]:
    """Pending changes (or those in `state`, None: all), oldest first."""
    p = t.pending_changes
    query = select(p).order_by(p.c.id)
    if state is not None:
        query = query.where(p.c.state == state)
    if change_id is not None:
        query = query.where(p.c.id == change_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def decide_pending(
    conn: Connection,
    change_id: int,
    *,
    state: str,
    actor: str,
    at: dt.datetime,
    reason: str | None = None,
) -> bool:
    """Mark a pending change approved or rejected; False when it was no longer pending (two
    approvers at once: only one of them decides)."""
    p = t.pending_changes
    done = conn.execute(
        update(p)
        .where(p.c.id == change_id, p.c.state == "pending")
        .values(state=state, decided_by=actor, decided_at=at, reason=reason)
    )
    return bool(done.rowcount)
