"""The benchmarks' user of the web app and its login through the form, as a browser does: one
copy for the in-process test client (bench_kpi_page.py, bench_revision.py) and for a running
`los serve` (bench_web.py, bench_pages.py)."""

from __future__ import annotations

import re

import httpx

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.store.database import Store

USER, PASSWORD = "bench", "bench password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(store: Store) -> None:
    """Add the benchmarks' user to the store: an admin of the whole organisation."""
    accounts.add_user(store, USER, PASSWORD, [Grant("admin")], actor="bench")


def log_in(client: httpx.Client) -> str:
    """Log the benchmarks' user in through the login form (the client keeps the session
    cookie); the session cookie as a `Cookie` header's value. `client` is an httpx client of
    a running server or the web app's in-process test client (one of httpx's)."""
    token = _CSRF.search(client.get("/login").text)
    if token is None:
        raise SystemExit("no login form at /login")
    response = client.post(
        "/login", data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if response.status_code != 303:
        raise SystemExit(f"login failed: {response.status_code}")
    return f"los_session={client.cookies['los_session']}"
