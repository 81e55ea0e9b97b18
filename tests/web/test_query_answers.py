"""What a page answers to a query value it cannot honour: a bad period said once, an
unknown `by` refused with 422, a unit that does not exist a 404 "no unit" on every page that
takes `?unit=` (never a 200 that shows another unit, or all of them, as if asked for)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lineofsight.web.app import create_app
from tests.web.site import RED_KPI, Site, build_site, drop_url, fresh_url, login


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


def test_a_bad_period_is_quoted_once(admin: TestClient) -> None:
    for path in (f"/kpis/{RED_KPI}", "/", "/map", "/heatmap"):
        page = admin.get(path, params={"period": "2026-13"})
        assert page.status_code == 200, path
        assert "&#39;2026-13&#39; is not a valid period: month must be 01-12" in page.text
        assert "period &#39;2026-13&#39;:" not in page.text  # said once, not twice


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
