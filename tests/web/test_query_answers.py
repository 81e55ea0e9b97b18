"""What a page answers to a query value it cannot honour: a bad period said once."""

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
