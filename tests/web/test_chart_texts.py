"""Texts that users typed reach Plotly as plain text: a tag in a unit of measure or a name is
drawn as typed, never as a link or markup (Plotly reads `<a href>`, `<b>`, `<br>` in any text
it draws)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from lineofsight.web.pages_detail import chart_texts
from tests.web.conftest import MEASUREMENTS, PASSWORD, STRATEGY, log_in

LINK_UNIT = '<a href="https://evil.example/">EUR</a> & more'
LINK_NAME = "<a href='https://evil.example/'>Sales East</a><br><b>bold</b>"


def _store(url: str, folder: Path) -> None:
    text = STRATEGY.replace("name: Sales East", f'name: "{LINK_NAME}"', 1).replace(
        "    name: Revenue\n", f"    name: Revenue\n    unit_of_measure: '{LINK_UNIT}'\n", 1
    )
    assert LINK_NAME in text and LINK_UNIT in text
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.yaml").write_text(text, encoding="utf-8")
    (folder / "data.csv").write_text(MEASUREMENTS, encoding="utf-8")
    store = Store(url)
    try:
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "data.csv")
        accounts.add_user(store, "admin", PASSWORD, [Grant("admin")], actor="tests")
    finally:
        store.close()


def _block(page: str, block_id: str) -> Any:
    found = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', page)
    assert found, f"no {block_id} on the page"
    return json.loads(found.group(1))


def _strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def test_every_chart_text_on_the_kpi_page_is_plain(db_url: str, tmp_path: Path) -> None:
    _store(db_url, tmp_path / "org")
    app = create_app(db_url, secret_key="k")
    try:
        with TestClient(app, follow_redirects=False) as client:
            assert log_in(client, "admin").status_code == 303
            page = client.get(
                "/kpis/revenue",
                params={"unit": "sales", "from_period": "2026-02", "to_period": "2026-03"},
            )
        assert page.status_code == 200, page.text[:500]
        chart = _block(page.text, "kpi-chart-data")
        explain = _block(page.text, "explain-chart-data")
    finally:
        app.state.store.close()
    texts = _strings(chart) + _strings(explain)
    assert not [t for t in texts if "<" in t or ">" in t]
    # Plotly turns the entities back into the characters: it draws exactly what was typed.
    assert html.unescape(chart["unit_of_measure"]) == LINK_UNIT
    assert LINK_NAME in [html.unescape(item) for item in explain["items"]]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("EUR", "EUR"),
        ('<a href="x">y</a>', '&lt;a href="x"&gt;y&lt;/a&gt;'),
        ("&lt; already", "&amp;lt; already"),
        (
            {"a": ["<b>", 1.5, None], "b": ("<br>",)},
            {"a": ["&lt;b&gt;", 1.5, None], "b": ["&lt;br&gt;"]},
        ),
    ],
)
def test_chart_texts_escapes_every_string(given: Any, sent: Any) -> None:
    assert chart_texts(given) == sent
