"""The history of the definitions: who changed what, when, and the value before."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lineofsight.domain.text import did_you_mean
from lineofsight.errors import UsageError
from lineofsight.services.workspace import shown_file
from lineofsight.store.database import Store
from lineofsight.store.definitions import history_item_ids, read_history


@dataclass(frozen=True)
class HistoryRecord:
    changed_at: dt.datetime
    actor: str
    source: str | None
    kind: str
    item_id: str
    action: str
    field: str | None
    before: Any
    after: Any


def definition_history(
    store: Store, item_id: str | None = None, limit: int = 50
) -> list[HistoryRecord]:
    """The newest `limit` definition changes, oldest first, optionally for one item.

    UsageError (with the closest id) for an id that never had a definition.
    """
    with store.reading() as conn:
        rows = read_history(conn, item_id=item_id)
        if item_id is not None and not rows:
            known = history_item_ids(conn)
            raise UsageError(
                f"unknown id '{item_id}': no unit, person, objective or KPI has had it"
                + did_you_mean(item_id, known)
            )
    rows = rows[-limit:]
    shown = {s: shown_file(s) for s in {r["source"] for r in rows} if s is not None}
    return [
        HistoryRecord(
            changed_at=as_utc(r["changed_at"]),
            actor=r["actor"],
            # Kept as apply was given it (absolute since this release): named as the
            # findings name it, the same from whichever folder apply ran.
            source=None if r["source"] is None else shown[r["source"]],
            kind=r["kind"],
            item_id=r["item_id"],
            action=r["action"],
            field=r["field"],
            before=r["before"],
            after=r["after"],
        )
        for r in rows
    ]


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite gives it back without a zone, PostgreSQL
    with the server's), so that every surface says the same moment the same way."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
