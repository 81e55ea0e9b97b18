"""The outbox as an administrator sees it: what was sent, to whom, when, what failed and why,
and what may have been sent (its sender stopped between the send and the record)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from lineofsight.display import utc_minute
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit
from lineofsight.store import notifications as stored
from lineofsight.store.database import Store

UNCERTAIN = "may have been sent"
STATES = ("pending", "sending", UNCERTAIN, "retry", "sent", "failed", "withdrawn")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def shown_state(state: str, lease_until: dt.datetime | None, now: dt.datetime) -> str:
    """The state to show: "sending" past its lease may have been sent."""
    lease = _aware(lease_until)
    if state == "sending" and lease is not None and lease < now:
        return UNCERTAIN
    return state


def _time(value: dt.datetime | None) -> str | None:
    return utc_minute(value) if value is not None else None  # an empty cell on the page


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    # A naive value is UTC: SQLite gives the store's UTC times back without a zone.
    zoned = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return zoned.astimezone(dt.UTC).isoformat()


def outbox(
    store: Store,
    now: dt.datetime,
    *,
    state: str | None = None,
    limit: int = 500,
    iso_times: bool = False,
) -> list[dict[str, Any]]:
    """The newest messages, each with the state to show and whether it may be sent again.

    Times as a page shows them (`2026-12-07 15:30 UTC`), or `iso_times`: ISO 8601 in UTC, as
    the API gives every time."""
    time = _iso if iso_times else _time
    states: tuple[str, ...] = ()
    if state is not None:
        states = ("sending",) if state == UNCERTAIN else (state,)
    with store.reading() as conn:
        rows = stored.read_outbox(conn, limit=limit, states=states)
    found = []
    for row in rows:
        shown = shown_state(row.state, row.lease_until, now)
        if state is not None and shown != state:
            continue
        found.append(
            {
                "id": row.id,
                "key": row.key,
                "kind": row.kind,
                "channel": row.channel,
                "recipient": row.recipient,
                "address": row.address,
                "subject": row.subject,
                "reason": row.reason,
                "state": row.state,
                "shown_state": shown,
                "attempts": row.attempts,
                "created_at": time(row.created_at),
                "sent_at": time(row.sent_at),
                "next_attempt_at": time(row.next_attempt_at) if row.state == "retry" else None,
                "last_error": row.last_error,
                "resendable": shown in ("failed", UNCERTAIN),
            }
        )
    return found


def counts(store: Store, now: dt.datetime) -> dict[str, int]:
    """Messages per state to show, in a fixed order (states with none left out), counted by
    the database rather than read row by row (an outbox keeps every message ever sent)."""
    with store.reading() as conn:
        found = stored.count_by_state(conn)
        lapsed = stored.count_lapsed(conn, now) if found.get("sending") else 0
    if lapsed:
        found[UNCERTAIN] = lapsed
        found["sending"] -= lapsed
    return {state: found[state] for state in STATES if found.get(state)}


def check_state(state: str) -> str | None:
    """A state to filter the page by, as given (an empty one: every state); UsageError
    naming the states when it is none of them."""
    state = state.strip()
    if not state:
        return None
    if state not in STATES:
        known = ", ".join(f"'{s}'" for s in STATES)
        raise UsageError(
            f"state: {state!r} is not a state of a message (states: {known})",
            [Problem("state", 0, f"{state!r} is not one of {known}")],
        )
    return state


class Resend(StrEnum):
    """What became of an administrator's "send again"."""

    QUEUED = "queued"
    UNKNOWN = "unknown"  # no message has that id
    NOT_NOW = "not now"  # the message is not failed, nor one that may have been sent


def resend(store: Store, row_id: int, now: dt.datetime, *, actor: str) -> tuple[Resend, str]:
    """Queue a failed message, or one that may have been sent, again (with an audit row);
    the outcome and the state the message is shown in (before the resend)."""
    with store.transaction() as conn:
        row = stored.read_row(conn, row_id)
        if row is None:
            return Resend.UNKNOWN, ""
        shown = shown_state(row.state, row.lease_until, now)
        if not stored.requeue(conn, row_id, now):
            return Resend.NOT_NOW, shown
        audit.record(conn, actor=actor, action="notification.resend", subject=str(row_id), at=now)
    return Resend.QUEUED, shown
