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

from lineofsight.store import login_failures as stored
from lineofsight.store.database import Store, StoreConnection

ACCOUNT_LIMIT = 5  # failures under one name before it is locked
ADDRESS_LIMIT = 20  # from one address: an office behind one address has many users
FIRST_LOCK = dt.timedelta(seconds=30)
LONGEST_LOCK = dt.timedelta(minutes=15)
# Failures are forgotten this long after the last one, or after the lock they caused ended:
# someone who mistypes now and then is never locked, and a guesser who waits out a lock and
# fails again is locked for twice as long.
FORGET_AFTER = dt.timedelta(minutes=15)


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
        until = stored.locked_until(conn, keys, now)
    return 0 if until is None else _seconds(_as_utc(until) - now)


def record_failure(store: Store, username: str, address: str, now: dt.datetime) -> int:
    """Count a failed login; the seconds until the next attempt may be made (0: at once)."""
    wait = 0
    with store.transaction() as conn:
        stored.forget_before(conn, now - FORGET_AFTER)
        for counter in counters(username, address):
            failures = stored.count_failure(conn, counter.key, now)
            if failures >= counter.limit:
                until = now + lock_length(failures - counter.limit)
                stored.lock(conn, counter.key, until)
                wait = max(wait, _seconds(until - now))
    return wait


def record_success(store: Store, username: str) -> None:
    """A right password: the name's failures are forgotten (the address's are not, so that a
    guesser cannot clear them by logging into an account of their own)."""
    with store.transaction() as conn:
        forget_account(conn, username)


def forget_account(conn: StoreConnection, username: str) -> None:
    """Forget the failures under a name, in the caller's transaction (a password reset)."""
    stored.forget(conn, _key("user", normal_username(username)))
