"""A KPI page shows the forecast `los forecast` makes for that KPI at the same date: the
projected value and the call, the chance and the 80% interval in the forecast panel, and each
period of the path with its interval in the chart. After a check-in the page shows the new
value and the forecast `los forecast` makes from it. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from lineofsight.display import chance, interval, with_measure
from lineofsight.services.evaluate import load_organization
from lineofsight.web.app import create_app
from tests.conftest import Los
from tests.web.site import (
    PERIOD,
    RED_KPI,
    Site,
    build_site,
    csrf_from,
    drop_url,
    fresh_url,
    login,
    side_store,
)

AS_OF = "2026-10-31"  # the last day of PERIOD: what `?period=` looks at


@pytest.fixture(params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"forecast-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        yield build_site(url, folder / "ws")
    finally:
        drop_url(url, pg)


def _command(site: Site) -> dict[str, dict[str, Any]]:
    """`los forecast --as-of AS_OF` of each KPI at its own unit, by id, with the KPI's unit
    of measure."""
    result = Los(site.url)("forecast", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    store = side_store(site.url)
    try:
        kpis = {k.id: k for k in load_organization(store).kpis}
    finally:
        store.close()
    return {
        f["id"]: {**f, "unit_of_measure": kpis[f["id"]].unit_of_measure}
        for f in json.loads(result.output)["kpis"]
        if f["unit"] == kpis[f["id"]].unit
    }


def _shown(page: str) -> dict[str, Any]:
    """The forecast a KPI page shows: its panel's sentence and the chart's path, period by
    period (each period's tip in the chart)."""
    panel = re.search(
        r'Projected <strong id="forecast-projected">([^<]+)</strong> in (\S+) against a target'
        r" of ([^<]+?) by (\S+):.*?(on track|off track).*?"
        r'<strong class="probability">([^<]+)</strong>;'
        r' 80% interval <span id="forecast-interval">([^<]+)</span>\)',
        page,
        re.S,
    )
    assert panel is not None
    chart = page.split('id="kpi-chart"')[1].split("</svg>")[0]  # the wide drawing's
    tips = re.findall(r'<rect class="hit" [^>]*><title>([^<]+)</title>', chart)
    found = (re.search(r"forecast (.+?) \((.+?)\)$", html.unescape(t)) for t in tips)
    return {
        "panel": tuple(html.unescape(g) for g in panel.groups()),
        "path": [f.groups() for f in found if f],
    }


def _expected(forecast: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of `los forecast`'s forecast, as every page, table and book
    writes forecasts (`lineofsight.display`): values with the KPI's unit of measure, the
    chance a whole percent (`<1%` at the low end)."""
    last = forecast["path"][-1]
    measure = forecast["unit_of_measure"]
    panel = (
        with_measure(forecast["projected"], measure),
        forecast["period"],
        with_measure(forecast["target"], measure),
        forecast["deadline"],
        "on track" if forecast["on_track"] else "off track",
        chance(forecast["probability"]),
        interval(last["low"], last["high"], measure),
    )
    path = [
        (with_measure(p["value"], measure), interval(p["low"], p["high"], measure))
        for p in forecast["path"]
    ]
    return {"panel": panel, "path": path}


def test_the_kpi_page_shows_los_forecasts_forecast_before_and_after_a_check_in(
    site: Site,
) -> None:
    app = create_app(site.url, secret_key="forecast-test-key")
    try:
        admin = login(app, "admin")
        made = _command(site)
        forecast = {k: f for k, f in made.items() if f["projected"] is not None}
        assert len(forecast) > 20
        for kpi_id, expected in forecast.items():
            page = admin.get(f"/kpis/{kpi_id}?period={PERIOD}")
            assert page.status_code == 200
            assert _shown(page.text) == _expected(expected), kpi_id

        # A check-in that changes the KPI's last value changes its forecast: the page shows
        # the new value and the forecast `los forecast` makes now.
        before = forecast[RED_KPI]
        token = csrf_from(admin.get(f"/kpis/{RED_KPI}/checkin?period={PERIOD}").text)
        answer = admin.post(
            f"/kpis/{RED_KPI}/checkin",
            data={"period": PERIOD, "value": "9.75", "note": "recount", "csrf_token": token},
        )
        assert answer.status_code in (200, 303), answer.text
        after = _command(site)[RED_KPI]
        assert after["path"] != before["path"]
        page = admin.get(f"/kpis/{RED_KPI}?period={PERIOD}").text
        assert re.search(r"Oct 2026: actual 9\.75\b", html.unescape(page))
        assert _shown(page) == _expected(after)
    finally:
        app.state.store.close()
