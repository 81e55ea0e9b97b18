"""A page's first read: its session's account and the store's revision, in one statement (one
state of the store, no transaction begun for it), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from lineofsight.services import accounts, sessions
from lineofsight.services.accounts import Grant, secret_hash
from lineofsight.services.scorecards import store_revision
from lineofsight.store import sessions as stored
from lineofsight.store.database import Store

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(web_url: str) -> Iterator[Store]:
    found = Store(web_url)
    try:
        yield found
    finally:
        found.close()


def _user(store: Store, grants: list[Grant], person: str | None = None) -> tuple[int, str]:
    name = f"u{uuid.uuid4().hex[:10]}"
    account = accounts.add_user(
        store, name, "a long password", grants, name="Ann Example", person_id=person, actor="tests"
    )
    return account.id, name


def test_the_session_and_the_revision_come_together_with_every_role_in_order(
    store: Store,
) -> None:
    grants = [Grant("viewer", "sales"), Grant("owner", "ops"), Grant("editor")]
    user_id, name = _user(store, grants, "bob")
    secret = sessions.start_session(store, user_id, NOW)
    account, revision = sessions.session_and_revision(store, secret, NOW)
    assert account is not None
    assert (account.id, account.username, account.name, account.person_id) == (
        user_id,
        name,
        "Ann Example",
        "bob",
    )
    assert account.grants == tuple(grants)
    assert revision == store_revision(store)


def test_no_session_still_gives_the_revision(store: Store) -> None:
    user_id, _ = _user(store, [Grant("viewer")])
    secret = sessions.start_session(store, user_id, NOW)
    for asked, at in (("no such secret", NOW), (secret, NOW + sessions.SESSION_LIFETIME)):
        account, revision = sessions.session_and_revision(store, asked, at)
        assert account is None
        assert revision == store_revision(store)


def test_one_statement_and_no_transaction_begun_on_sqlite(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the driver's statements are traced on SQLite")
    user_id, _ = _user(store, [Grant("viewer")])
    secret = sessions.start_session(store, user_id, NOW)
    statements: list[str] = []
    with store.reading() as conn:
        driver = conn.connection.driver_connection
        driver.set_trace_callback(statements.append)  # type: ignore[union-attr]
        try:
            found, revision = stored.find_session_and_revision(conn, secret_hash(secret), NOW)
        finally:
            driver.set_trace_callback(None)  # type: ignore[union-attr]
    assert found is not None and found.account.id == user_id
    assert revision == store_revision(store)
    assert len(statements) == 1, statements
    assert not statements[0].lstrip().upper().startswith("BEGIN")
