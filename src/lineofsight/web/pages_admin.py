"""The admin page: users, their roles and API tokens (what `los users` does), and the
organisation's approval setting for strategy edits.

Every change goes through `services.accounts` (one transaction with its audit row). An admin
of a unit sees and manages only the users whose roles and person lie in their units, the
rule the JSON API uses (`services.permissions.outside`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.errors import InputError, Problem
from lineofsight.services import accounts, edit_approval
from lineofsight.services.accounts import Account, Grant
from lineofsight.services.permissions import allows, outside, readable_units, user_units
from lineofsight.web.pagekit import (
    keep_period,
    page_snapshot,
    require,
    store_of,
    today,
    unit_tree,
)
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()


def is_admin(account: Account) -> bool:
    return any(g.role == "admin" for g in account.grants)


def _scope(request: Request) -> tuple[Any, Any]:
    snap = page_snapshot(request, today())
    return snap.org, unit_tree(snap)


def _manages(account: Account, grants: Any, person: str | None, request: Request) -> list[Any]:
    """The units (None: the whole organisation) of a user the admin may not manage."""
    org, tree = _scope(request)
    return outside(account, "manage_users", user_units(grants, person, org), tree)


def _where(units: list[str | None]) -> str:
    return ", ".join("the whole organisation" if u is None else f"unit '{u}'" for u in units)


def _page(
    request: Request,
    account: Account,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    new_token: str | None = None,
) -> HTMLResponse:
    store = store_of(request)
    org, tree = _scope(request)
    users = [
        u
        for u in accounts.list_users(store)
        if not outside(account, "manage_users", user_units(u.grants, u.person_id, org), tree)
    ]
    names = {u.username for u in users}
    tokens: dict[str, list[Any]] = {}
    for token in accounts.list_tokens(store):
        if token.username in names:
            tokens.setdefault(token.username, []).append(token)
    return render(
        request,
        "admin_users.html",
        status_code=status_code,
        users=users,
        tokens=tokens,
        errors=errors or {},
        form=form or {},
        notice=notice,
        new_token=new_token,
        roles=accounts.ROLES,
        grants_text=accounts.grants_text,
        whole=allows(account, "manage_users", unit_id=None, org=tree),
        approval=edit_approval.require_approval(store),
    )


# What a redirect back to the page says was done (by key, so that a link cannot make the
# page say anything else).
DONE = {
    "added": "Added user {}.",
    "changed": "Changed the roles of {}; their sessions and API tokens ended.",
    "unchanged": "Nothing changed for {}.",
    "password": "New password for {}; their sessions and API tokens ended.",
    "removed": "Removed user {}.",
    "revoked": "Revoked API token {}.",
    "approval-on": "Changes by editors now wait for approval.",
    "approval-off": "Changes by editors are now saved straight away.",
}


def _done(request: Request, key: str, who: str = "") -> RedirectResponse:
    path = keep_period(request, "/admin/users", done=key, who=who or None)
    return RedirectResponse(path, status_code=303)


@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(
    request: Request,
    done: str | None = None,
    who: str = "",
    account: Account = Depends(page_account),
) -> HTMLResponse:
    require(is_admin(account), "the users page (admins only)")
    shown = who if accounts.USERNAME.match(who) or who.isdigit() else ""
    notice = DONE[done].format(shown) if done in DONE else None
    if done == "added" and shown:
        # What the new user's roles and person do not let them do, said once, at once.
        added = accounts.find_user(store_of(request), shown)
        _, tree = _scope(request)
        visible = readable_units(account, tree)
        warnings = accounts.reach_warnings(store_of(request), added, visible) if added else []
        if notice and warnings:
            notice += " Warning: " + "; ".join(warnings) + "."
    return _page(request, account, notice=notice)


def _grants(text: str) -> tuple[list[Grant], list[Problem]]:
    """`editor:sales, viewer` as roles, and each part that is not one as a problem."""
    return accounts.parse_grants(part for part in text.split(",") if part.strip())


def _field_errors(exc: InputError, known: tuple[str, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for p in exc.problems:
        field = {"role": "roles"}.get(p.file, p.file)
        field = field if field in known else "form"
        errors[field] = f"{errors[field]}; {p.message}" if field in errors else p.message
    return errors or {"form": exc.summary}


@router.post(
    "/admin/users",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def add_user(
    request: Request,
    username: str = Form(""),
    name: str = Form(""),
    password: str = Form(""),
    roles: str = Form(""),
    person: str = Form(""),
    account: Account = Depends(page_account),
) -> Response:
    require(is_admin(account), "the users page (admins only)")
    form = {"username": username, "name": name, "roles": roles, "person": person}
    fields = ("username", "name", "password", "roles", "person")
    grants, problems = _grants(roles)
    try:
        refused = _manages(account, grants, person.strip() or None, request) if grants else []
        if refused:
            errors = {"roles": f"your role does not allow giving roles in {_where(refused)}"}
            return _page(request, account, status_code=403, errors=errors, form=form)
        accounts.add_user(
            store_of(request),
            username.strip(),
            password,
            grants,
            name=name.strip() or None,
            person_id=person.strip() or None,
            actor=account.username,
            problems=problems,
        )
    except InputError as exc:
        return _page(
            request, account, status_code=422, errors=_field_errors(exc, fields), form=form
        )
    return _done(request, "added", username.strip())


def _target(request: Request, account: Account, username: str) -> Account:
    require(is_admin(account), "the users page (admins only)")
    target = accounts.find_user(store_of(request), username)
    if target is None:
        raise HTTPException(status_code=404, detail=f"no user '{username}'")
    require(
        not _manages(account, target.grants, target.person_id, request),
        "this user (their roles reach beyond yours)",
    )
    return target


@router.post(
    "/admin/users/{username}/roles",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def change_roles(
    request: Request,
    username: str,
    roles: str = Form(""),
    person: str = Form(""),
    account: Account = Depends(page_account),
) -> Response:
    target = _target(request, account, username)
    key = f"roles-{target.username}"
    grants, problems = _grants(roles)
    try:
        refused = _manages(account, grants, person.strip() or None, request) if grants else []
        if refused:
            errors = {key: f"your role does not allow giving roles in {_where(refused)}"}
            return _page(request, account, status_code=403, errors=errors)
        _, changed = accounts.change_user(
            store_of(request),
            target.username,
            grants=grants,
            person_id=person.strip() or None,
            actor=account.username,
            problems=problems,
        )
    except InputError as exc:
        errors = {key: "; ".join(p.message for p in exc.problems) or exc.summary}
        return _page(request, account, status_code=422, errors=errors)
    return _done(request, "changed" if changed else "unchanged", target.username)


@router.post(
    "/admin/users/{username}/password",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def reset_password(
    request: Request,
    username: str,
    password: str = Form(""),
    account: Account = Depends(page_account),
) -> Response:
    target = _target(request, account, username)
    try:
        accounts.set_password(store_of(request), target.username, password, actor=account.username)
    except InputError as exc:
        errors = {f"password-{target.username}": "; ".join(p.message for p in exc.problems)}
        return _page(request, account, status_code=422, errors=errors)
    return _done(request, "password", target.username)


@router.post(
    "/admin/users/{username}/remove",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def remove_user(
    request: Request, username: str, account: Account = Depends(page_account)
) -> Response:
    target = _target(request, account, username)
    if target.id == account.id:
        errors = {f"remove-{target.username}": "you cannot remove yourself: ask another admin"}
        return _page(request, account, status_code=409, errors=errors)
    accounts.remove_user(store_of(request), target.username, actor=account.username)
    return _done(request, "removed", target.username)


@router.post(
    "/admin/users/{username}/tokens",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def make_token(
    request: Request,
    username: str,
    label: str = Form(""),
    account: Account = Depends(page_account),
) -> Response:
    target = _target(request, account, username)
    token = accounts.create_token(
        store_of(request),
        target.username,
        actor=account.username,
        label=label.strip()[:200] or None,
    )
    # Shown once, on this page only (never in a redirect's address or a log).
    notice = f"New API token for {target.username}: copy it now, it is not shown again."
    page = _page(request, account, status_code=201, notice=notice, new_token=token)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post(
    "/admin/tokens/{token_id}/revoke",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def revoke_token(
    request: Request, token_id: int, account: Account = Depends(page_account)
) -> Response:
    require(is_admin(account), "the users page (admins only)")
    store = store_of(request)
    found = next((t for t in accounts.list_tokens(store) if t.id == token_id), None)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no token {token_id}")
    _target(request, account, found.username)
    accounts.revoke_token(store, token_id, actor=account.username)
    return _done(request, "revoked", str(token_id))


@router.post(
    "/admin/approval",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def approval_setting(
    request: Request, require_approval: str = Form(""), account: Account = Depends(page_account)
) -> Response:
    _, tree = _scope(request)
    require(
        allows(account, "manage_users", unit_id=None, org=tree),
        "the approval setting (admins of the whole organisation only)",
    )
    on = require_approval == "on"
    edit_approval.set_require_approval(store_of(request), on, actor=account.username)
    return _done(request, "approval-on" if on else "approval-off")
