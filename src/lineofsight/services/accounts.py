"""Accounts of the web app: users with argon2-hashed passwords, roles on unit subtrees, API
tokens (kept only as hashes), each change written to the audit log in the same transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from lineofsight.domain.text import did_you_mean
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit, login_throttle
from lineofsight.store import tables as t
from lineofsight.store.database import Store

ROLES = ("admin", "editor", "owner", "viewer")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "los_"

# argon2id with the library's defaults (RFC 9106 low-memory profile). Tests swap in a cheaper
# hasher; stored hashes carry their own parameters, so either verifies the other's.
hasher = PasswordHasher()
# Verified against when the username is unknown, so that a login takes as long either way.
_DUMMY_HASH = hasher.hash("not a password of anyone")


@dataclass(frozen=True, slots=True)
class Grant:
    """A role on a unit and every unit below it; `unit_id` None is the whole organisation."""

    role: str
    unit_id: str | None = None

    def __str__(self) -> str:
        return self.role if self.unit_id is None else f"{self.role}:{self.unit_id}"


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the web app sees it: who they are, which person they are, what they may do."""

    id: int
    username: str
    name: str
    person_id: str | None
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed: never the token itself, which is shown once when made."""

    id: int
    username: str
    label: str | None
    created_at: dt.datetime


def parse_grant(text: str) -> Grant:
    """`ROLE` (whole organisation) or `ROLE:UNIT`; UsageError naming the mistake."""
    role, _, unit = text.strip().partition(":")
    role = role.strip().lower()
    if role not in ROLES:
        raise UsageError(f"--role {text!r}: unknown role '{role}': use one of {', '.join(ROLES)}")
    unit = unit.strip()
    if _ and not unit:
        raise UsageError(f"--role {text!r}: give a unit after the colon, or no colon")
    return Grant(role, unit or None)


def grant_plain(grant: Grant) -> dict[str, str | None]:
    return {"role": grant.role, "unit": grant.unit_id}


def account_plain(account: Account) -> dict[str, object]:
    """An account as JSON-ready data (for the API and the audit log; no secrets)."""
    return {
        "id": account.id,
        "username": account.username,
        "name": account.name,
        "person": account.person_id,
        "grants": [grant_plain(g) for g in account.grants],
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_new_user(
    conn: Connection,
    username: str,
    password: str,
    grants: Sequence[Grant],
    person_id: str | None,
) -> None:
    problems: list[Problem] = []
    if not USERNAME.match(username):
        problems.append(
            Problem(
                "username",
                0,
                f"{username!r} is not a valid username: letters, digits and _ . @ -, "
                "starting with a letter or digit, at most 64 characters",
            )
        )
    elif conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first():
        problems.append(Problem("username", 0, f"a user named '{username}' already exists"))
    problems += _password_problems(password)
    problems += _grant_problems(conn, grants, person_id)
    if problems:
        raise UsageError(f"cannot add user '{username}': {problems[0]}", problems)


def _password_problems(password: str) -> list[Problem]:
    if len(password) < MIN_PASSWORD:
        return [Problem("password", 0, f"is shorter than {MIN_PASSWORD} characters")]
    return []


def _grant_problems(
    conn: Connection, grants: Sequence[Grant], person_id: str | None
) -> list[Problem]:
    """What is wrong with these roles for a user who is `person_id`."""
    problems: list[Problem] = []
    if not grants:
        problems.append(Problem("role", 0, "give at least one role (admin, editor, owner, viewer)"))
    units = {row[0] for row in conn.execute(select(t.units.c.id))}
    for grant in grants:
        if grant.role not in ROLES:
            problems.append(Problem("role", 0, f"unknown role '{grant.role}'"))
        if grant.unit_id is not None and grant.unit_id not in units:
            problems.append(Problem("role", 0, f"unknown unit '{grant.unit_id}' in '{grant}'"))
    if person_id is not None:
        known = conn.execute(select(t.people.c.id).where(t.people.c.id == person_id)).first()
        if known is None:
            problems.append(Problem("person", 0, f"unknown person '{person_id}'"))
    if any(g.role == "owner" for g in grants) and person_id is None:
        problems.append(
            Problem(
                "person",
                0,
                "an owner must be linked to a person (--person ID): the KPIs "
                "they may enter data for are those the person owns",
            )
        )
    return problems


def add_user(
    store: Store,
    username: str,
    password: str,
    grants: Sequence[Grant],
    *,
    name: str | None = None,
    person_id: str | None = None,
    actor: str,
) -> Account:
    """Create a user (password hashed with argon2) with its roles, and audit it."""
    with store.transaction() as conn:
        _check_new_user(conn, username, password, grants, person_id)
        user_id = conn.execute(
            insert(t.users)
            .values(
                username=username,
                name=name or username,
                person_id=person_id,
                password_hash=hasher.hash(password),
                created_at=_now(),
            )
            .returning(t.users.c.id)
        ).scalar_one()
        conn.execute(
            insert(t.user_grants),
            [
                {"user_id": user_id, "position": i, "role": g.role, "unit_id": g.unit_id}
                for i, g in enumerate(grants)
            ],
        )
        account = Account(user_id, username, name or username, person_id, tuple(grants))
        audit.record(
            conn,
            actor=actor,
            action="user.add",
            subject=f"user:{username}",
            after=account_plain(account),
        )
    return account


def _accounts(conn: Connection, where: object = None) -> list[Account]:
    u, g = t.users, t.user_grants
    query = select(u.c.id, u.c.username, u.c.name, u.c.person_id).order_by(u.c.username)
    if where is not None:
        query = query.where(where)  # type: ignore[arg-type]
    users = conn.execute(query).all()
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


def list_users(store: Store) -> list[Account]:
    with store.reading() as conn:
        return _accounts(conn)


def find_user(store: Store, username: str) -> Account | None:
    with store.reading() as conn:
        found = _accounts(conn, t.users.c.username == username)
    return found[0] if found else None


def require_user(store: Store, username: str) -> Account:
    """The account of this name, or a UsageError naming the closest name if there is none."""
    with store.reading() as conn:
        found = _accounts(conn, t.users.c.username == username)
        if not found:
            raise unknown_user(conn, username)
    return found[0]


def account_by_id(store: Store, user_id: int) -> Account | None:
    with store.reading() as conn:
        found = _accounts(conn, t.users.c.id == user_id)
    return found[0] if found else None


def unknown_user(conn: Connection, username: str) -> UsageError:
    """The error for a name no account has, with the closest name that one has, if any."""
    reason = f"unknown user '{username}'"
    names = conn.execute(select(t.users.c.username)).scalars()
    return UsageError(reason + did_you_mean(username, names), [Problem("username", 0, reason)])


def remove_user(store: Store, username: str, *, actor: str) -> Account:
    """Delete a user, its roles, sessions and tokens; audit it."""
    with store.transaction() as conn:
        found = _accounts(conn, t.users.c.username == username)
        if not found:
            raise unknown_user(conn, username)
        account = found[0]
        end_sessions_of(conn, account.id, tokens=True)
        conn.execute(delete(t.user_grants).where(t.user_grants.c.user_id == account.id))
        conn.execute(delete(t.users).where(t.users.c.id == account.id))
        audit.record(
            conn,
            actor=actor,
            action="user.remove",
            subject=f"user:{username}",
            before=account_plain(account),
        )
    return account


_KEEP = object()  # change_user: leave the person as it is


def change_user(
    store: Store,
    username: str,
    *,
    grants: Sequence[Grant] | None = None,
    person_id: str | object | None = _KEEP,
    actor: str,
) -> tuple[Account, bool]:
    """Give a user new roles and/or another person (None: none), end every session and API
    token they have (what they may do changed: they log in again and make new tokens), and
    audit it. The account as it is now, and whether anything changed."""
    with store.transaction() as conn:
        found = _accounts(conn, t.users.c.username == username)
        if not found:
            raise unknown_user(conn, username)
        before = found[0]
        new_grants = tuple(grants) if grants is not None else before.grants
        person = before.person_id if person_id is _KEEP else cast("str | None", person_id)
        problems = _grant_problems(conn, new_grants, person)
        if problems:
            raise UsageError(f"cannot change user '{username}': {problems[0]}", problems)
        after = Account(before.id, before.username, before.name, person, new_grants)
        if after == before:
            return before, False
        conn.execute(update(t.users).where(t.users.c.id == before.id).values(person_id=person))
        conn.execute(delete(t.user_grants).where(t.user_grants.c.user_id == before.id))
        conn.execute(
            insert(t.user_grants),
            [
                {"user_id": before.id, "position": i, "role": g.role, "unit_id": g.unit_id}
                for i, g in enumerate(new_grants)
            ],
        )
        end_sessions_of(conn, before.id, tokens=True)
        audit.record(
            conn,
            actor=actor,
            action="user.change",
            subject=f"user:{username}",
            before=account_plain(before),
            after=account_plain(after),
        )
    return after, True


def set_password(store: Store, username: str, password: str, *, actor: str) -> Account:
    """Give a user a new password, end every session and API token they have, lift a lockout
    of their name after failed logins, and audit it (without the password)."""
    with store.transaction() as conn:
        found = _accounts(conn, t.users.c.username == username)
        if not found:
            raise unknown_user(conn, username)
        problems = _password_problems(password)
        if problems:
            raise UsageError(f"cannot set the password of '{username}': {problems[0]}", problems)
        account = found[0]
        conn.execute(
            update(t.users)
            .where(t.users.c.id == account.id)
            .values(password_hash=hasher.hash(password))
        )
        end_sessions_of(conn, account.id, tokens=True)
        login_throttle.forget_account(conn, username)
        audit.record(
            conn,
            actor=actor,
            action="user.password",
            subject=f"user:{username}",
            after={"password": "changed"},
        )
    return account


def authenticate(store: Store, username: str, password: str) -> Account | None:
    """The account when the password is right, else None (same work either way)."""
    username = login_throttle.normal_username(username)
    with store.reading() as conn:
        row = conn.execute(
            select(t.users.c.id, t.users.c.password_hash).where(t.users.c.username == username)
        ).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if hasher.check_needs_rehash(stored):  # parameters were raised since: store the new hash
        with store.transaction() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.id == row.id)
                .values(password_hash=hasher.hash(password))
            )
    return account_by_id(store, row.id)


def secret_hash(secret: str) -> str:
    """The SHA-256 of an API token or a session's secret, as the store keeps it.

    Both are 256 random bits: a fast hash is enough (nothing to brute-force), and it keeps
    every request cheap."""
    return hashlib.sha256(secret.encode()).hexdigest()


def end_sessions_of(conn: Connection, user_id: int, *, tokens: bool) -> None:
    """End every browser session of a user, and with `tokens` revoke their API tokens, inside
    the caller's transaction (so it commits with the change that calls for it)."""
    conn.execute(delete(t.web_sessions).where(t.web_sessions.c.user_id == user_id))
    if tokens:
        conn.execute(delete(t.api_tokens).where(t.api_tokens.c.user_id == user_id))


def create_token(store: Store, username: str, *, actor: str, label: str | None = None) -> str:
    """A new API token for a user: returned once, stored only as its hash."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as conn:
        found = _accounts(conn, t.users.c.username == username)
        if not found:
            raise unknown_user(conn, username)
        token_id = conn.execute(
            insert(t.api_tokens)
            .values(
                user_id=found[0].id, token_hash=secret_hash(token), label=label, created_at=_now()
            )
            .returning(t.api_tokens.c.id)
        ).scalar_one()
        audit.record(
            conn,
            actor=actor,
            action="token.add",
            subject=f"user:{username}",
            after={"token_id": token_id, "label": label},
        )
    return token


def list_tokens(store: Store, username: str | None = None) -> list[TokenInfo]:
    k, u = t.api_tokens, t.users
    query = (
        select(k.c.id, u.c.username, k.c.label, k.c.created_at)
        .join(u, u.c.id == k.c.user_id)
        .order_by(k.c.id)
    )
    if username is not None:
        query = query.where(u.c.username == username)
    with store.reading() as conn:
        return [TokenInfo(*row) for row in conn.execute(query)]


def revoke_token(store: Store, token_id: int, *, actor: str) -> TokenInfo:
    """Delete an API token by its id; audit it."""
    with store.transaction() as conn:
        k, u = t.api_tokens, t.users
        row = conn.execute(
            select(k.c.id, u.c.username, k.c.label, k.c.created_at)
            .join(u, u.c.id == k.c.user_id)
            .where(k.c.id == token_id)
        ).first()
        if row is None:
            reason = f"unknown token {token_id}"
            raise UsageError(reason, [Problem("token", 0, reason)])
        info = TokenInfo(*row)
        conn.execute(delete(k).where(k.c.id == token_id))
        audit.record(
            conn,
            actor=actor,
            action="token.remove",
            subject=f"user:{info.username}",
            before={"token_id": token_id, "label": info.label},
        )
    return info


def grants_text(grants: Iterable[Grant]) -> str:
    return ", ".join(str(g) for g in grants)
