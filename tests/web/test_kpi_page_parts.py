"""The KPI page's lower half (chart numbers, what changed, line of sight, drivers, other units,
measurements) is drawn once per store revision and scope and kept: the page built from the
kept half is the page drawn whole, for each reader's scope, and a check-in shows at once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.web import pages_detail
from lineofsight.web.templating import render as real_render
from tests.web.conftest import csrf_of, log_in

PATHS = (
    "/kpis/revenue",
    "/kpis/revenue?period=2026-02",
    "/kpis/revenue?from_period=2026-01&to_period=2026-03",
    "/kpis/revenue?from_period=2026-01&to_period=bogus",
)


def _history(page: str) -> str:
    return page[page.index('id="history"') : page.index("</table>", page.index('id="history"'))]


@pytest.mark.parametrize("user", ["admin", "sales_viewer"])
def test_the_page_from_its_kept_half_is_the_page_drawn_whole(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    assert log_in(client, user).status_code == 303
    for path in PATHS:
        drawn = client.get(path)
        kept = client.get(path)
        assert drawn.status_code == kept.status_code == 200, path
        with monkeypatch.context() as patched:
            # No kept half: the template draws its lower block itself, from the same values.
            values: dict[str, Any] = {}

            def not_kept(*args: Any, found: dict[str, Any] = values) -> None:
                found.update(args[-1]())

            def render_whole(
                request: Any, name: str, found: dict[str, Any] = values, **context: Any
            ) -> Any:
                return real_render(request, name, **{**found, **context})

            patched.setattr(pages_detail, "kept_block", not_kept)
            patched.setattr(pages_detail, "render", render_whole)
            whole = client.get(path).text
        assert drawn.text == kept.text == whole, path
        assert 'id="history"' in whole and 'id="los-h"' in whole


def test_a_check_in_shows_in_the_kept_half_at_once(client: TestClient) -> None:
    assert log_in(client, "admin").status_code == 303
    before = client.get("/kpis/revenue").text
    assert "2026-04" not in _history(before)
    saved = client.post(
        "/kpis/revenue/checkin",
        data={"period": "2026-04", "value": "141.5", "csrf_token": csrf_of(client)},
    )
    assert saved.status_code == 303, saved.text
    after = _history(client.get("/kpis/revenue").text)
    assert "2026-04" in after and "141.5" in after
