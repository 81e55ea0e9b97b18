"""The web app on a small organisation, on SQLite and on PostgreSQL, with a user per role.

`web_url` is one store per test module and database (setting it up is the slow part);
`client` is a TestClient of the app over it. Passwords are hashed with cheap argon2
parameters here, so that making users and logging in does not dominate the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.stores import drop_postgresql, postgresql_store, sqlite_store

STRATEGY = """\
version: 1
organization:
  name: Acme
  units:
    - {id: acme, name: Acme, level: company, lead: ceo}
    - {id: sales, name: Sales, level: department, parent: acme, lead: alice}
    - {id: sales_east, name: Sales East, level: team, parent: sales}
    - {id: ops, name: Operations, level: department, parent: acme, lead: bob}
  people:
    - {id: ceo, name: Casey CEO, unit: acme}
    - {id: alice, name: Alice Seller, unit: sales}
    - {id: bob, name: Bob Builder, unit: ops}
strategy:
  mission: Sell good things.
sources:
  warehouse: {url: env:LOS_TEST_WAREHOUSE_URL}
objectives:
  - {id: grow, title: Grow revenue, level: strategic, unit: acme, owner: ceo,
     deadline: 2027-12-31}
  - {id: sell_more, title: Sell more, level: tactical, unit: sales, owner: alice, parent: grow,
     deadline: 2027-12-31}
kpis:
  - id: revenue
    name: Revenue
    unit: sales
    owner: alice
    level: tactical
    type: lagging
    frequency: monthly
    direction: increase
    aggregation: sum
    supports: [{objective: sell_more}]
    baseline: {period: 2025-12, value: 100}
    target: {value: 200, by: 2026-12-31}
  - id: defects
    name: Defects
    unit: ops
    owner: bob
    level: tactical
    type: lagging
    frequency: monthly
    direction: decrease
    supports: [{objective: grow}]
    target: {value: 5, by: 2026-12-31}
    tolerance_abs: 2
  - id: conversion
    name: Conversion rate
    unit: sales
    owner: alice
    frequency: monthly
    direction: increase
    ratio: {numerator: orders, denominator: visits, scale: 100}
    supports: [{objective: sell_more}]
    target: {value: 5, by: 2026-12-31}
  - id: xss
    name: <script>alert(1)</script>
    unit: sales
    owner: alice
    frequency: monthly
    direction: increase
    supports: [{objective: sell_more}]
    target: {value: 1, by: 2026-12-31}
"""

MEASUREMENTS = """\
kpi,period,value,unit,numerator,denominator,note
revenue,2026-01,110,,,,January close
revenue,2026-02,120,,,,
revenue,2026-03,135,,,,<b>bold</b> <script>alert(2)</script>
revenue,2026-03,40,sales_east,,,
defects,2026-01,9,,,,
defects,2026-02,7,,,,
defects,2026-03,6,,,,
conversion,2026-03,,,30,1000,
xss,2026-03,1,,,,
"""

AS_OF = "2026-03-31"
PASSWORD = "correct horse battery"

# username -> (roles, person)
USERS: dict[str, tuple[tuple[Grant, ...], str | None]] = {
    "admin": ((Grant("admin"),), None),
    "sales_admin": ((Grant("admin", "sales"),), None),
    "editor": ((Grant("editor"),), None),
    "sales_editor": ((Grant("editor", "sales"),), None),
    "alice": ((Grant("owner", "sales"),), "alice"),
    "bob": ((Grant("owner", "ops"),), "bob"),
    "viewer": ((Grant("viewer"),), None),
    "sales_viewer": ((Grant("viewer", "sales"),), None),
}


@pytest.fixture(autouse=True, scope="session")
def _cheap_hashes() -> Iterator[None]:
    original = accounts.hasher
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts.hasher = original


def build_store(url: str, folder: Path) -> None:
    """Apply the strategy, load the measurements and add a user per role."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    (folder / "data.csv").write_text(MEASUREMENTS, encoding="utf-8")
    store = Store(url)
    try:
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "data.csv")
        for username, (grants, person) in USERS.items():
            accounts.add_user(store, username, PASSWORD, grants, person_id=person, actor="tests")
    finally:
        store.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store with the organisation, its measurements and the users, per module and database."""
    folder = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        url = sqlite_store(folder / "los.db")
        build_store(url, folder)
        yield url
        return
    server_url: str = request.getfixturevalue("pg_url")
    url = postgresql_store(server_url, "los_web")
    build_store(url, folder)
    yield url
    drop_postgresql(server_url, url)


@pytest.fixture(scope="module")
def web_app(web_url: str) -> Iterator[object]:
    app = create_app(web_url, secret_key="test secret")
    yield app
    app.state.store.close()


@pytest.fixture(scope="module")
def tokens(web_app: object) -> dict[str, str]:
    """An API token per user."""
    store = web_app.state.store  # type: ignore[attr-defined]
    return {name: accounts.create_token(store, name, actor="tests") for name in USERS}


@pytest.fixture
def client(web_app: object) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as test_client:  # type: ignore[arg-type]
        yield test_client


@dataclass
class Api:
    """Calls the API as one user, with their token."""

    client: TestClient
    token: str | None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.get("/api/v1" + path, headers=self._headers(), **kw)  # type: ignore[arg-type]

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
        merged = {**self._headers(), **(headers or {})}
        return self.client.request(method, "/api/v1" + path, headers=merged, **kw)  # type: ignore[arg-type]


@pytest.fixture
def api_as(client: TestClient, tokens: dict[str, str]):  # type: ignore[no-untyped-def]
    """`api_as("alice").get("/status")`; `api_as(None)` is anonymous."""
    return lambda username: Api(client, tokens[username] if username else None)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient) -> str:
    """The CSRF token of the client's session, as the login form carries it."""
    page = client.get("/login")
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the form, as a browser does; the client keeps the session cookie."""
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )
