"""Who is asking: the session cookie and API tokens, CSRF tokens, and the FastAPI dependencies
that pages and API routes use to require a logged-in account.

The session cookie is signed (itsdangerous), HttpOnly, SameSite=Lax and holds only a random
nonce and, once logged in, the user id. The CSRF token is an HMAC of the nonce, so it is bound
to the session and changes at login and logout. Requests with an API token
(`Authorization: Bearer ...`) carry no ambient credential and need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from lineofsight.services.accounts import Account, Grant, account_by_id, account_for_token

SESSION_COOKIE = "los_session"
SESSION_MAX_AGE = 12 * 3600  # a working day; then log in again
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

    def load(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("n"), str) else None

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


def start_session(request: Request, response: Response, account: Account | None) -> None:
    """A new session (new nonce, so a new CSRF token) for `account`, or an anonymous one."""
    data: dict[str, Any] = {"n": secrets.token_urlsafe(18)}
    if account is not None:
        data["uid"] = account.id
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


class AccountCache:
    """Accounts by session user id or token hash, kept for a few seconds.

    Every request names its account; looking it up costs a few queries, which under load
    are a good part of a cached page's time. A removed user or revoked token stops working
    within `TTL` seconds (at once when removed through this server, which clears the cache).
    """

    TTL = 3.0

    def __init__(self) -> None:
        self._entries: dict[tuple[str, object], tuple[float, Account | None]] = {}

    def get(self, key: tuple[str, object], load: Callable[[], Account | None]) -> Account | None:
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            return found[1]
        account = load()
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + self.TTL, account)
        return account

    def clear(self) -> None:
        self._entries.clear()


def current_account(request: Request) -> Account | None:
    """The logged-in account (API token first, then session cookie), or None."""
    state = request.state
    if getattr(state, "account_known", False):
        return state.account  # type: ignore[no-any-return]
    store = request.app.state.store
    cache: AccountCache = request.app.state.accounts
    account: Account | None = None
    token = _bearer(request)
    if token is not None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        account = cache.get(("token", digest), lambda: account_for_token(store, token))
        state.by_token = account is not None
    else:
        data = _session(request)
        uid = data.get("uid") if data else None
        if isinstance(uid, int):
            account = cache.get(("uid", uid), lambda: account_by_id(store, uid))
    state.account = account
    state.account_known = True
    return account


async def page_account(request: Request) -> Account:
    """The logged-in account for a page; LoginRequired (a redirect to /login) otherwise."""
    account = current_account(request)
    if account is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return account


async def api_account(request: Request) -> Account:
    """The account for an API call; 401 in the JSON error shape otherwise."""
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
