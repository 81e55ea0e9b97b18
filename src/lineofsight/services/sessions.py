"""Who is asking, as the store knows it: logged-in sessions and API tokens, looked up on every
request so that a logout, a removed user, a change of roles, person or password, or a revoked
token takes effect on the next request in every server process.

A session is a random secret in the browser's cookie; the store keeps only its SHA-256, with
the user, when it started, was last seen and ends. Looking up a session or a token is one
indexed query that also reads the account and its roles, so no process keeps a copy of an
account that could outlive a change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError

from lineofsight.services.accounts import TOKEN_PREFIX, Account, Grant, secret_hash
from lineofsight.store import tables as t
from lineofsight.store.database import Store

SESSION_LIFETIME = dt.timedelta(hours=12)  # a working day; then log in again
# How stale `last_seen_at` may get: writing it on every request would make every page a write.
SEEN_EVERY = dt.timedelta(minutes=5)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite gives them back without a zone)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _account_query(table: Table, *extra: Any) -> Any:
    """The account (one row per role, in order) whose `table` row has the given hash."""
    u, g = t.users, t.user_grants
    return (
        select(
            table.c.id.label("row_id"),
            *extra,
            u.c.id,
            u.c.username,
            u.c.name,
            u.c.person_id,
            g.c.role,
            g.c.unit_id,
        )
        .select_from(table.join(u, u.c.id == table.c.user_id).outerjoin(g, g.c.user_id == u.c.id))
        .where(table.c.token_hash == bindparam("digest"))
        .order_by(g.c.position)
    )


_SESSION = _account_query(t.web_sessions, t.web_sessions.c.last_seen_at).where(
    t.web_sessions.c.expires_at > bindparam("now")
)
_TOKEN = _account_query(t.api_tokens)


def _account_of(rows: Sequence[Row[Any]]) -> Account | None:
    if not rows:
        return None
    first = rows[0]
    grants = tuple(Grant(r.role, r.unit_id) for r in rows if r.role is not None)
    return Account(first.id, first.username, first.name or first.username, first.person_id, grants)


def start_session(store: Store, user_id: int, now: dt.datetime) -> str:
    """A new session for a user; returns its secret (for the cookie, never stored).

    Sessions that have ended are cleared out on the way, so the table holds live ones."""
    secret = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.expires_at <= now))
        conn.execute(
            insert(t.web_sessions).values(
                token_hash=secret_hash(secret),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return secret


def account_for_session(store: Store, secret: str, now: dt.datetime) -> Account | None:
    """The account of a live session, or None (unknown, ended, or its user removed)."""
    with store.reading() as conn:
        rows = conn.execute(_SESSION, {"digest": secret_hash(secret), "now": now}).all()
    account = _account_of(rows)
    if account is not None and as_utc(rows[0].last_seen_at) + SEEN_EVERY <= now:
        _mark_seen(store, rows[0].row_id, now)
    return account


def _mark_seen(store: Store, session_id: int, now: dt.datetime) -> None:
    # Only a record of activity: a store busy with a long write must not hold up a page.
    try:
        with store.engine.begin() as conn:
            conn.execute(
                update(t.web_sessions)
                .where(t.web_sessions.c.id == session_id)
                .values(last_seen_at=now)
            )
    except OperationalError:
        pass


def end_session(store: Store, secret: str) -> None:
    """Log a session out (nothing happens for an unknown one)."""
    with store.transaction() as conn:
        conn.execute(
            delete(t.web_sessions).where(t.web_sessions.c.token_hash == secret_hash(secret))
        )


def account_for_token(store: Store, token: str) -> Account | None:
    """The account an API token belongs to, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.reading() as conn:
        return _account_of(conn.execute(_TOKEN, {"digest": secret_hash(token)}).all())


def session_counts(store: Store, now: dt.datetime) -> dict[int, tuple[int, dt.datetime]]:
    """Live sessions per user id: how many, and when one of them was last seen."""
    s = t.web_sessions
    query = (
        select(s.c.user_id, func.count(), func.max(s.c.last_seen_at))
        .where(s.c.expires_at > now)
        .group_by(s.c.user_id)
    )
    with store.reading() as conn:
        return {row[0]: (int(row[1]), as_utc(row[2])) for row in conn.execute(query)}
