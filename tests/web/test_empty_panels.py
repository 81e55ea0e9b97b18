"""The actions and commentary panels of a KPI or objective with neither (most of them) are
drawn once per what they show besides the item (the reader's rights and person, the period)
and kept, the item and the session's CSRF token put in per page: every page shows them as its
templates draw them for that item, for every reader."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.web import action_panels
from tests.web.conftest import log_in

PATHS = (
    "/kpis/revenue",
    "/kpis/defects",
    "/kpis/xss?period=2026-02",
    "/kpis/revenue?unit=sales_east",
    "/kpis/revenue/checkin",
    "/objectives/grow",
    "/objectives/sell_more?period=2026-03",
)


def _drawn_whole(context: Any, name: str, subject: Any, here: str, shape: Any, **extra: Any) -> Any:
    return action_panels._render(context, name, subject=subject, here=here, **extra)


@pytest.mark.parametrize("user", ["admin", "alice", "sales_viewer", "bob"])
def test_a_kept_empty_panel_is_the_panel_drawn_for_the_item(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    assert log_in(client, user).status_code == 303
    kept = [client.get(path) for path in PATHS]
    with monkeypatch.context() as patched:
        patched.setattr(action_panels, "_empty_panel", _drawn_whole)
        whole = [client.get(path) for path in PATHS]
    shown = 0
    for path, page, drawn in zip(PATHS, kept, whole, strict=True):
        assert page.status_code == drawn.status_code, path
        assert page.text == drawn.text, path
        shown += 'id="actions"' in page.text and 'id="commentary"' in page.text
    assert shown >= 1


def test_a_second_items_empty_panels_are_not_drawn_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert log_in(client, "admin").status_code == 303
    assert client.get("/kpis/revenue").status_code == 200
    drawn: list[str] = []
    real = action_panels._render

    def counted(context: Any, name: str, **extra: Any) -> Any:
        drawn.append(name)
        return real(context, name, **extra)

    monkeypatch.setattr(action_panels, "_render", counted)
    page = client.get("/kpis/conversion")
    assert page.status_code == 200
    assert 'id="actions"' in page.text and 'id="commentary"' in page.text
    assert 'name="subject_id" value="conversion"' in page.text
    assert drawn == []
