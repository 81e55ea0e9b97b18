"""The audit log in the store: one row per write made through the web app or the account
commands, written inside the transaction of the write it records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from lineofsight.store import tables as t
from lineofsight.store.loading import LoadSession, time_parameter

# The columns of an audit row, as `services.audit.audit_values` makes them.
AUDIT_COLUMNS = ("at", "actor", "action", "subject", "before", "after")


def insert_audit(conn: Connection, values: Mapping[str, Any]) -> None:
    """Write one audit row in the caller's transaction."""
    conn.execute(insert(t.audit_log).values(**values))


def append_audit(session: LoadSession, values: Mapping[str, Any]) -> None:
    """Write one audit row in a load's transaction (a check-in, an upload, a deletion)."""
    columns = {name: values[name] for name in AUDIT_COLUMNS}
    columns["at"] = time_parameter(session, columns["at"])
    # A missing value is written as NULL in the statement: ADBC's SQLite driver cannot bind
    # a parameter column of Arrow's null type.
    marks = ", ".join("NULL" if v is None else "?" for v in columns.values())
    session.execute(
        f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({marks})",
        [v for v in columns.values() if v is not None],
    )


def read_audit_rows(
    conn: Connection,
    *,
    subject: str | None,
    limit: int,
    offset: int = 0,
    actor: str | None = None,
    action: str | None = None,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """The newest audit rows first (before and after as stored: JSON text), optionally of
    one actor, of actions starting with `action` (`user` for `user.add`, `user.remove`...),
    or whose subject contains `text`; `offset` rows skipped (pages)."""
    a = t.audit_log
    query = select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
    if subject is not None:
        query = query.where(a.c.subject == subject)
    if actor:
        query = query.where(a.c.actor == actor)
    if action:
        query = query.where(a.c.action.startswith(action, autoescape=True))
    if text:
        query = query.where(a.c.subject.contains(text, autoescape=True))
    return [dict(row) for row in conn.execute(query).mappings()]


def audit_actions(conn: Connection) -> list[str]:
    """Every action the log holds, for the filter's choices."""
    a = t.audit_log
    return list(conn.execute(select(a.c.action).distinct().order_by(a.c.action)).scalars())
