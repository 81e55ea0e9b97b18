"""Failed web logins in the store, counted under the hash of what they count (see
services/login_throttle.py for the back-off they lead to)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lineofsight.store import tables as t

_failures = t.login_failures


def locked_until(conn: Connection, keys: Sequence[str], now: dt.datetime) -> dt.datetime | None:
    """The latest end of a lock on any of these keys still running at `now` (as stored)."""
    until: dt.datetime | None = conn.execute(
        select(func.max(_failures.c.locked_until)).where(
            _failures.c.key.in_(keys), _failures.c.locked_until > now
        )
    ).scalar()
    return until


def count_failure(conn: Connection, key: str, now: dt.datetime) -> int:
    """Add one failure under `key` at `now`; the failures in a row it has now.

    Counted in the database (never read, add one, write back), so that attempts in several
    processes at once are all counted.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(_failures)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    failures = conn.execute(
        update(_failures)
        .where(_failures.c.key == key)
        .values(failures=_failures.c.failures + 1, last_failure_at=now)
        .returning(_failures.c.failures)
    ).scalar_one()
    return int(failures)


def lock(conn: Connection, key: str, until: dt.datetime) -> None:
    """Refuse attempts counted under `key` until `until`."""
    conn.execute(update(_failures).where(_failures.c.key == key).values(locked_until=until))


def forget(conn: Connection, key: str) -> None:
    """Forget the failures under `key`."""
    conn.execute(delete(_failures).where(_failures.c.key == key))


def forget_before(conn: Connection, cutoff: dt.datetime) -> None:
    """Forget every count whose lock ended, or (never locked) whose last failure was, by
    `cutoff`."""
    last = func.coalesce(_failures.c.locked_until, _failures.c.last_failure_at)
    conn.execute(delete(_failures).where(last <= cutoff))
