"""What a page answers to a query value it cannot honour: a bad period said once, an
unknown `by` refused with 422, a unit that does not exist a 404 "no unit" on every page that
takes `?unit=` (never a 200 that shows another unit, or all of them, as if asked for)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lineofsight.web.app import create_app
from tests.web.site import (
    PERIOD,
    RED_KPI,
    RED_KPI_OWNER,
    Site,
    build_site,
    drop_url,
    fresh_url,
    login,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def admin(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"query-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        site: Site = build_site(url, folder / "ws")
        app = create_app(site.url, secret_key="query-test-key")
        try:
            yield login(app, "admin")
        finally:
            app.state.store.close()
    finally:
        drop_url(url, pg)


PERIOD_PAGES = (
    f"/kpis/{RED_KPI}",
    "/",
    "/map",
    "/heatmap",
    "/lists/red",
    "/alignment",
    "/units/rnd",
    "/objectives/grow_market_share",
    f"/people/{RED_KPI_OWNER}",
    "/units/rnd/brief",
    "/units/rnd/brief.pdf",
)


@pytest.mark.parametrize("path", PERIOD_PAGES)
def test_a_bad_period_is_refused_naming_the_parameter_once(admin: TestClient, path: str) -> None:
    # As any other filter a page cannot honour: 422, never today's page as if asked for.
    page = admin.get(path, params={"period": "2026-13"})
    assert page.status_code == 422, path
    assert page.headers["content-type"].startswith("text/html")
    said = "&#39;2026-13&#39; is not a valid period: month must be 01-12, not 13 (accepted: "
    assert f"<h1>Period: {said}" in page.text
    assert page.text.count("is not a valid period") == 2  # the heading and its field
    assert "period &#39;2026-13&#39;:" not in page.text
    assert "period=2026-13" not in page.text, "no link carries the bad period on"


def test_heatmap_refuses_an_unknown_view(admin: TestClient) -> None:
    answer = admin.get("/heatmap", params={"by": "bogus"})
    assert answer.status_code == 422
    said = "&#39;bogus&#39; is not a choice for by: give &#39;objectives&#39; or &#39;kpis&#39;"
    assert said in answer.text
    assert admin.get("/heatmap", params={"by": "kpis"}).status_code == 200


@pytest.mark.parametrize("path", ["/map", "/heatmap", "/lists/red"])
def test_a_unit_that_does_not_exist_is_404(admin: TestClient, path: str) -> None:
    answer = admin.get(path, params={"unit": "nowhere"})
    assert answer.status_code == 404
    assert "no unit &#39;nowhere&#39;" in answer.text.lower()


def test_a_kpi_asked_for_at_a_unit_it_has_no_row_at_is_404_saying_where_it_has(
    admin: TestClient,
) -> None:
    # Never its page "now (no period)" at that unit, as if it were scored there.
    answer = admin.get(f"/kpis/{RED_KPI}", params={"unit": "rnd", "period": PERIOD})
    assert answer.status_code == 404
    assert (
        f"KPI &#39;{RED_KPI}&#39; has no row at unit &#39;rnd&#39; as of 2026-10-31" in answer.text
    )
    assert "its rows are at &#39;support_t2&#39;" in answer.text
    assert "Now (no period)" not in answer.text
    at_own = admin.get(f"/kpis/{RED_KPI}", params={"unit": "support_t2", "period": PERIOD})
    assert at_own.status_code == 200


def test_a_kpi_with_values_at_a_unit_but_none_at_the_period_shows_that_unit_saying_so(
    admin: TestClient,
) -> None:
    # A link from the KPI's history or from another period: the unit's page, with the
    # nearest period that has a value there as a link, not a 404.
    from lineofsight.services.checkin import record_measurement

    store = admin.app.state.store  # type: ignore[attr-defined]
    record_measurement(
        store, kpi_id=RED_KPI, unit_id="support_t1", period="2026-11", value=4.0, actor="tests"
    )
    answer = admin.get(f"/kpis/{RED_KPI}", params={"unit": "support_t1", "period": PERIOD})
    assert answer.status_code == 200, answer.text[:300]
    said = "No value of this KPI at Tier 1 Support for 2026-10: the nearest period with one is "
    assert said in answer.text
    assert f'href="/kpis/{RED_KPI}?unit=support_t1&amp;period=2026-11"' in answer.text
    at_that_period = admin.get(
        f"/kpis/{RED_KPI}", params={"unit": "support_t1", "period": "2026-11"}
    )
    assert at_that_period.status_code == 200
    assert "no-row-here" not in at_that_period.text
    # A unit where the KPI has no value at any period stays a 404.
    assert (
        admin.get(f"/kpis/{RED_KPI}", params={"unit": "rnd", "period": PERIOD}).status_code == 404
    )
