"""The audit log as a page (paged, filtered by who, kind of action and subject), and the
page where a person changes their own password.

    /admin/audit        organisation-wide admins: every write of the web app and `los users`
    /account/password   anyone logged in: their own password (the current one first)
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.errors import InputError
from lineofsight.services import accounts, audit
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import allows
from lineofsight.web.pagekit import keep_period, page_snapshot, require, store_of, today, unit_tree
from lineofsight.web.security import page_account, start_session, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()

PAGE = 50


def _shown(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:299] + "…"


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    q: str = "",
    page: int = 1,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    tree = unit_tree(page_snapshot(request, today()))
    require(
        allows(account, "manage_users", unit_id=None, org=tree),
        "the audit log (admins of the whole organisation only)",
    )
    page = max(1, min(page, 10_000))
    actor, action, q = actor.strip()[:200], action.strip()[:64], q.strip()[:200]
    store = store_of(request)
    entries = audit.read_audit(
        store,
        limit=PAGE + 1,
        offset=(page - 1) * PAGE,
        actor=actor or None,
        action=action or None,
        text=q or None,
    )
    filters = {k: v for k, v in (("actor", actor), ("action", action), ("q", q)) if v}
    return render(
        request,
        "audit.html",
        entries=[
            {
                "id": e.id,
                "at": e.at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "before": _shown(e.before),
                "after": _shown(e.after),
            }
            for e in entries[:PAGE]
        ],
        actions=audit.audit_actions(store),
        filters={"actor": actor, "action": action, "q": q},
        page=page,
        newer=keep_period(request, "/admin/audit", **filters, page=page - 1) if page > 1 else None,
        older=(
            keep_period(request, "/admin/audit", **filters, page=page + 1)
            if len(entries) > PAGE
            else None
        ),
    )


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_form(
    request: Request, changed: bool = False, account: Account = Depends(page_account)
) -> HTMLResponse:
    return render(request, "password.html", errors={}, changed=changed)


@router.post(
    "/account/password",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def change_password(
    request: Request,
    current: str = Form(""),
    new: str = Form(""),
    repeat: str = Form(""),
    account: Account = Depends(page_account),
) -> Response:
    store = store_of(request)
    errors: dict[str, str] = {}
    if accounts.authenticate(store, account.username, current) is None:
        errors["current"] = "this is not your current password"
    if len(new) < accounts.MIN_PASSWORD:
        errors["new"] = f"is shorter than {accounts.MIN_PASSWORD} characters"
    elif new == current:
        errors["new"] = "is your current password: choose another"
    if new != repeat:
        errors["repeat"] = "is not the same as the new password"
    if not errors:
        try:
            accounts.set_password(store, account.username, new, actor=account.username)
        except InputError as exc:
            errors["new"] = "; ".join(p.message for p in exc.problems) or exc.summary
    if errors:
        return render(request, "password.html", status_code=422, errors=errors, changed=False)
    # Every session of the user ended with the change; this browser carries on in a new one.
    path = keep_period(request, "/account/password", changed="true")
    response = RedirectResponse(path, status_code=303)
    start_session(request, response, account)
    return response
