"""The audit log: one row for every write made through the web app or the account commands."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from lineofsight.services.history import as_utc
from lineofsight.store import audit as stored
from lineofsight.store.database import Store, StoreConnection


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to what, when, with the value before and after (None when there was none)."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any


def audit_values(
    *, actor: str, action: str, subject: str, before: Any, after: Any, at: dt.datetime
) -> dict[str, Any]:
    """The audit row's columns (JSON text for before and after)."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "before": None if before is None else json.dumps(before, ensure_ascii=False, default=str),
        "after": None if after is None else json.dumps(after, ensure_ascii=False, default=str),
    }


def record(
    conn: StoreConnection,
    *,
    actor: str,
    action: str,
    subject: str,
    before: Any = None,
    after: Any = None,
    at: dt.datetime | None = None,
) -> None:
    """Write one audit row inside the caller's transaction (so it commits with the change)."""
    values = audit_values(
        actor=actor,
        action=action,
        subject=subject,
        before=before,
        after=after,
        at=at or dt.datetime.now(dt.UTC),
    )
    stored.insert_audit(conn, values)


def read_audit(
    store: Store,
    *,
    subject: str | None = None,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
    action: str | None = None,
    text: str | None = None,
) -> list[AuditEntry]:
    """The newest audit entries first, optionally only those about one subject, of one actor,
    of one kind of action (a prefix: `user`) or whose subject contains `text`."""
    with store.reading() as conn:
        rows = stored.read_audit_rows(
            conn,
            subject=subject,
            limit=limit,
            offset=offset,
            actor=actor,
            action=action,
            text=text,
        )
    return [
        AuditEntry(
            id=row["id"],
            at=as_utc(row["at"]),
            actor=row["actor"],
            action=row["action"],
            subject=row["subject"],
            before=None if row["before"] is None else json.loads(row["before"]),
            after=None if row["after"] is None else json.loads(row["after"]),
        )
        for row in rows
    ]


def audit_actions(store: Store) -> list[str]:
    """The kinds of action the log holds (for a filter)."""
    with store.reading() as conn:
        return stored.audit_actions(conn)
