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

from lineofsight.services.accounts import TOKEN_PREFIX, Account, secret_hash
from lineofsight.services.history import as_utc
from lineofsight.store import sessions as stored
from lineofsight.store.database import Store
from lineofsight.store.organization import Revision

SESSION_LIFETIME = dt.timedelta(hours=12)  # a working day; then log in again
# How stale `last_seen_at` may get: writing it on every request would make every page a write.
SEEN_EVERY = dt.timedelta(minutes=5)


def start_session(store: Store, user_id: int, now: dt.datetime) -> str:
    """A new session for a user; returns its secret (for the cookie, never stored).

    Sessions that have ended are cleared out on the way, so the table holds live ones."""
    secret = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        stored.insert_session(conn, secret_hash(secret), user_id, now, now + SESSION_LIFETIME)
    return secret


def account_for_session(store: Store, secret: str, now: dt.datetime) -> Account | None:
    """The account of a live session, or None (unknown, ended, or its user removed)."""
    return session_and_revision(store, secret, now)[0]


def session_and_revision(
    store: Store, secret: str, now: dt.datetime
) -> tuple[Account | None, Revision]:
    """The account of a live session (or None), and the store's revision read in the same
    snapshot: a page needs both, and one connection for the two is half the fixed cost."""
    with store.reading() as conn:
        found, revision = stored.find_session_and_revision(conn, secret_hash(secret), now)
    if found is None:
        return None, revision
    if as_utc(found.last_seen_at) + SEEN_EVERY <= now:
        stored.mark_seen(store, found.session_id, now)
    return found.account, revision


def end_session(store: Store, secret: str) -> None:
    """Log a session out (nothing happens for an unknown one)."""
    with store.transaction() as conn:
        stored.delete_session(conn, secret_hash(secret))


def account_for_token(store: Store, token: str) -> Account | None:
    """The account an API token belongs to, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.reading() as conn:
        return stored.token_account(conn, secret_hash(token))


def session_counts(store: Store, now: dt.datetime) -> dict[int, tuple[int, dt.datetime]]:
    """Live sessions per user id: how many, and when one of them was last seen."""
    with store.reading() as conn:
        counts = stored.live_session_counts(conn, now)
    return {user: (count, as_utc(seen)) for user, (count, seen) in counts.items()}
