"""The owner's page of due values (`/checkin`) holds the values at other units than the KPI's
own, and exactly the overdue values of the person's attention list that their account may
enter: the page and `los inbox` cut one list. On the worked example, on SQLite and
PostgreSQL, on 5 January 2027 (November's values due on 30 December and not in)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from lineofsight.services.accounts import Grant, add_user
from lineofsight.services.attention import inbox
from lineofsight.web import pagekit, pages_entry, pages_entry_due
from tests.web.site import PASSWORD, Site, build_site, drop_url, fresh_url, login, side_store

DAY = dt.date(2027, 1, 5)
# Samuel Osei owns first_response_hours (customer_service, with values at support_t1 and
# support_t2 too); Aisha Rahman leads support_t1 (an admin of it here, so she may enter its
# values of KPIs she does not own).
ACCOUNTS = {
    "samuel": (Grant("owner", None), "samuel_osei"),
    "aisha": (Grant("admin", "support_t1"), "aisha_rahman"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"due-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        built = build_site(url, folder / "ws")
        store = side_store(url)
        try:
            for username, (grant, person) in ACCOUNTS.items():
                add_user(store, username, PASSWORD, (grant,), person_id=person, actor="tests")
        finally:
            store.close()
        yield built
    finally:
        drop_url(url, pg)


@pytest.fixture(scope="module")
def app(site: Site) -> Iterator[object]:
    from lineofsight.web.app import create_app

    application = create_app(site.url, secret_key="due-test-key")
    yield application
    application.state.store.close()


@pytest.fixture
def on_5_january(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (pagekit, pages_entry, pages_entry_due):
        monkeypatch.setattr(module, "today", lambda: DAY)


LINE = re.compile(r'class="hint due-(overdue|awaited)".*?name="period:([^"]+)"', re.S)


def _overdue_lines(app: object, username: str) -> set[tuple[str, str, str]]:
    answer = login(app, username).get("/checkin")
    assert answer.status_code == 200, answer.text
    keys = [key for state, key in LINE.findall(answer.text) if state == "overdue"]
    return {(k, u, p) for k, u, p in (key.split(":") for key in keys)}


def _inbox_overdue(site: Site, person: str) -> set[tuple[str, str, str]]:
    store = side_store(site.url)
    try:
        items = inbox(store, person=person, as_of=DAY).items
    finally:
        store.close()
    return {(i.item_id, i.unit, str(i.period)) for i in items if i.kind == "overdue"}


def test_the_owner_sees_the_values_of_their_kpi_at_every_unit(
    app: object, site: Site, on_5_january: None
) -> None:
    lines = _overdue_lines(app, "samuel")
    for unit in ("customer_service", "support_t1", "support_t2"):
        assert ("first_response_hours", unit, "2026-11") in lines, unit
    # An owner may enter the values of the KPIs they own: the list's own items, no others.
    own = {(k, u, p) for k, u, p in _inbox_overdue(site, "samuel_osei")}
    store = side_store(site.url)
    try:
        from lineofsight.services.export import stored_organization

        owners = {k.id: k.owner for k in stored_organization(store).kpis}
    finally:
        store.close()
    assert lines == {(k, u, p) for k, u, p in own if owners[k] == "samuel_osei"}


def test_a_units_lead_sees_the_units_values_of_kpis_owned_elsewhere(
    app: object, site: Site, on_5_january: None
) -> None:
    lines = _overdue_lines(app, "aisha")
    assert ("first_response_hours", "support_t1", "2026-11") in lines
    assert lines == _inbox_overdue(site, "aisha_rahman")
    page = login(app, "aisha").get("/checkin").text
    assert 'id="due-first_response_hours-at-support_t1"' in page
    assert "First response time</a> at Tier 1 Support" in page
