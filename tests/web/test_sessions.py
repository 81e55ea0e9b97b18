"""Sessions and API tokens end when they should, on the next request, in every server process.

Two app objects over one store stand for two server processes (`los serve --workers 2`): a
change made through one, or by the command line, must hold in the other at once. Each test
makes its own users, so that removing or changing them leaves the module's store to others.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts, sessions
from lineofsight.services.accounts import Grant
from lineofsight.web.app import create_app
from tests.web.conftest import PASSWORD, csrf_of, log_in

SECRET = "one key for every process"


class Clock:
    """The apps' clock, moved by the tests (no test waits for real time to pass)."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Processes:
    """Two apps (server processes) over one store, on one clock."""

    first: Any
    second: Any
    clock: Clock

    @property
    def store(self) -> Any:
        return self.first.state.store

    def client(self, app: Any) -> TestClient:
        return TestClient(app, follow_redirects=False)


@pytest.fixture(scope="module")
def processes(web_url: str) -> Iterator[Processes]:
    clock = Clock()
    first = create_app(web_url, secret_key=SECRET)
    second = create_app(web_url, secret_key=SECRET)
    first.state.clock = second.state.clock = clock
    yield Processes(first, second, clock)
    first.state.store.close()
    second.state.store.close()


def new_user(store: Any, role: str = "viewer", **kw: Any) -> str:
    name = f"u{uuid.uuid4().hex[:10]}"
    accounts.add_user(store, name, PASSWORD, [Grant(role)], actor="tests", **kw)
    return name


def logged_in(app: Any, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    answer = log_in(client, username)
    assert answer.status_code == 303, answer.text
    return client


def copy_of(client: TestClient, app: Any) -> TestClient:
    """The same browser session (its cookie) against another server process."""
    other = TestClient(app, follow_redirects=False)
    other.cookies.set("los_session", client.cookies["los_session"])
    return other


def is_logged_in(client: TestClient) -> bool:
    page = client.get("/")
    api = client.get("/api/v1/people/alice")
    assert page.status_code in (200, 303) and api.status_code in (200, 401, 403), api.text
    return page.status_code == 200 and api.status_code != 401


def test_a_removed_users_cookie_never_opens_a_newer_account(processes: Processes) -> None:
    store = processes.store
    old = new_user(store)
    old_id = accounts.find_user(store, old).id  # type: ignore[union-attr]
    browser = logged_in(processes.first, old)
    assert is_logged_in(browser)
    accounts.remove_user(store, old, actor="tests")
    newer = new_user(store, "admin")
    # SQLite gave a new row the highest id again after a delete: never now.
    assert accounts.find_user(store, newer).id > old_id  # type: ignore[union-attr]
    for app in (processes.first, processes.second):
        again = copy_of(browser, app)
        assert not is_logged_in(again)
        assert again.get("/api/v1/users").status_code == 401


def test_user_and_token_ids_are_never_reused(processes: Processes) -> None:
    store = processes.store
    name = new_user(store)
    accounts.create_token(store, name, actor="tests")
    token_id = accounts.list_tokens(store, name)[-1].id
    user_id = accounts.find_user(store, name).id  # type: ignore[union-attr]
    accounts.remove_user(store, name, actor="tests")  # the newest user and token both go
    again = new_user(store)
    accounts.create_token(store, again, actor="tests")
    assert accounts.find_user(store, again).id > user_id  # type: ignore[union-attr]
    assert accounts.list_tokens(store, again)[-1].id > token_id


def _remove(p: Processes, name: str) -> None:
    admin = logged_in(p.second, "admin")
    answer = admin.delete(f"/api/v1/users/{name}", headers={"x-csrf-token": csrf_of(admin)})
    assert answer.status_code == 200, answer.text


def _change_roles(p: Processes, name: str) -> None:
    assert accounts.change_user(p.store, name, grants=[Grant("editor")], actor="tests")[1]


def _change_person(p: Processes, name: str) -> None:
    assert accounts.change_user(p.store, name, person_id="bob", actor="tests")[1]


def _change_password(p: Processes, name: str) -> None:
    accounts.set_password(p.store, name, "a brand new password", actor="tests")


ENDINGS: dict[str, Callable[[Processes, str], None]] = {
    "removing the user (API, other process)": _remove,
    "changing their roles": _change_roles,
    "changing their person": _change_person,
    "changing their password": _change_password,
}


@pytest.mark.parametrize("ending", ENDINGS, ids=list(ENDINGS))
def test_sessions_and_tokens_end_on_the_next_request_in_every_process(
    processes: Processes, ending: str
) -> None:
    name = new_user(processes.store)
    token = accounts.create_token(processes.store, name, actor="tests")
    browser = logged_in(processes.first, name)
    elsewhere = copy_of(browser, processes.second)
    bearer = {"Authorization": f"Bearer {token}"}
    api = processes.client(processes.first)
    # Both processes have served this session and token: nothing they keep may outlive it.
    assert is_logged_in(browser) and is_logged_in(elsewhere)
    assert api.get("/api/v1/status", headers=bearer).status_code == 200
    ENDINGS[ending](processes, name)
    assert not is_logged_in(browser)
    assert not is_logged_in(elsewhere)
    assert api.get("/api/v1/status", headers=bearer).status_code == 401


def test_logging_out_ends_the_session_in_every_process(processes: Processes) -> None:
    name = new_user(processes.store)
    browser = logged_in(processes.first, name)
    stolen = copy_of(browser, processes.first)  # a copy of the cookie, taken before
    elsewhere = copy_of(browser, processes.second)
    assert is_logged_in(stolen) and is_logged_in(elsewhere)
    answer = browser.post("/logout", data={"csrf_token": csrf_of(browser)})
    assert answer.status_code == 303
    assert not is_logged_in(browser)
    assert not is_logged_in(stolen)
    assert not is_logged_in(elsewhere)


def test_logging_in_again_replaces_the_old_session(processes: Processes) -> None:
    name = new_user(processes.store)
    browser = logged_in(processes.first, name)
    before = copy_of(browser, processes.first)
    assert log_in(browser, name).status_code == 303
    assert is_logged_in(browser)
    assert not is_logged_in(before)


def test_revoking_a_token_ends_it_in_every_process(processes: Processes) -> None:
    name = new_user(processes.store)
    token = accounts.create_token(processes.store, name, actor="tests", label="ci")
    kept = accounts.create_token(processes.store, name, actor="tests", label="kept")
    token_id = accounts.list_tokens(processes.store, name)[0].id
    bearer = {"Authorization": f"Bearer {token}"}
    first, second = processes.client(processes.first), processes.client(processes.second)
    assert first.get("/api/v1/status", headers=bearer).status_code == 200
    revoked = second.delete(f"/api/v1/tokens/{token_id}", headers=bearer)
    assert revoked.status_code == 200, revoked.text
    assert first.get("/api/v1/status", headers=bearer).status_code == 401
    assert (
        first.get("/api/v1/status", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
    )


def test_a_session_ends_after_its_lifetime_and_records_when_it_was_seen(
    processes: Processes,
) -> None:
    name = new_user(processes.store)
    user_id = accounts.find_user(processes.store, name).id  # type: ignore[union-attr]
    start = processes.clock.now
    try:
        browser = logged_in(processes.first, name)
        processes.clock.now = start + dt.timedelta(hours=1)
        assert is_logged_in(browser)
        count, seen = sessions.session_counts(processes.store, processes.clock.now)[user_id]
        assert (count, seen) == (1, start + dt.timedelta(hours=1))
        processes.clock.now = start + sessions.SESSION_LIFETIME + dt.timedelta(seconds=1)
        assert not is_logged_in(browser)
        assert user_id not in sessions.session_counts(processes.store, processes.clock.now)
    finally:
        processes.clock.now = start


def test_a_cookie_of_the_old_kind_holding_a_user_id_is_not_a_login(processes: Processes) -> None:
    from lineofsight.web.security import SessionSigner

    admin_id = accounts.find_user(processes.store, "admin").id  # type: ignore[union-attr]
    forged = TestClient(processes.first, follow_redirects=False)
    forged.cookies.set("los_session", SessionSigner(SECRET).dump({"n": "x", "uid": admin_id}))
    assert not is_logged_in(forged)


PAGES = ["/", "/map", "/units/sales", "/kpis/revenue", "/me", "/alignment", "/library"]
API = ["/api/v1/status", "/api/v1/kpis/revenue", "/api/v1/users"]


def test_no_answer_but_static_assets_may_be_kept_by_a_cache(processes: Processes) -> None:
    browser = logged_in(processes.first, "admin")
    for path in PAGES + API:
        answer = browser.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert answer.headers["cache-control"] == "no-store", path
    token = accounts.create_token(processes.store, "admin", actor="tests")
    answer = browser.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert answer.headers["cache-control"] == "no-store"
    for path in ("/login", "/api/v1/nowhere"):
        assert browser.get(path).headers["cache-control"] == "no-store", path
    css = browser.get("/static/los.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")
