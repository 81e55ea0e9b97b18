"""Accounts of the web app: users with argon2-hashed passwords, roles on unit subtrees, API
tokens (kept only as hashes), each change written to the audit log in the same transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Collection, Iterable, Sequence
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Defined in the domain (the store reads and writes them); used by name from here.
from lineofsight.domain.accounts import Account as Account
from lineofsight.domain.accounts import Grant as Grant
from lineofsight.domain.accounts import TokenInfo as TokenInfo
from lineofsight.domain.text import did_you_mean
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit, login_throttle
from lineofsight.store import accounts as stored
from lineofsight.store.database import Store, StoreConnection

ROLES = ("admin", "editor", "owner", "viewer")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "los_"

# argon2id with the library's defaults (RFC 9106 low-memory profile). Tests swap in a cheaper
# hasher; stored hashes carry their own parameters, so either verifies the other's.
hasher = PasswordHasher()
# Verified against when the username is unknown, so that a login takes as long either way.
_DUMMY_HASH = hasher.hash("not a password of anyone")


def _unknown_role(text: str, role: str) -> str:
    return f"{text!r}: unknown role '{role}': use one of {', '.join(ROLES)}"


def _read_grant(text: str) -> Grant | str:
    """`ROLE` (whole organisation) or `ROLE:UNIT` as written, a role that is not one
    included (`_grant_problems` says so, with its unit when that is not one either); or
    what is wrong with the text."""
    role, colon, unit = text.strip().partition(":")
    role = role.strip().lower()
    unit = unit.strip()
    if colon and not unit:
        wrong = f"{_unknown_role(text, role)}; " if role not in ROLES else f"{text!r}: "
        return f"{wrong}give a unit after the colon, or no colon"
    return Grant(role, unit or None)


def parse_grant(text: str) -> Grant:
    """`ROLE` (whole organisation) or `ROLE:UNIT`; UsageError naming the mistake."""
    found = _read_grant(text)
    if isinstance(found, Grant) and found.role not in ROLES:
        found = _unknown_role(text, found.role)
    if isinstance(found, str):
        raise UsageError(f"--role {found}")
    return found


def parse_grants(texts: Iterable[str]) -> tuple[list[Grant], list[Problem]]:
    """Each text as a role (see `_read_grant`: one whose role is not one is kept, for
    `add_user` to say so with its unit), and each one that cannot be read as a problem of
    the field `role`: every one, for `add_user` to list with the request's other problems."""
    grants: list[Grant] = []
    problems: list[Problem] = []
    for text in texts:
        found = _read_grant(text)
        if isinstance(found, str):
            problems.append(Problem("role", 0, found))
        else:
            grants.append(found)
    return grants, problems


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
    conn: StoreConnection,
    username: str,
    password: str,
    grants: Sequence[Grant],
    person_id: str | None,
    found: Sequence[Problem],
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
    elif (taken := stored.username_taken(conn, username)) is not None:
        alike = "" if taken == username else ": names that differ only in case are one name"
        problems.append(Problem("username", 0, f"a user named '{taken}' already exists{alike}"))
    problems += _password_problems(password)
    problems += found
    problems += _grant_problems(conn, grants, person_id, roles_given=bool(found))
    if problems:
        raise UsageError(f"cannot add user '{username}': {_said(problems)}", problems)


def _said(problems: Sequence[Problem]) -> str:
    """A request's problems in its headline: the one problem, or how many (listed below it,
    each once)."""
    return str(problems[0]) if len(problems) == 1 else f"{len(problems)} problems"


def _password_problems(password: str) -> list[Problem]:
    if len(password) < MIN_PASSWORD:
        return [Problem("password", 0, f"is shorter than {MIN_PASSWORD} characters")]
    return []


def _grant_problems(
    conn: StoreConnection,
    grants: Sequence[Grant],
    person_id: str | None,
    *,
    roles_given: bool = False,
) -> list[Problem]:
    """What is wrong with these roles for a user who is `person_id` (`roles_given`: roles
    were given that are not listed here, each already a problem)."""
    problems: list[Problem] = []
    if not grants and not roles_given:
        problems.append(Problem("role", 0, "give at least one role (admin, editor, owner, viewer)"))
    units = stored.unit_ids(conn)
    for grant in grants:
        if grant.role not in ROLES:
            problems.append(Problem("role", 0, _unknown_role(str(grant), grant.role)))
        if grant.unit_id is not None and grant.unit_id not in units:
            problems.append(Problem("role", 0, f"unknown unit '{grant.unit_id}' in '{grant}'"))
    if person_id is not None and not stored.person_exists(conn, person_id):
        problems.append(Problem("person", 0, f"unknown person '{person_id}'"))
    if any(g.role == "owner" for g in grants) and person_id is None:
        problems.append(
            Problem(
                "person",
                0,
                "an owner must be linked to a person: the KPIs they may enter data for "
                "are those the person owns",
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
    problems: Sequence[Problem] = (),
) -> Account:
    """Create a user (password hashed with argon2) with its roles, and audit it.

    UsageError listing every problem at once, `problems` among them: those already found
    in the request (the roles' text `parse_grants` did not read)."""
    with store.transaction() as conn:
        _check_new_user(conn, username, password, grants, person_id, problems)
        user_id = stored.insert_user(
            conn,
            username=username,
            name=name or username,
            person_id=person_id,
            password_hash=hasher.hash(password),
            created_at=_now(),
        )
        stored.set_grants(conn, user_id, grants)
        account = Account(user_id, username, name or username, person_id, tuple(grants))
        audit.record(
            conn,
            actor=actor,
            action="user.add",
            subject=f"user:{username}",
            after=account_plain(account),
        )
    return account


def reach_warnings(
    store: Store, account: Account, visible: Collection[str] | None = None
) -> list[str]:
    """What a user linked to a person cannot do that the link suggests, said when it is
    added: an owner role whose units hold none, or not all, of the KPIs the person owns (the
    user could not see or enter them: their home page would say nothing needs them), and
    other users linked to the same person. `visible`: the units the reader may see (None:
    all); a KPI elsewhere is counted, not named."""
    from lineofsight.services.permissions import UnitTree, allows

    person = account.person_id
    if person is None:
        return []
    with store.reading() as conn:
        parents, owned, others = stored.person_reach(conn, person, account.username)
    warnings: list[str] = []
    if any(g.role == "owner" for g in account.grants) and owned:
        tree = UnitTree(parents)
        outside = [
            (kpi, unit)
            for kpi, unit in owned
            if not allows(account, "enter_data", unit_id=unit, kpi_owner=person, org=tree)
        ]
        if outside:
            named = [(k, u) for k, u in outside if visible is None or u in visible]
            shown = ", ".join(f"{kpi} at {unit}" for kpi, unit in named[:3])
            rest = len(outside) - min(len(named), 3)
            more = (f" and {rest} more" if shown else f"{rest} elsewhere") if rest else ""
            of = "all" if len(outside) == len(owned) else f"{len(outside)} of {len(owned)}"
            kpis = "KPI" if len(owned) == 1 else "KPIs"
            warnings.append(
                f"person {person} owns {len(owned)} {kpis}, {of} outside the roles "
                f"{grants_text(account.grants)} ({shown}{more}): this user cannot see or enter "
                f"{'it' if len(outside) == 1 else 'them'}; give a role on "
                f"{'its unit' if len(outside) == 1 else 'their units'} or link another person"
            )
    if others:
        names = ", ".join(others)
        warnings.append(f"person {person} is linked to user {names} too")
    return warnings


def list_users(store: Store) -> list[Account]:
    with store.reading() as conn:
        return stored.read_accounts(conn)


def find_user(store: Store, username: str) -> Account | None:
    with store.reading() as conn:
        found = stored.read_accounts(conn, username=username)
    return found[0] if found else None


def require_user(store: Store, username: str) -> Account:
    """The account of this name, or a UsageError naming the closest name if there is none."""
    with store.reading() as conn:
        found = stored.read_accounts(conn, username=username)
        if not found:
            raise unknown_user(conn, username)
    return found[0]


def account_by_id(store: Store, user_id: int) -> Account | None:
    with store.reading() as conn:
        found = stored.read_accounts(conn, user_id=user_id)
    return found[0] if found else None


def unknown_user(conn: StoreConnection, username: str) -> UsageError:
    """The error for a name no account has, with the closest name that one has, if any."""
    reason = f"unknown user '{username}'"
    names = stored.usernames(conn)
    return UsageError(reason + did_you_mean(username, names), [Problem("username", 0, reason)])


def remove_user(store: Store, username: str, *, actor: str) -> Account:
    """Delete a user, its roles, sessions and tokens; audit it."""
    with store.transaction() as conn:
        found = stored.read_accounts(conn, username=username)
        if not found:
            raise unknown_user(conn, username)
        account = found[0]
        stored.delete_user(conn, account.id)
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
    problems: Sequence[Problem] = (),
) -> tuple[Account, bool]:
    """Give a user new roles and/or another person (None: none), end every session and API
    token they have (what they may do changed: they log in again and make new tokens), and
    audit it. The account as it is now, and whether anything changed. `problems`: those
    already found in the request (see `add_user`), listed with the others."""
    with store.transaction() as conn:
        found = stored.read_accounts(conn, username=username)
        if not found:
            raise unknown_user(conn, username)
        before = found[0]
        new_grants = tuple(grants) if grants is not None else before.grants
        person = before.person_id if person_id is _KEEP else cast("str | None", person_id)
        wrong = [*problems, *_grant_problems(conn, new_grants, person, roles_given=bool(problems))]
        if wrong:
            raise UsageError(f"cannot change user '{username}': {_said(wrong)}", wrong)
        after = Account(before.id, before.username, before.name, person, new_grants)
        if after == before:
            return before, False
        stored.set_person(conn, before.id, person)
        stored.set_grants(conn, before.id, new_grants)
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
        found = stored.read_accounts(conn, username=username)
        if not found:
            raise unknown_user(conn, username)
        problems = _password_problems(password)
        if problems:
            raise UsageError(f"cannot set the password of '{username}': {problems[0]}", problems)
        account = found[0]
        stored.set_password_hash(conn, account.id, hasher.hash(password))
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
        found = stored.password_hash_of(conn, username)
    password_hash = found[1] if found is not None else _DUMMY_HASH
    try:
        hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if found is None:
        return None
    user_id = found[0]
    if hasher.check_needs_rehash(password_hash):  # parameters were raised since: store anew
        with store.transaction() as conn:
            stored.set_password_hash(conn, user_id, hasher.hash(password))
    return account_by_id(store, user_id)


def secret_hash(secret: str) -> str:
    """The SHA-256 of an API token or a session's secret, as the store keeps it.

    Both are 256 random bits: a fast hash is enough (nothing to brute-force), and it keeps
    every request cheap."""
    return hashlib.sha256(secret.encode()).hexdigest()


def end_sessions_of(conn: StoreConnection, user_id: int, *, tokens: bool) -> None:
    """End every browser session of a user, and with `tokens` revoke their API tokens, inside
    the caller's transaction (so it commits with the change that calls for it)."""
    stored.delete_sessions_of(conn, user_id, tokens=tokens)


def create_token(store: Store, username: str, *, actor: str, label: str | None = None) -> str:
    """A new API token for a user: returned once, stored only as its hash."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as conn:
        found = stored.read_accounts(conn, username=username)
        if not found:
            raise unknown_user(conn, username)
        token_id = stored.insert_token(conn, found[0].id, secret_hash(token), label, _now())
        audit.record(
            conn,
            actor=actor,
            action="token.add",
            subject=f"user:{username}",
            after={"token_id": token_id, "label": label},
        )
    return token


def list_tokens(store: Store, username: str | None = None) -> list[TokenInfo]:
    with store.reading() as conn:
        return stored.read_tokens(conn, username=username)


def revoke_token(store: Store, token_id: int, *, actor: str) -> TokenInfo:
    """Delete an API token by its id; audit it."""
    with store.transaction() as conn:
        found = stored.read_tokens(conn, token_id=token_id)
        if not found:
            reason = f"unknown token {token_id} (revoked already, or never made)"
            raise UsageError(reason, [Problem("token", 0, reason)])
        info = found[0]
        stored.delete_token(conn, token_id)
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
