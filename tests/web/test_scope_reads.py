"""A viewer scoped to one unit sees nothing of other units, on any page or API answer.

The organisation is tests/web/conftest.py's: sales (with the team sales_east) under the
company acme, beside ops. A sales viewer may read sales and sales_east; the company's
objective "Grow revenue", the ops KPI "Defects" and the people of other units are outside.
Each surface below is fetched as the sales viewer (and as a sales viewer whose account acts
as the CEO) and must not contain them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.library import strategy_source
from tests.web.conftest import AS_OF, CSRF, PASSWORD, STRATEGY, log_in

# Links across the scope's edge, each shown on some page of a sales item: an ops KPI that
# drives a sales KPI, a sales KPI naming an ops KPI as its leading indicator, a sales KPI
# supporting the company's objective too, and a sales formula reading an ops KPI.
LINKED = (
    STRATEGY.replace(
        "    supports: [{objective: grow}]\n",
        "    supports: [{objective: grow}]\n    contributes_to: [{kpi: revenue}]\n",
    )
    .replace(
        "    supports: [{objective: sell_more}]\n    baseline:",
        "    supports: [{objective: sell_more}]\n    influences: [defects]\n    baseline:",
    )
    .replace(
        "    ratio: {numerator: orders, denominator: visits, scale: 100}\n"
        "    supports: [{objective: sell_more}]\n",
        "    ratio: {numerator: orders, denominator: visits, scale: 100}\n"
        "    supports: [{objective: sell_more}, {objective: grow}]\n",
    )
    + "  - {id: revenue_per_defect, name: Revenue per defect, unit: sales, owner: alice,\n"
    "     frequency: monthly, direction: increase, formula: revenue / defects,\n"
    "     supports: [{objective: sell_more}]}\n"
)

# What lies outside sales: an objective and a KPI (titles and ids), and their owners.
OUTSIDE = ("Grow revenue", "Defects", "Casey CEO", "Bob Builder")
OUTSIDE_IDS = (
    '"grow"',
    '"defects"',
    "#objective-grow",
    "/objectives/grow",
    "/kpis/defects",
    "/people/bob",
)
INSIDE = ("Sell more", "Revenue")
MONTH = AS_OF[:7]  # revenue has a row at sales_east in this month (a value there)

PAGES = [
    "/",
    "/map",
    "/map?unit=sales",
    "/map?unit=sales_east",
    f"/alignment?period={AS_OF[:7]}",
    "/units/sales",
    "/units/sales_east",
    "/kpis/revenue",
    f"/kpis/revenue?unit=sales_east&period={MONTH}",
    "/kpis/conversion",
    "/kpis/revenue_per_defect",
    "/people/alice",
]
API = [
    f"/status?as_of={AS_OF}",
    f"/status?as_of={AS_OF}&unit=sales",
    "/trace/revenue",
    "/trace/sell_more",
    "/trace/alice",
    "/people/alice",
    "/units/sales",
    f"/checks?as_of={AS_OF}",
    f"/kpis/revenue?as_of={AS_OF}",
    f"/kpis/conversion?as_of={AS_OF}",
    "/trace/revenue_per_defect",
    "/kpis/revenue_per_defect/explain?from=2026-02&to=2026-03&unit=sales",
    "/kpis/revenue/measurements",
]
# Out of the sales viewer's scope altogether.
# Every page and API answer about a KPI, objective or person ({} the id, of an item outside
# the reader's scope): answered as one that does not exist, so that asking cannot tell which
# ids exist outside the scope.
HIDDEN_PAGES = ["/kpis/{}?id=defects", "/kpis/{}?unit=sales&id=defects",
                "/kpis/{}/checkin?id=defects", "/people/{}?id=bob", "/people/{}?id=ceo",
                "/objectives/{}?id=grow"]  # fmt: skip
HIDDEN_API = ["/trace/{}?id=grow", "/trace/{}?id=defects", "/people/{}?id=bob",
              "/kpis/{}?id=defects", "/kpis/{}/measurements?id=defects",
              "/kpis/{}/forecast?id=defects",
              "/kpis/{}/explain?from=2026-02&to=2026-03&id=defects",
              "/objectives/{}?id=grow", "/inbox?person={}&id=bob",
              "/actions?kpi={}&id=defects", "/actions?objective={}&id=grow"]  # fmt: skip

# Every page and API answer that names a unit ({}): a unit outside the reader's scope is
# answered as one that does not exist, so that asking cannot tell which units exist.
UNIT_PAGES = ["/units/{}", "/map?unit={}", "/heatmap?unit={}", "/lists/red?unit={}",
              "/lists/overdue?unit={}", "/lists/off-track?unit={}", "/alignment?unit={}",
              "/units/{}/brief", "/units/{}/brief.pdf", f"/kpis/revenue?unit={{}}&period={MONTH}",
              "/kpis/revenue/checkin?unit={}"]  # fmt: skip
UNIT_API = ["/units/{}", f"/status?unit={{}}&as_of={AS_OF}", "/inbox?unit={}",
            "/reviews?unit={}", "/units/{}/brief", "/actions?unit={}", "/checks?unit={}",
            "/kpis/revenue/explain?from=2026-02&to=2026-03&unit={}"]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _linked(web_app: Any) -> None:
    store = web_app.state.store
    path = strategy_source(store)
    assert LINKED.count("contributes_to") == LINKED.count("influences") == 1
    path.write_text(LINKED, encoding="utf-8")
    apply_file(store, path)


@pytest.fixture(scope="module")
def proxy(web_app: Any) -> str:
    """A sales viewer whose account acts as the CEO (made by an organisation admin): the
    person it acts as does not widen what it may read. Returns its API token."""
    store = web_app.state.store
    accounts.add_user(
        store, "ceo_proxy", PASSWORD, [Grant("viewer", "sales")], person_id="ceo", actor="tests"
    )
    return accounts.create_token(store, "ceo_proxy", actor="tests")


def _clean(text: str, where: str, allowed: tuple[str, ...] = ()) -> None:
    for outside in (*OUTSIDE, *OUTSIDE_IDS):
        if outside not in allowed:
            assert outside not in text, f"{where} shows {outside!r}"


@pytest.mark.parametrize("path", PAGES)
def test_a_scoped_viewer_sees_nothing_of_other_units_on_a_page(client: TestClient, path: str):  # type: ignore[no-untyped-def]
    assert log_in(client, "sales_viewer").status_code == 303
    page = client.get(path)
    assert page.status_code == 200, page.text
    _clean(page.text, path)


def test_the_pages_still_show_what_is_in_scope(client: TestClient) -> None:
    """The cut keeps the unit's own cascade: the map starts at the sales objective."""
    assert log_in(client, "sales_viewer").status_code == 303
    page = client.get("/map").text
    for inside in INSIDE:
        assert inside in page
    kpi = client.get("/kpis/revenue").text
    assert "Sell more" in kpi.split('id="los-h"')[1]  # the line of sight, up to the scope


def test_an_explanation_sums_what_is_outside_into_one_part(api_as) -> None:  # type: ignore[no-untyped-def]
    """Revenue per defect reads an ops KPI: its share of the change is there, unnamed."""
    path = "/kpis/revenue_per_defect/explain?from=2026-02&to=2026-03&unit=sales"
    data = api_as("sales_viewer").get(path).json()
    parts = {c.get("kpi"): c["contribution"] for c in data["contributions"]}
    assert set(parts) == {"revenue", "(other units)"}
    assert sum(parts.values()) == pytest.approx(data["change"])
    full = api_as("viewer").get(path).json()
    assert {c["kpi"] for c in full["contributions"]} == {"revenue", "defects"}


@pytest.mark.parametrize("path", API)
def test_a_scoped_viewer_sees_nothing_of_other_units_in_the_api(api_as, path: str) -> None:  # type: ignore[no-untyped-def]
    answer = api_as("sales_viewer").get(path)
    assert answer.status_code == 200, answer.text
    _clean(answer.text, path)


def _hidden_and_missing(path: str) -> tuple[str, str, str]:
    """The path of the item outside the scope, that of an id nobody has, and the item's id
    (`HIDDEN_PAGES`' `id=` names it; it is not sent)."""
    path, item = path.rsplit("id=", 1)
    path = path.rstrip("?&")
    return path.format(item), path.format("zz_gone"), item


@pytest.mark.parametrize("path", HIDDEN_PAGES)
def test_a_page_of_an_item_outside_the_scope_answers_as_for_one_that_does_not_exist(
    client: TestClient, path: str
) -> None:
    assert log_in(client, "sales_viewer").status_code == 303
    outside, gone, item = _hidden_and_missing(path)
    hidden, missing = client.get(outside), client.get(gone)
    assert hidden.status_code == missing.status_code == 404, (outside, hidden.text[:300])
    assert f"{item}&#39;" in hidden.text
    assert hidden.text.replace(item, "ID") == missing.text.replace("zz_gone", "ID")


@pytest.mark.parametrize("path", HIDDEN_API)
def test_an_api_answer_about_an_item_outside_the_scope_is_that_of_one_that_does_not_exist(
    api_as, path: str
) -> None:  # type: ignore[no-untyped-def]
    reader = api_as("sales_viewer")
    outside, gone, item = _hidden_and_missing(path)
    hidden, missing = reader.get(outside), reader.get(gone)
    assert hidden.status_code == missing.status_code == 404, (outside, hidden.text)
    assert hidden.text.replace(item, "ID") == missing.text.replace("zz_gone", "ID")
    assert hidden.json()["error"]["message"].endswith(f"'{item}' not found")
    # An unscoped viewer is still answered about it.
    assert api_as("viewer").get(outside).status_code == 200


def _as_asked(text: str, unit: str) -> str:
    return text.replace(unit, "UNIT")


@pytest.mark.parametrize("path", UNIT_PAGES)
def test_a_page_of_a_unit_outside_the_scope_answers_as_for_a_unit_that_does_not_exist(
    client: TestClient, path: str
) -> None:
    assert log_in(client, "sales_viewer").status_code == 303
    for outside in ("ops", "acme"):
        hidden, missing = client.get(path.format(outside)), client.get(path.format("zz_gone"))
        assert hidden.status_code == missing.status_code == 404, (outside, hidden.text[:300])
        assert f"No unit &#39;{outside}&#39;" in hidden.text
        assert _as_asked(hidden.text, outside) == _as_asked(missing.text, "zz_gone")
    assert client.get(path.format("sales_east")).status_code in (200, 403)


@pytest.mark.parametrize("path", UNIT_API)
def test_an_api_answer_about_a_unit_outside_the_scope_is_that_of_a_unit_that_does_not_exist(
    api_as, path: str
) -> None:  # type: ignore[no-untyped-def]
    reader = api_as("sales_viewer")
    for outside in ("ops", "acme"):
        hidden, missing = reader.get(path.format(outside)), reader.get(path.format("zz_gone"))
        assert hidden.status_code == missing.status_code == 404, (outside, hidden.text)
        assert _as_asked(hidden.text, outside) == _as_asked(missing.text, "zz_gone")
        assert hidden.json()["error"]["message"] == f"unit '{outside}' not found"
    # The reader's own units answer; an unscoped viewer is still told about every unit.
    assert reader.get(path.format("sales")).status_code in (200, 422)
    assert api_as("viewer").get(path.format("ops")).status_code in (200, 422)


def test_acting_as_the_ceo_does_not_show_the_ceos_items(
    client: TestClient, proxy: str, web_app: Any
) -> None:
    """The person page of the person an account acts as opens, but shows only what lies in
    the account's units (the CEO's objective 'Grow revenue' is outside sales)."""
    assert log_in(client, "ceo_proxy").status_code == 303
    page = client.get("/people/ceo")
    assert page.status_code == 200, page.text
    _clean(page.text, "/people/ceo", allowed=("Casey CEO",))
    answer = client.get("/api/v1/people/ceo", headers={"Authorization": f"Bearer {proxy}"})
    assert answer.status_code == 200, answer.text
    _clean(answer.text, "/api/v1/people/ceo", allowed=("Casey CEO",))
    assert answer.json()["objectives"] == []


def test_a_check_in_sent_for_a_unit_outside_the_scope_answers_as_for_one_that_does_not_exist(
    client: TestClient,
) -> None:
    # Alice owns revenue and may enter data in sales only: sending a value for another unit
    # must not tell her whether it exists, and stores nothing.
    assert log_in(client, "alice").status_code == 303
    token = CSRF.search(client.get("/kpis/revenue/checkin").text)
    assert token
    answers = {
        unit: client.post(
            "/kpis/revenue/checkin",
            data={"csrf_token": token.group(1), "period": "2026-03", "value": "1", "unit": unit},
        )
        for unit in ("ops", "acme", "zz_gone")
    }
    for outside in ("ops", "acme"):
        hidden, missing = answers[outside], answers["zz_gone"]
        assert hidden.status_code == missing.status_code == 404, (outside, hidden.text[:300])
        assert _as_asked(hidden.text, outside) == _as_asked(missing.text, "zz_gone")


@pytest.mark.parametrize(
    ("user", "path", "body"),
    [
        ("alice", "/measurements", {"kpi": "revenue", "period": "2026-03", "value": 1}),
        ("sales_editor", "/reviews", {"period": "2026-02", "decisions": ["Hire"]}),
    ],
)
def test_an_api_write_for_a_unit_outside_the_scope_answers_as_for_one_that_does_not_exist(
    api_as, user: str, path: str, body: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    writer = api_as(user)
    missing = writer.request("POST", path, json={**body, "unit": "zz_gone"})
    for outside in ("ops", "acme"):
        hidden = writer.request("POST", path, json={**body, "unit": outside})
        assert hidden.status_code == missing.status_code == 404, (outside, hidden.text)
        assert _as_asked(hidden.text, outside) == _as_asked(missing.text, "zz_gone")
        assert hidden.json()["error"]["message"] == f"unit '{outside}' not found"


def test_a_write_naming_an_item_outside_the_scope_is_answered_as_for_one_that_does_not_exist(
    api_as,
) -> None:  # type: ignore[no-untyped-def]
    owner = api_as("alice")  # an owner of sales: defects and grow lie outside
    writes = [
        ("POST", "/measurements", {"kpi": "{}", "period": "2026-05", "value": 1.0}),
        ("POST", "/actions", {"subject": {"kind": "kpi", "id": "{}"}, "title": "Look"}),
        ("PUT", "/kpis/{}/commentary/2026-03", {"analysis": "Why"}),
        ("GET", "/kpis/{}/commentary/2026-03", None),
        ("PUT", "/objectives/{}/commentary/2026", {"analysis": "Why"}),
    ]
    for method, path, body in writes:
        item = "grow" if "objectives" in path else "defects"

        def send(name: str, path: str = path, body: object = body, method: str = method) -> Any:
            sent = None if body is None else json.loads(json.dumps(body).replace("{}", name))
            return owner.request(method, path.format(name), json=sent)

        hidden, missing = send(item), send("zz_gone")
        assert hidden.status_code == missing.status_code != 403, (path, hidden.text)
        assert hidden.text.replace(item, "ID") == missing.text.replace("zz_gone", "ID")
