"""Browser sessions and API tokens in the store, looked up by the hash of their secret.

Looking one up is one indexed query that also reads the account and its roles, so no server
process keeps a copy of an account that could outlive a change (see services/sessions.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError

from lineofsight.domain.accounts import Account, Grant
from lineofsight.store import tables as t
from lineofsight.store.database import Store, plain_rows
from lineofsight.store.organization import (
    REVISION_COLUMNS,
    REVISION_SELECT,
    Revision,
    revision_of,
)


@dataclass(frozen=True, slots=True)
class SessionFound:
    """A live session: whose it is, its row and when it was last seen (as stored)."""

    account: Account
    session_id: int
    last_seen_at: dt.datetime


def _account_query(table: Table) -> Any:
    """The account (one row per role, in order) whose `table` row has the given hash."""
    u, g = t.users, t.user_grants
    return (
        select(
            table.c.id.label("row_id"),
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


_TOKEN = _account_query(t.api_tokens)


def _account_of(rows: Sequence[Row[Any]]) -> Account | None:
    if not rows:
        return None
    first = rows[0]
    grants = tuple(Grant(r.role, r.unit_id) for r in rows if r.role is not None)
    return Account(first.id, first.username, first.name or first.username, first.person_id, grants)


def insert_session(
    conn: Connection, token_hash: str, user_id: int, now: dt.datetime, expires_at: dt.datetime
) -> None:
    """Keep a new session (by its secret's hash), clearing out the sessions that have ended."""
    s = t.web_sessions
    conn.execute(delete(s).where(s.c.expires_at <= now))
    conn.execute(
        insert(s).values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


# A live session's account (one row per role, in order) and the store's revision, as plain
# SQL for the driver's own cursor (`database.plain_rows`): every page request looks its
# session up, and building the statement and its result rows through SQLAlchemy cost more
# than the read itself. Each row leads with the revision (`organization.REVISION_SELECT`, a
# table of one row), joined with the session's rows, or with none (the session's columns
# then null): one statement for a page's two reads.
_SESSION_AND_REVISION = (
    f"SELECT r.*, a.session_id, a.last_seen_at, a.user_id, a.username, a.name, a.person_id, "
    f"a.role, a.unit_id FROM ({REVISION_SELECT}) r LEFT OUTER JOIN ("
    f"SELECT s.id AS session_id, s.last_seen_at, u.id AS user_id, u.username, u.name, "
    f"u.person_id, g.role, g.unit_id, g.position "
    f"FROM {t.web_sessions.name} s JOIN {t.users.name} u ON u.id = s.user_id "
    f"LEFT OUTER JOIN {t.user_grants.name} g ON g.user_id = u.id "
    f"WHERE s.token_hash = ? AND s.expires_at > ?) a ON 1 = 1 ORDER BY a.position"
)


def find_session_and_revision(
    conn: Connection, token_hash: str, now: dt.datetime
) -> tuple[SessionFound | None, Revision]:
    """The live session of this hash, or None (unknown, ended, or its user removed), and the
    store's revision (`organization.read_revision`), both read in one statement: one state of
    the store, without a transaction begun for it (a statement is one snapshot on both
    databases)."""
    # The times as SQLAlchemy writes and reads them (SQLite keeps them as text).
    when_column = t.web_sessions.c.last_seen_at.type.dialect_impl(conn.dialect)
    bind = when_column.bind_processor(conn.dialect)
    rows = plain_rows(conn, _SESSION_AND_REVISION, [token_hash, bind(now) if bind else now])
    revision = revision_of(rows[0][:REVISION_COLUMNS])
    if rows[0][REVISION_COLUMNS] is None:
        return None, revision
    found = [row[REVISION_COLUMNS:] for row in rows]
    row_id, seen, user_id, username, name, person_id = found[0][:6]
    grants = tuple(Grant(r[6], r[7]) for r in found if r[6] is not None)
    account = Account(user_id, username, name or username, person_id, grants)
    result = when_column.result_processor(conn.dialect, None)
    last_seen = cast(dt.datetime, result(seen) if result else seen)  # a NOT NULL column
    return SessionFound(account, int(row_id), last_seen), revision


def mark_seen(store: Store, session_id: int, now: dt.datetime) -> None:
    """Note that a session was seen at `now`, unless the store is busy with another write:
    only a record of activity, which must not hold up a page."""
    s = t.web_sessions
    try:
        with store.engine.begin() as conn:
            conn.execute(update(s).where(s.c.id == session_id).values(last_seen_at=now))
    except OperationalError:
        pass


def delete_session(conn: Connection, token_hash: str) -> None:
    """End the session of this hash (nothing happens for an unknown one)."""
    s = t.web_sessions
    conn.execute(delete(s).where(s.c.token_hash == token_hash))


def token_account(conn: Connection, token_hash: str) -> Account | None:
    """The account whose API token has this hash, or None (unknown or revoked)."""
    return _account_of(conn.execute(_TOKEN, {"digest": token_hash}).all())


def live_session_counts(conn: Connection, now: dt.datetime) -> dict[int, tuple[int, dt.datetime]]:
    """Live sessions per user id: how many, and when one of them was last seen (as stored)."""
    s = t.web_sessions
    query = (
        select(s.c.user_id, func.count(), func.max(s.c.last_seen_at))
        .where(s.c.expires_at > now)
        .group_by(s.c.user_id)
    )
    return {row[0]: (int(row[1]), row[2]) for row in conn.execute(query)}
