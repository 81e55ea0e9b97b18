"""Failed logins back off, per account name and per client address, in every server process.

The apps' clock is moved by the tests; no test waits for real time. Each test starts on a day
of its own, so that the counts of one test are long forgotten by the next.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts, login_throttle
from lineofsight.services.accounts import Grant
from lineofsight.web.app import create_app
from tests.web.conftest import PASSWORD, csrf_of

WRONG = "not the password"
_days = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def forward(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def apps(web_url: str) -> Iterator[tuple[Any, Any, Clock]]:
    clock = Clock()
    first = create_app(web_url, secret_key="k")
    second = create_app(web_url, secret_key="k")
    first.state.clock = second.state.clock = clock
    yield first, second, clock
    first.state.store.close()
    second.state.store.close()


@pytest.fixture
def clock(apps: tuple[Any, Any, Clock]) -> Clock:
    apps[2].now = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(days=next(_days))
    return apps[2]


def new_user(store: Any) -> str:
    name = f"u{uuid.uuid4().hex[:10]}"
    accounts.add_user(store, name, PASSWORD, [Grant("viewer")], actor="tests")
    return name


def attempt(app: Any, username: str, password: str, address: str = "10.0.0.1") -> Any:
    client = TestClient(app, follow_redirects=False, client=(address, 40000))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(client)},
    )


def test_an_account_is_locked_after_five_failures_then_backs_off(
    apps: tuple[Any, Any, Clock], clock: Clock
) -> None:
    first, second, _ = apps
    name = new_user(first.state.store)
    for _ in range(login_throttle.ACCOUNT_LIMIT - 1):
        assert attempt(first, name, WRONG).status_code == 401
    locked = attempt(first, name, WRONG)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "30"
    assert "Too many failed logins" in locked.text and "try again in 30 seconds" in locked.text
    # The right password does not help while locked, from another address or process.
    refused = attempt(second, name, PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429 and "los_session" not in refused.cookies
    clock.forward(29)
    assert attempt(first, name, PASSWORD).headers["retry-after"] == "1"
    clock.forward(1)
    # The lock is over; one more failure locks it again, twice as long.
    again = attempt(second, name, WRONG)
    assert again.status_code == 429 and again.headers["retry-after"] == "60"
    clock.forward(60)
    assert attempt(first, name, WRONG).headers["retry-after"] == "120"
    clock.forward(120)
    assert attempt(first, name, PASSWORD).status_code == 303
    # A login forgets the name's failures: the next mistake is one of five again.
    assert attempt(first, name, WRONG).status_code == 401


def test_failures_now_and_then_never_lock(apps: tuple[Any, Any, Clock], clock: Clock) -> None:
    first, _, _ = apps
    name = new_user(first.state.store)
    for _ in range(3 * login_throttle.ACCOUNT_LIMIT):
        assert attempt(first, name, WRONG).status_code == 401
        clock.forward(login_throttle.FORGET_AFTER.total_seconds())
    assert attempt(first, name, PASSWORD).status_code == 303


def test_an_unknown_name_is_locked_like_a_known_one(
    apps: tuple[Any, Any, Clock], clock: Clock
) -> None:
    first, _, _ = apps
    answers = [attempt(first, "nobody-here", WRONG).status_code for _ in range(6)]
    assert answers == [401, 401, 401, 401, 429, 429]


def test_an_address_is_locked_after_twenty_failures_across_names(
    apps: tuple[Any, Any, Clock], clock: Clock
) -> None:
    first, second, _ = apps
    name = new_user(first.state.store)
    guesser = "10.6.6.6"
    answers = [
        attempt(first, f"guess{i}", WRONG, address=guesser).status_code
        for i in range(login_throttle.ADDRESS_LIMIT)
    ]
    assert answers == [401] * (login_throttle.ADDRESS_LIMIT - 1) + [429]
    assert attempt(second, name, PASSWORD, address=guesser).status_code == 429
    # Others, elsewhere, are not held up.
    assert attempt(second, name, PASSWORD, address="10.7.7.7").status_code == 303


def test_a_password_reset_lifts_the_lock(apps: tuple[Any, Any, Clock], clock: Clock) -> None:
    first, _, _ = apps
    name = new_user(first.state.store)
    for _ in range(login_throttle.ACCOUNT_LIMIT):
        attempt(first, name, WRONG, address="10.1.1.1")
    assert attempt(first, name, PASSWORD).status_code == 429
    accounts.set_password(first.state.store, name, "a fresh password", actor="tests")
    assert attempt(first, name, "a fresh password").status_code == 303


def test_the_store_keeps_no_typed_name(apps: tuple[Any, Any, Clock], clock: Clock) -> None:
    from sqlalchemy import text

    first, _, _ = apps
    attempt(first, "my secret password typed as a name", WRONG)
    with first.state.store.reading() as conn:
        keys = [row[0] for row in conn.execute(text("SELECT key FROM login_failures"))]
    assert keys and all(len(k) == 64 and "secret" not in k for k in keys)


@pytest.mark.parametrize(
    ("over", "seconds"), [(0, 30), (1, 60), (2, 120), (4, 480), (5, 900), (40, 900)]
)
def test_lock_lengths_double_up_to_fifteen_minutes(over: int, seconds: int) -> None:
    assert login_throttle.lock_length(over) == dt.timedelta(seconds=seconds)


def test_failures_at_the_same_moment_are_all_counted(
    apps: tuple[Any, Any, Clock], clock: Clock
) -> None:
    import threading

    from sqlalchemy import select

    from lineofsight.store import tables as t

    first, second, _ = apps
    name, tries = f"n{uuid.uuid4().hex[:8]}", 8
    start = threading.Barrier(tries)
    waits: list[int] = []

    def fail(store: Any) -> None:
        start.wait(timeout=30)
        waits.append(login_throttle.record_failure(store, name, "10.3.3.3", clock.now))

    threads = [
        threading.Thread(target=fail, args=((first if i % 2 else second).state.store,))
        for i in range(tries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(waits) == tries
    key = login_throttle.counters(name, "10.3.3.3")[0].key
    with first.state.store.reading() as conn:
        counted = conn.execute(
            select(t.login_failures.c.failures).where(t.login_failures.c.key == key)
        ).scalar_one()
    assert counted == tries
    # The 5th to 8th failures each locked the name: 30 s doubling to 240 s.
    assert max(waits) == 240 and sorted(waits)[: tries - 4] == [0] * (tries - 4)


@pytest.mark.parametrize("typed", [" {}", "{} ", "\t{}  "])
def test_a_name_typed_with_spaces_is_the_same_account_for_the_lock(
    apps: tuple[Any, Any, Clock], clock: Clock, typed: str
) -> None:
    first, second, _ = apps
    name = new_user(first.state.store)
    # Failures under the spaced name count against the account...
    for _ in range(login_throttle.ACCOUNT_LIMIT - 1):
        assert attempt(first, typed.format(name), WRONG).status_code == 401
    assert attempt(first, name, WRONG).status_code == 429
    # ...and while it is locked, every refusal says when to come back, however it is typed.
    for app, username in ((first, typed.format(name)), (second, name), (first, f" {name}")):
        refused = attempt(app, username, PASSWORD, address="10.7.7.7")
        assert refused.status_code == 429 and "los_session" not in refused.cookies
        assert int(refused.headers["retry-after"]) >= 1
        assert "try again in" in refused.text
    clock.forward(30)
    # Once the lock is over, the spaced name logs into the account.
    assert attempt(first, typed.format(name), PASSWORD).status_code == 303
