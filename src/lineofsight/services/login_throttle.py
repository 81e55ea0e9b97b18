"""Failed logins, counted per account name and per client address, and the back-off that
follows: after `limit` failures in a row, further attempts are refused for 30 seconds, then
twice as long after each new failure, up to 15 minutes.

The counts live in the store, so every server process refuses alike. They are kept under the
SHA-256 of what they count: a password typed into the username field must not be stored. Each
function takes `now`, so that the web app's clock decides (and tests can move it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lineofsight.store import tables as t
from lineofsight.store.database import Store

ACCOUNT_LIMIT = 5  # failures under one name before it is locked
ADDRESS_LIMIT = 20  # from one address: an office behind one address has many users
FIRST_LOCK = dt.timedelta(seconds=30)
LONGEST_LOCK = dt.timedelta(minutes=15)
# Failures are forgotten this long after the last one, or after the lock they caused ended:
# someone who mistypes now and then is never locked, and a guesser who waits out a lock and
# fails again is locked for twice as long.
FORGET_AFTER = dt.timedelta(minutes=15)

_failures = t.login_failures


@dataclass(frozen=True, slots=True)
class Counter:
    """One count of failures: its key in the store and how many it allows before a lock."""

    key: str
    limit: int


def normal_username(username: str) -> str:
    """The account name a login is for, as typed: spaces around it are not part of it.

    The same name counts the failures and looks the account up (accounts.authenticate), so
    that ` admin` is locked, and let in, exactly as `admin` is.
    """
    return username.strip()


def counters(username: str, address: str) -> tuple[Counter, Counter]:
    """The counts a login attempt adds to: its account name and its client address."""
    return (
        Counter(_key("user", normal_username(username)), ACCOUNT_LIMIT),
        Counter(_key("address", address), ADDRESS_LIMIT),
    )


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def lock_length(over: int) -> dt.timedelta:
    """How long a lock lasts once a count is `over` failures past its limit (0: just reached)."""
    doubled: dt.timedelta = FIRST_LOCK * (2 ** min(over, 20))
    return min(doubled, LONGEST_LOCK)


def _seconds(span: dt.timedelta) -> int:
    return max(1, math.ceil(span.total_seconds()))


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def locked_for(store: Store, username: str, address: str, now: dt.datetime) -> int:
    """Seconds until an attempt for this name from this address may be made; 0: now."""
    keys = [c.key for c in counters(username, address)]
    with store.reading() as conn:
        until = conn.execute(
            select(func.max(_failures.c.locked_until)).where(
                _failures.c.key.in_(keys), _failures.c.locked_until > now
            )
        ).scalar()
    return 0 if until is None else _seconds(_as_utc(until) - now)


def record_failure(store: Store, username: str, address: str, now: dt.datetime) -> int:
    """Count a failed login; the seconds until the next attempt may be made (0: at once)."""
    wait = 0
    with store.transaction() as conn:
        _forget_stale(conn, now)
        for counter in counters(username, address):
            # Counted in the database (never read, add one, write back), so that attempts
            # in several processes at once are all counted.
            _insert_if_missing(conn, counter.key, now)
            failures = conn.execute(
                update(_failures)
                .where(_failures.c.key == counter.key)
                .values(failures=_failures.c.failures + 1, last_failure_at=now)
                .returning(_failures.c.failures)
            ).scalar_one()
            if failures >= counter.limit:
                until = now + lock_length(failures - counter.limit)
                conn.execute(
                    update(_failures)
                    .where(_failures.c.key == counter.key)
                    .values(locked_until=until)
                )
                wait = max(wait, _seconds(until - now))
    return wait


def record_success(store: Store, username: str) -> None:
    """A right password: the name's failures are forgotten (the address's are not, so that a
    guesser cannot clear them by logging into an account of their own)."""
    with store.transaction() as conn:
        forget_account(conn, username)


def forget_account(conn: Connection, username: str) -> None:
    """Forget the failures under a name, in the caller's transaction (a password reset)."""
    key = _key("user", normal_username(username))
    conn.execute(delete(_failures).where(_failures.c.key == key))


def _forget_stale(conn: Connection, now: dt.datetime) -> None:
    last = func.coalesce(_failures.c.locked_until, _failures.c.last_failure_at)
    conn.execute(delete(_failures).where(last <= now - FORGET_AFTER))


def _insert_if_missing(conn: Connection, key: str, now: dt.datetime) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(_failures)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
