"""Logging in and out of the web app (a form; the JSON API uses tokens instead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from lineofsight.services.accounts import authenticate
from lineofsight.web.security import start_session, verify_csrf

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
    account = authenticate(request.app.state.store, username.strip(), password)
    if account is None:
        return _render(
            request,
            401,
            next=safe_next(next),
            username=username,
            error="Unknown username or wrong password.",
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(request, response, account)  # a new session: no fixation across the login
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    start_session(request, response, None)
    return response
