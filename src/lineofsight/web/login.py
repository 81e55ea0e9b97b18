"""Logging in and out of the web app (a form; the JSON API uses tokens instead).

Failed logins are counted per account name and per client address (services.login_throttle);
past a few, the form answers 429 with `Retry-After` and checks no password until then.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from lineofsight.services import login_throttle
from lineofsight.services.accounts import authenticate
from lineofsight.web.security import request_time, start_session, verify_csrf

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _render(request: Request, status: int, **context: object) -> Response:
    from lineofsight.web.templating import render

    return render(request, "login.html", status_code=status, **context)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _render(request, 200, next=safe_next(next), error=None, username="")


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    store = request.app.state.store
    name = login_throttle.normal_username(username)
    address = request.client.host if request.client else ""
    now = request_time(request)
    wait = login_throttle.locked_for(store, name, address, now)
    if not wait:
        account = authenticate(store, name, password)
        if account is not None:
            login_throttle.record_success(store, name)
            response = RedirectResponse(safe_next(next), status_code=303)
            start_session(request, response, account)  # a new session: no fixation
            return response
        wait = login_throttle.record_failure(store, name, address, now)
    if not wait:
        error = "Unknown username or wrong password."
        return _render(request, 401, next=safe_next(next), username=username, error=error)
    # Every refusal says when to come back, in the page and in the header (at least 1 s).
    wait = max(1, wait)
    error = (
        "Too many failed logins for this username or from this address: "
        f"try again in {_duration(wait)}."
    )
    page = _render(request, 429, next=safe_next(next), username=username, error=error)
    page.headers["Retry-After"] = str(wait)
    return page


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    start_session(request, response, None)
    return response
