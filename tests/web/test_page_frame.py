"""The parts every page shares that are kept between requests: the top bar (drawn once per
account and period), the session cookie (its signature checked once), the store's revision
read with the session. What is kept must never show one session another's token, outlive a
change of roles, or keep a cookie alive past its age."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.web import security
from lineofsight.web.security import SESSION_MAX_AGE, SessionSigner
from tests.web.conftest import log_in

LOGOUT_TOKEN = re.compile(
    r'<form method="post" action="/logout" class="inline">\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">'
)


def _user(store: Any, role: str) -> str:
    name = f"f{uuid.uuid4().hex[:10]}"
    accounts.add_user(store, name, "a long enough password", [Grant(role)], actor="tests")
    return name


def _browser(app: Any, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    answer = log_in(client, name, "a long enough password")
    assert answer.status_code == 303, answer.text
    return client


def _logout_token(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    found = LOGOUT_TOKEN.search(page.text)
    assert found, page.text[:2000]
    return found.group(1)


def test_two_sessions_of_one_account_each_get_their_own_log_out_token(web_app: Any) -> None:
    name = _user(web_app.state.store, "viewer")
    first, second = _browser(web_app, name), _browser(web_app, name)
    mine, theirs = _logout_token(first), _logout_token(second)
    assert mine != theirs
    # The same account and period on another page: the kept bar, with this session's token.
    assert _logout_token(first, "/map") == mine
    assert first.post("/logout", data={"csrf_token": theirs}).status_code == 403
    assert first.post("/logout", data={"csrf_token": mine}).status_code == 303
    assert first.get("/").status_code == 303  # logged out: back to the log-in page
    assert second.get("/").status_code == 200


def test_the_menu_follows_a_change_of_roles_and_the_period(web_app: Any) -> None:
    store = web_app.state.store
    name = _user(store, "editor")
    page = _browser(web_app, name).get("/").text
    assert 'href="/edit"' in page and 'href="/admin/users"' not in page
    # A change of roles ends the session; the same account logged in again has the new menu.
    assert accounts.change_user(store, name, grants=[Grant("admin")], actor="tests")[1]
    page = _browser(web_app, name).get("/").text
    assert 'href="/edit"' in page and 'href="/admin/users"' in page
    assert accounts.change_user(store, name, grants=[Grant("viewer")], actor="tests")[1]
    browser = _browser(web_app, name)
    page = browser.get("/").text
    assert 'href="/edit"' not in page and 'href="/admin/users"' not in page
    # The bar's links keep the chosen period, and the plain ones come back without it.
    page = browser.get("/map?period=2026-03").text
    assert 'href="/library?period=2026-03"' in page
    assert 'href="/library"' in browser.get("/map").text


def test_a_checked_cookie_still_ends_at_its_age_and_a_changed_one_is_refused(
    monkeypatch: Any,
) -> None:
    signer = SessionSigner("a key")
    cookie = signer.dump({"n": "nonce", "s": "secret"})
    assert signer.load(cookie) == {"n": "nonce", "s": "secret"}
    # What a caller does with the contents it got does not change the next read.
    read = signer.load(cookie)
    assert read is not None
    read["s"] = "another"
    assert signer.load(cookie) == {"n": "nonce", "s": "secret"}
    assert signer.load(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    assert SessionSigner("another key").load(cookie) is None
    now = security.time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + SESSION_MAX_AGE + 5)
    assert signer.load(cookie) is None
