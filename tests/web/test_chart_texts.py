"""The KPI page's charts, drawn by the server as SVG: a tag that a user typed in a name is
drawn as text, never as markup; the what-changed bars stand on zero and carry their numbers."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from lineofsight.display import human
from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from lineofsight.web.kpi_view import change_chart
from lineofsight.web.templating import number
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


def test_the_kpi_pages_charts_are_svg_with_texts_as_typed(db_url: str, tmp_path: Path) -> None:
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
    finally:
        app.state.store.close()
    bars = page.text.split('id="explain-chart"')[1].split("</div>")[0]
    svg = bars[bars.index("<svg") : bars.index("</svg>")]
    assert 'role="img"' in svg and "<a" not in svg and "<b>" not in svg
    # The unit's name, tags and all, is a text of the chart, shown as typed.
    names = [html.unescape(t) for t in re.findall(r"<title>(.*?): [^<]*</title>", svg)]
    assert LINK_NAME in names
    # The unit of measure titles the values' axis, as typed.
    line = page.text.split('id="kpi-chart"')[1].split("</svg>")[0]
    unit = re.search(r'<text class="unit"[^>]*>(.*?)</text>', line)
    assert unit and html.unescape(unit.group(1)) == LINK_UNIT and "<a" not in line
    assert "plotly" not in page.text.lower()


def test_the_change_bars_stand_on_zero_and_carry_their_numbers() -> None:
    svg = str(
        change_chart(
            {
                "from_name": "Sep 2026",
                "to_name": "Oct 2026",
                "from": 105.5,
                "to": 107.5,
                "items": ["East", "West & <b>co</b>"],
                "values": [3.0, -1.0],
            }
        )
    )
    ticks = re.findall(r'<text x="\d+" y="[\d.]+" text-anchor="end">([^<]+)</text>', svg)
    assert ticks[0] == "0" and float(ticks[-1]) >= 108.5  # a +3 on 105.5 looks small
    assert 'class="zero"' in svg
    values = re.findall(r'<text class="value"[^>]*>([^<]+)</text>', svg)
    assert values == ["105.5", "+3", "-1", "107.5"]
    assert re.findall(r'<g class="bar (\w+)"', svg) == ["total", "up", "down", "total"]
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] > 30 * heights[2]  # 105.5 against 1: lengths compare truly
    assert "West &amp; &lt;b&gt;co&lt;/b&gt;" in svg and "<b>" not in svg


def test_a_number_kept_for_one_value_is_the_text_of_every_value_equal_to_it() -> None:
    """The pages' numbers are kept per value: one asked for first never answers for another
    that compares equal with a text of its own (0.0 and -0.0, 2 and 2.0, numpy's floats)."""
    pairs = [
        (0.0, -0.0),
        (-0.0, 0),
        (2, 2.0),
        (10**16, 1e16),
        (np.float64(3.25), 3.25),
        (np.int64(7), 7.0),
        (-1234.5, np.float64(-1234.5)),
        (True, 1.0),
    ]
    for first, second in pairs:
        for a, b in ((first, second), (second, first)):
            number.cache_clear()
            assert number(a) == human(a)
            assert number(b) == human(b), (a, b)
    number.cache_clear()
    assert number(None) == "–"
    assert [number(v) for v in (0.05234, 34_320.0, float("nan"))] == ["0.05234", "34,320", "-"]
