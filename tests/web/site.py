"""A worked-example store with one account per role, for the page and browser tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from lineofsight.services.accounts import Grant, add_user
from lineofsight.services.init import init_workspace
from lineofsight.store.database import Store
from tests.stores import drop_postgresql, postgresql_store, sqlite_store

PASSWORD = "correct horse battery"
# The example's data ends in October 2026: the tests look at that month, whatever today is.
PERIOD = "2026-10"
# Red in October 2026 (a decrease KPI, target about 3.1 days), owned by lucas_moreau.
RED_KPI = "t2_backlog_days"
RED_KPI_OWNER = "lucas_moreau"
XSS_NAME = "<script>alert(1)</script>"
XSS_NOTE = '<img src=x onerror="alert(2)"><b>bold</b> & more'
# A unit of measure with markup: it must show as typed.
XSS_UNIT = '<a href="https://evil.example/">followers</a> <b>&amp;</b>'

USERS = {
    # username: (grants, person)
    "admin": ((Grant("admin", None),), "maya_okafor"),
    "owner": ((Grant("owner", None),), RED_KPI_OWNER),
    "cx_viewer": ((Grant("viewer", "customer_experience"),), None),
    "rnd_admin": ((Grant("admin", "rnd"),), None),
}


@dataclass(frozen=True)
class Site:
    url: str
    folder: Path


def build_site(url: str, folder: Path) -> Site:
    """The TechInnovate example in the store at `url`, with the accounts of `USERS`; one KPI
    renamed to a script tag and its unit of measure made a link (both must show as text)."""
    init_workspace(folder, example="techinnovate", db=url)
    strategy = folder / "strategy.yaml"
    text = strategy.read_text(encoding="utf-8")
    renamed = text.replace("name: Social media followers", f'name: "{XSS_NAME}"', 1)
    assert renamed != text, "the example no longer has the KPI the tests rename"
    marked = renamed.replace("unit_of_measure: followers", f"unit_of_measure: '{XSS_UNIT}'", 1)
    assert marked != renamed, "the example no longer has the unit of measure the tests change"
    renamed = marked
    strategy.write_text(renamed, encoding="utf-8")
    from lineofsight.services.apply import apply_file

    store = Store(url)
    try:
        apply_file(store, strategy)
        for username, (grants, person) in USERS.items():
            add_user(store, username, PASSWORD, grants, person_id=person, actor="tests")
    finally:
        store.close()
    return Site(url, folder)


def add_pending_change(url: str) -> int:
    """Keep one edit waiting for approval in the store at `url` (an editor renaming the red
    KPI); its id. Apart from the waiting change, nothing in the store changes."""
    import datetime as dt

    from lineofsight.services import edit_approval
    from lineofsight.services.export import stored_organization
    from lineofsight.services.strategy_edit import Edit, item_plain, preview_edit

    store = Store(url)
    try:
        item = item_plain(stored_organization(store), "kpi", RED_KPI)
        assert item is not None, "the example no longer has the red KPI"
        edit = Edit("kpi", RED_KPI, {**item, "name": "Tier 2 backlog (days, renamed)"})
        preview = preview_edit(store, edit, actor="owner", as_of=dt.date(2026, 10, 31))
        return edit_approval.request_change(store, preview, actor="owner")
    finally:
        store.close()


def add_action(url: str) -> int:
    """One open action with a milestone on the red KPI, owned by its owner; its id."""
    import datetime as dt

    from lineofsight.domain.actions import Milestone
    from lineofsight.services.actions import create_action

    store = Store(url)
    try:
        steps = (Milestone("Swarm the oldest tickets", dt.date(2026, 11, 6), False),)
        action = create_action(
            store,
            "owner",
            subject_type="kpi",
            subject_id=RED_KPI,
            title="Clear the tier 2 backlog",
            owner=RED_KPI_OWNER,
            due=dt.date(2026, 11, 20),
            milestones=steps,
        )
        return action.id
    finally:
        store.close()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def fresh_url(kind: str, folder: Path, pg_url: str | None) -> str:
    """A new, empty store URL: a SQLite file in `folder`, or a new PostgreSQL database."""
    if kind == "sqlite":
        return sqlite_store(folder / "los.db")
    assert pg_url is not None
    return postgresql_store(pg_url, "los_web")


def drop_url(url: str, pg_url: str | None) -> None:
    """Drop a PostgreSQL database made by `fresh_url` (SQLite files go with their folder)."""
    if not url.startswith("postgresql") or pg_url is None:
        return
    drop_postgresql(pg_url, url)


def side_store(url: str) -> Store:
    """A store opened beside a running app in the same process: like the app's, it keeps to
    one SQLite library (no Arrow reader), so the two never disturb each other's locks."""
    store = Store(url)
    store.arrow_sqlite = False
    return store


def login(app: object, username: str) -> TestClient:
    """A test client of the app logged in as `username` (the example's password)."""
    client = TestClient(app)  # type: ignore[arg-type]
    token = csrf_from(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client
