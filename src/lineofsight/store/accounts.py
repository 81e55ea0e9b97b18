"""The web app's accounts in the store: users, their roles, browser sessions and API tokens.

Every function works inside the caller's connection, so that a change and its audit row
commit together (see services/accounts.py). Secrets reach here only as hashes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from lineofsight.domain.accounts import Account, Grant, TokenInfo
from lineofsight.store import tables as t


def username_taken(conn: Connection, username: str) -> str | None:
    """The name of the user whose name is this one but for case (`Ada` and `ada` are two
    accounts a person could not tell apart in the audit log), or None."""
    u = t.users
    return conn.execute(
        select(u.c.username).where(func.lower(u.c.username) == username.lower()).limit(1)
    ).scalar()


def person_of(conn: Connection, username: str) -> str | None:
    """The person the user of this name is linked to (None: no such user, or no person)."""
    u = t.users
    return conn.execute(select(u.c.person_id).where(u.c.username == username)).scalar()


def usernames(conn: Connection) -> list[str]:
    """Every user's name."""
    return list(conn.execute(select(t.users.c.username)).scalars())


def unit_ids(conn: Connection) -> set[str]:
    """The ids of the organisation's units (what a role may be given on)."""
    return {row[0] for row in conn.execute(select(t.units.c.id))}


def person_reach(
    conn: Connection, person_id: str, username: str
) -> tuple[dict[str, str | None], list[tuple[str, str]], list[str]]:
    """What a user linked to a person reaches: the units' parent links, the (id, unit) of
    the KPIs the person owns, and the other users linked to the same person."""
    parents = {row[0]: row[1] for row in conn.execute(select(t.units.c.id, t.units.c.parent_id))}
    k = t.kpis
    owned = conn.execute(
        select(k.c.id, k.c.unit_id).where(k.c.owner_id == person_id).order_by(k.c.id)
    )
    u = t.users
    others = conn.execute(
        select(u.c.username)
        .where(u.c.person_id == person_id, u.c.username != username)
        .order_by(u.c.username)
    )
    return parents, [(row[0], row[1]) for row in owned], [row[0] for row in others]


def person_exists(conn: Connection, person_id: str) -> bool:
    """Whether the organisation has a person of this id."""
    p = t.people
    return conn.execute(select(p.c.id).where(p.c.id == person_id)).first() is not None


def insert_user(
    conn: Connection,
    *,
    username: str,
    name: str,
    person_id: str | None,
    password_hash: str,
    created_at: dt.datetime,
) -> int:
    """Add a user (without roles); the new user's id."""
    user_id = conn.execute(
        insert(t.users)
        .values(
            username=username,
            name=name,
            person_id=person_id,
            password_hash=password_hash,
            created_at=created_at,
        )
        .returning(t.users.c.id)
    ).scalar_one()
    return int(user_id)


def set_grants(conn: Connection, user_id: int, grants: Sequence[Grant]) -> None:
    """Give a user exactly these roles, in this order (replacing those it had)."""
    g = t.user_grants
    conn.execute(delete(g).where(g.c.user_id == user_id))
    if grants:
        conn.execute(
            insert(g),
            [
                {"user_id": user_id, "position": i, "role": grant.role, "unit_id": grant.unit_id}
                for i, grant in enumerate(grants)
            ],
        )


def set_person(conn: Connection, user_id: int, person_id: str | None) -> None:
    """Link a user to a person (None: to none)."""
    u = t.users
    conn.execute(update(u).where(u.c.id == user_id).values(person_id=person_id))


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Keep a new password hash for a user."""
    u = t.users
    conn.execute(update(u).where(u.c.id == user_id).values(password_hash=password_hash))


def password_hash_of(conn: Connection, username: str) -> tuple[int, str] | None:
    """A user's id and password hash, or None when no user has this name."""
    u = t.users
    row = conn.execute(select(u.c.id, u.c.password_hash).where(u.c.username == username)).first()
    return None if row is None else (int(row.id), str(row.password_hash))


def read_accounts(
    conn: Connection, *, username: str | None = None, user_id: int | None = None
) -> list[Account]:
    """Accounts with their roles, by username; only the one of this name or id when given."""
    u, g = t.users, t.user_grants
    query = select(u.c.id, u.c.username, u.c.name, u.c.person_id).order_by(u.c.username)
    where: list[ColumnElement[bool]] = []
    if username is not None:
        where.append(u.c.username == username)
    if user_id is not None:
        where.append(u.c.id == user_id)
    users = conn.execute(query.where(*where)).all()
    if not users:
        return []
    ids = [row.id for row in users]
    grants: dict[int, list[Grant]] = {}
    for row in conn.execute(
        select(g.c.user_id, g.c.role, g.c.unit_id)
        .where(g.c.user_id.in_(ids))
        .order_by(g.c.user_id, g.c.position)
    ):
        grants.setdefault(row.user_id, []).append(Grant(row.role, row.unit_id))
    return [
        Account(
            row.id,
            row.username,
            row.name or row.username,
            row.person_id,
            tuple(grants.get(row.id, ())),
        )
        for row in users
    ]


def delete_user(conn: Connection, user_id: int) -> None:
    """Remove a user with its roles, browser sessions and API tokens."""
    delete_sessions_of(conn, user_id, tokens=True)
    conn.execute(delete(t.user_grants).where(t.user_grants.c.user_id == user_id))
    conn.execute(delete(t.users).where(t.users.c.id == user_id))


def delete_sessions_of(conn: Connection, user_id: int, *, tokens: bool) -> None:
    """End every browser session of a user, and with `tokens` delete their API tokens."""
    conn.execute(delete(t.web_sessions).where(t.web_sessions.c.user_id == user_id))
    if tokens:
        conn.execute(delete(t.api_tokens).where(t.api_tokens.c.user_id == user_id))


def insert_token(
    conn: Connection, user_id: int, token_hash: str, label: str | None, created_at: dt.datetime
) -> int:
    """Keep a new API token's hash for a user; the token's id."""
    k = t.api_tokens
    token_id = conn.execute(
        insert(k)
        .values(user_id=user_id, token_hash=token_hash, label=label, created_at=created_at)
        .returning(k.c.id)
    ).scalar_one()
    return int(token_id)


def read_tokens(
    conn: Connection, *, username: str | None = None, token_id: int | None = None
) -> list[TokenInfo]:
    """API tokens in the order they were made; only a user's, or the one of an id, when given."""
    k, u = t.api_tokens, t.users
    query = (
        select(k.c.id, u.c.username, k.c.label, k.c.created_at)
        .join(u, u.c.id == k.c.user_id)
        .order_by(k.c.id)
    )
    if username is not None:
        query = query.where(u.c.username == username)
    if token_id is not None:
        query = query.where(k.c.id == token_id)
    return [TokenInfo(*row) for row in conn.execute(query)]


def delete_token(conn: Connection, token_id: int) -> None:
    """Revoke an API token."""
    conn.execute(delete(t.api_tokens).where(t.api_tokens.c.id == token_id))
