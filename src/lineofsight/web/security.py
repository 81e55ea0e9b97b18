"""Who is asking: the session cookie and API tokens, CSRF tokens, and the FastAPI dependencies
that pages and API routes use to require a logged-in account.

The session cookie is signed (itsdangerous), HttpOnly, SameSite=Lax and holds a random nonce
and, once logged in, the secret of a session kept in the store (services.sessions). Every
request looks its session or token up in the store, so a logout, a removed user, a change of
roles or password, or a revoked token counts on the next request in every server process. The
CSRF token is an HMAC of the nonce, so it is bound to the session and changes at login and
logout. Requests with an API token (`Authorization: Bearer ...`) carry no ambient credential
and need no CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from lineofsight.services import sessions
from lineofsight.services.accounts import Account, Grant

SESSION_COOKIE = "los_session"
SESSION_MAX_AGE = int(sessions.SESSION_LIFETIME.total_seconds())
KNOWN_COOKIES = 4096  # signed cookies remembered per process (one per browser using it)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

__all__ = [
    "Account",
    "ApiAuthRequired",
    "CsrfFailed",
    "Grant",
    "LoginRequired",
    "api_account",
    "csrf_token",
    "current_account",
    "page_account",
    "request_time",
    "verify_csrf",
]


class LoginRequired(Exception):
    """A page needs a logged-in account: the app answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class ApiAuthRequired(Exception):
    """An API call without a valid session or token: 401 in the JSON error shape."""


class CsrfFailed(Exception):
    """A form or API write without the session's CSRF token: 403."""


class SessionSigner:
    """Signs and reads the session cookie's contents."""

    def __init__(self, secret_key: str) -> None:
        self.secret = secret_key.encode()
        self.serializer = URLSafeTimedSerializer(secret_key, salt="lineofsight-session")
        # Cookies whose signature was checked: their contents and when they were signed.
        self._known: dict[str, tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    def load(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        # A browser sends the same cookie with every request: its signature is checked once
        # (a third of a page's fixed cost), its age at each request.
        known = self._known.get(cookie)
        if known is not None and time.time() - known[1] <= SESSION_MAX_AGE:
            return dict(known[0])
        try:
            data, signed = self.serializer.loads(
                cookie, max_age=SESSION_MAX_AGE, return_timestamp=True
            )
        except BadSignature:
            return None
        if not (isinstance(data, dict) and isinstance(data.get("n"), str)):
            return None
        with self._lock:
            if len(self._known) >= KNOWN_COOKIES:
                self._known.pop(next(iter(self._known)))
            self._known[cookie] = (dict(data), signed.timestamp())
        return data

    def dump(self, data: dict[str, Any]) -> str:
        return self.serializer.dumps(data)

    def csrf_for(self, nonce: str) -> str:
        return hmac.new(self.secret, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def _signer(request: Request) -> SessionSigner:
    return request.app.state.signer  # type: ignore[no-any-return]


def _session(request: Request) -> dict[str, Any] | None:
    state = request.state
    if not hasattr(state, "session_data"):
        state.session_data = _signer(request).load(request.cookies.get(SESSION_COOKIE))
    return state.session_data  # type: ignore[no-any-return]


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_time(request: Request) -> dt.datetime:
    """Now, by the app's clock (`app.state.clock`, which tests replace)."""
    now: Clock = getattr(request.app.state, "clock", utc_now)
    return now()


def start_session(request: Request, response: Response, account: Account | None) -> None:
    """A new session (new nonce, so a new CSRF token) for `account`, or an anonymous one.

    The session this request came with ends in the store: a login replaces it (no fixation
    across the login) and a logout ends it in every server process."""
    old = _session(request)
    store = request.app.state.store
    if old and isinstance(old.get("s"), str):
        sessions.end_session(store, old["s"])
    data: dict[str, Any] = {"n": secrets.token_urlsafe(18)}
    if account is not None:
        data["s"] = sessions.start_session(store, account.id, request_time(request))
    request.state.session_data = data
    request.state.account = account
    request.state.set_session = None  # the response below carries the cookie already
    set_session_cookie(request, response, data)


def set_session_cookie(request: Request, response: Response, data: dict[str, Any]) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request).dump(data),
        max_age=SESSION_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session, starting an anonymous session when there is
    none (the cookie is added to the response by the app's session middleware)."""
    data = _session(request)
    if data is None:
        data = {"n": secrets.token_urlsafe(18)}
        request.state.session_data = data
        request.state.set_session = data
    return _signer(request).csrf_for(data["n"])


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_account(request: Request) -> Account | None:
    """The logged-in account (API token first, then session cookie), or None."""
    state = request.state
    if getattr(state, "account_known", False):
        return state.account  # type: ignore[no-any-return]
    store = request.app.state.store
    account: Account | None = None
    token = _bearer(request)
    if token is not None:
        account = sessions.account_for_token(store, token)
        state.by_token = account is not None
    else:
        data = _session(request)
        secret = data.get("s") if data else None
        if isinstance(secret, str):
            if request.method in ("GET", "HEAD"):
                # A page reads the store's revision too (pagekit.page_revision): one read for
                # both. A write reads it again after its changes.
                account, state.revision = sessions.session_and_revision(
                    store, secret, request_time(request)
                )
            else:
                account = sessions.account_for_session(store, secret, request_time(request))
    state.account = account
    state.account_known = True
    return account


def page_account(request: Request) -> Account:
    """The logged-in account for a page; LoginRequired (a redirect to /login) otherwise.

    A plain function, so FastAPI runs it in its thread pool: the session is looked up in the
    store, which must not hold up the event loop (and every other request) while it reads."""
    account = current_account(request)
    if account is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return account


def api_account(request: Request) -> Account:
    """The account for an API call; 401 in the JSON error shape otherwise (in the thread pool,
    as `page_account`)."""
    account = current_account(request)
    if account is None:
        raise ApiAuthRequired()
    return account


async def verify_csrf(request: Request) -> None:
    """Reject a write without this session's CSRF token (form field or X-CSRF-Token header).

    Requests authenticated by an API token are exempt: a browser never adds that header by
    itself, so another site cannot forge them.
    """
    if request.method in SAFE_METHODS:
        return
    if _bearer(request) is not None:
        return
    data = _session(request)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
    if data is None or not sent:
        raise CsrfFailed()
    if not hmac.compare_digest(sent, _signer(request).csrf_for(data["n"])):
        raise CsrfFailed()
