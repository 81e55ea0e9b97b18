"""Notifications in the browser: unsubscribing from a link, one's own settings, what was sent.

/unsubscribe/{token}            confirmation (GET), unsubscribe (POST); no login: the signed
                                token is the proof (a mail client's one-click POST works too)
/notifications/settings         the signed-in person's choices (GET, POST)
/notifications/sent             what was sent, to whom, when, what failed and why (admins)
/notifications/sent/{id}/resend send a failed message again, or one that may have been sent
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.domain.notifications import WEEKDAYS, PersonPreferences
from lineofsight.errors import UsageError
from lineofsight.services import notify_admin, unsubscribe
from lineofsight.services.accounts import Account
from lineofsight.services.notify_settings import person_preferences, set_person_preferences
from lineofsight.services.permissions import UnitTree, allows
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


def _request_of(request: Request, token: str) -> unsubscribe.Unsubscribe:
    key = getattr(request.app.state, "secret_key", None)
    found = unsubscribe.read_token(key, token) if key else None
    if found is None:
        raise HTTPException(status_code=404, detail="this unsubscribe link is not valid")
    return found


def _what(found: unsubscribe.Unsubscribe) -> str:
    return "the weekly digest" if found.what == "digest" else "all emails"


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    found = _request_of(request, token)
    return render(request, "unsubscribe.html", token=token, what=_what(found), done=False)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_submit(request: Request, token: str) -> HTMLResponse:
    # No CSRF token: the signed token in the address is the proof, and a mail client's
    # one-click unsubscribe (RFC 8058) posts without any session.
    found = _request_of(request, token)
    unsubscribe.unsubscribe(store_of(request), found)
    return render(request, "unsubscribe.html", token=token, what=_what(found), done=True)


def _person_of(account: Account) -> str:
    require(
        account.person_id is not None,
        "notification settings (your account is not linked to a person)",
    )
    assert account.person_id is not None
    return account.person_id


@router.get("/notifications/settings", response_class=HTMLResponse, include_in_schema=False)
def settings_page(request: Request, account: Account = Depends(page_account)) -> HTMLResponse:
    person = _person_of(account)
    prefs = person_preferences(store_of(request), person)
    return render(
        request, "notify_settings.html", prefs=prefs, weekdays=WEEKDAYS, saved=False, error=None
    )


@router.post(
    "/notifications/settings",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def settings_submit(
    request: Request,
    email: Annotated[str, Form()] = "",
    webhook: Annotated[str, Form()] = "",
    digest: Annotated[str, Form()] = "",
    digest_day: Annotated[str, Form()] = "",
    account: Account = Depends(page_account),
) -> HTMLResponse:
    person = _person_of(account)
    day = digest_day.strip().lower() or None
    prefs = PersonPreferences(
        email=bool(email), webhook=bool(webhook), digest=bool(digest), digest_day=day
    )
    if day is not None and day not in WEEKDAYS:
        return render(
            request,
            "notify_settings.html",
            status_code=422,
            prefs=dataclasses.replace(prefs, digest_day=None),
            weekdays=WEEKDAYS,
            saved=False,
            error=f"digest day: {day!r} is not a weekday",
        )
    set_person_preferences(store_of(request), person, prefs, changed_by=account.username)
    return render(
        request, "notify_settings.html", prefs=prefs, weekdays=WEEKDAYS, saved=True, error=None
    )


def _require_admin(request: Request, account: Account) -> None:
    try:
        tree = unit_tree(page_snapshot(request, today()))
    except UsageError:  # no strategy applied yet: an organisation-wide grant still counts
        tree = UnitTree({})
    require(
        allows(account, "manage_users", unit_id=None, org=tree),
        "the sent notifications (administrators of the whole organisation)",
    )


@router.get("/notifications/sent", response_class=HTMLResponse, include_in_schema=False)
def sent_page(
    request: Request, state: str = "", account: Account = Depends(page_account)
) -> HTMLResponse:
    _require_admin(request, account)
    now = dt.datetime.now(dt.UTC)
    try:
        wanted = notify_admin.check_state(state)
    except UsageError as exc:
        raise HTTPException(status_code=422, detail=exc.summary) from None
    rows = notify_admin.outbox(store_of(request), now, state=wanted)
    counts = notify_admin.counts(store_of(request), now)
    return render(request, "notify_sent.html", rows=rows, counts=counts, state=wanted or "")


@router.post(
    "/notifications/sent/{row_id}/resend",
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def resend(request: Request, row_id: int, account: Account = Depends(page_account)) -> Response:
    _require_admin(request, account)
    outcome, shown = notify_admin.resend(
        store_of(request), row_id, dt.datetime.now(dt.UTC), actor=account.username
    )
    if outcome is notify_admin.Resend.UNKNOWN:
        raise HTTPException(status_code=404, detail=f"no notification {row_id}")
    if outcome is notify_admin.Resend.NOT_NOW:
        raise HTTPException(
            status_code=409,
            detail=f"notification {row_id} is {shown!r}: only a failed message, or one that "
            "may have been sent, can be sent again",
        )
    return RedirectResponse(keep_period(request, "/notifications/sent"), status_code=303)
