"""SQL of the notifications: settings, people's choices and the outbox.

The outbox is what makes a notification go out once: its key is unique, a sender takes a row
with a conditional UPDATE (only one sender's UPDATE matches the row's old state, also with two
app servers on one PostgreSQL store) and commits "sending" before it sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lineofsight.store.notification_tables import (
    notification_outbox as outbox,
)
from lineofsight.store.notification_tables import (
    notification_preferences as preferences,
)
from lineofsight.store.notification_tables import (
    notification_settings as settings_table,
)

SENDABLE = ("pending", "retry")


def read_settings(conn: Connection) -> str | None:
    """The stored settings JSON, or None before an apply wrote any."""
    return conn.execute(select(settings_table.c.settings).where(settings_table.c.id == 1)).scalar()


def save_settings(conn: Connection, text: str | None) -> None:
    """Keep the settings JSON (None: remove it)."""
    if text is None:
        conn.execute(delete(settings_table))
    elif read_settings(conn) is None:
        conn.execute(insert(settings_table).values(id=1, settings=text))
    else:
        conn.execute(update(settings_table).where(settings_table.c.id == 1).values(settings=text))


def read_preferences(conn: Connection) -> dict[str, Row[Any]]:
    """The choices people made themselves, by person."""
    return {row.person_id: row for row in conn.execute(select(preferences))}


def save_preferences(conn: Connection, person_id: str, values: Mapping[str, Any]) -> None:
    """Insert or replace one person's choices (values: email, webhook, digest, digest_day,
    changed_by, changed_at)."""
    found = conn.execute(
        select(preferences.c.person_id).where(preferences.c.person_id == person_id)
    ).first()
    if found is None:
        conn.execute(insert(preferences).values(person_id=person_id, **values))
    else:
        conn.execute(
            update(preferences).where(preferences.c.person_id == person_id).values(**values)
        )


def known_keys(conn: Connection, keys: Iterable[str]) -> set[str]:
    """Which of these keys the outbox holds already (in any state)."""
    found: set[str] = set()
    batch = list(keys)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        found.update(conn.execute(select(outbox.c.key).where(outbox.c.key.in_(chunk))).scalars())
    return found


def insert_new(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Add the rows whose key is not in the outbox yet; the keys added (a key another sender
    added first is left to it)."""
    if not rows:
        return set()
    dialect = conn.dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(outbox).on_conflict_do_nothing(index_elements=["key"])
    else:
        statement = sqlite.insert(outbox).on_conflict_do_nothing(index_elements=["key"])
    statement = statement.returning(outbox.c.key)
    added: set[str] = set()
    for start in range(0, len(rows), 500):
        added.update(conn.execute(statement, list(rows[start : start + 500])).scalars())
    return added


def withdraw(conn: Connection, kind: str, item: str) -> int:
    """Mark the rows of a kind about an item (`kind:id`, at any unit) that are still to be
    sent "withdrawn": what they say is no longer true (an action given to someone else). The
    number withdrawn; a row being sent meanwhile is left to its sender."""
    about = or_(outbox.c.item == item, outbox.c.item.like(f"{item}@%"))
    result = conn.execute(
        update(outbox)
        .where(outbox.c.kind == kind, about, outbox.c.state.in_(SENDABLE))
        .values(state="withdrawn", lease_until=None)
    )
    return int(result.rowcount)


def sendable(conn: Connection, now: dt.datetime, limit: int) -> list[Row[Any]]:
    """Rows waiting to be sent (new, or failed and due for another try), oldest first."""
    return list(
        conn.execute(
            select(outbox)
            .where(outbox.c.state.in_(SENDABLE), outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
    )


def claim(
    conn: Connection,
    row_id: int,
    state: str,
    attempts: int,
    *,
    lease_until: dt.datetime,
    token: str,
) -> bool:
    """Take a row for sending: True only for the one sender whose UPDATE found it unchanged."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id, outbox.c.state == state, outbox.c.attempts == attempts)
        .values(state="sending", attempts=attempts + 1, lease_until=lease_until, claimed_by=token)
    )
    return result.rowcount == 1


def finish(conn: Connection, row_id: int, token: str, values: Mapping[str, Any]) -> bool:
    """Record what became of a send this sender holds (sent, retry, failed)."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id, outbox.c.claimed_by == token, outbox.c.state == "sending")
        .values(**values)
    )
    return result.rowcount == 1


def read_outbox(
    conn: Connection, *, limit: int = 200, states: Sequence[str] = ()
) -> list[Row[Any]]:
    """The newest rows of the outbox, for the admin page and `los notify`."""
    query = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.id.desc()).limit(limit)
    if states:
        query = query.where(outbox.c.state.in_(states))
    return list(conn.execute(query))


def read_row(conn: Connection, row_id: int) -> Row[Any] | None:
    """One outbox row by its id (None when there is none)."""
    return conn.execute(select(outbox).where(outbox.c.id == row_id)).first()


def count_by_state(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
    return {state: count for state, count in rows}


def waiting_retries(conn: Connection, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """Rows put back for a retry whose next attempt is after `now`: how many, and the
    earliest of those attempts."""
    query = select(func.count(), func.min(outbox.c.next_attempt_at)).where(
        outbox.c.state == "retry", outbox.c.next_attempt_at > now
    )
    count, first = conn.execute(query).one()
    return int(count), first


def count_lapsed(conn: Connection, now: dt.datetime) -> int:
    """Rows "sending" whose lease ran out before `now`: their sender stopped mid-send."""
    query = select(func.count()).where(outbox.c.state == "sending", outbox.c.lease_until < now)
    return int(conn.execute(query).scalar_one())


def requeue(conn: Connection, row_id: int, now: dt.datetime) -> bool:
    """Send a failed row, or one that may have been sent, again (an admin's decision)."""
    result = conn.execute(
        update(outbox)
        .where(
            outbox.c.id == row_id,
            or_(
                outbox.c.state == "failed",
                and_(outbox.c.state == "sending", outbox.c.lease_until < now),
            ),
        )
        .values(state="retry", next_attempt_at=now, lease_until=None, claimed_by=None)
    )
    return result.rowcount == 1
