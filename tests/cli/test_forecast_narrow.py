"""`los forecast` in a narrow terminal, as `los status`: every KPI and unit id whole, the
projected value, its 80% interval, the target and the chance never dropped nor cut; each
written as the pages, the book, emails and the notebook write them (`lineofsight.display`)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

from lineofsight.cli import common
from lineofsight.display import chance, interval, with_measure
from lineofsight.services.evaluate import load_organization
from lineofsight.store.database import Store
from tests.conftest import Los

AS_OF = "2026-12-05"


@pytest.fixture
def example(los: Los) -> Los:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    return los


def _measures(los: Los) -> dict[str, str | None]:
    store = Store(los.db_url)
    try:
        return {k.id: k.unit_of_measure for k in load_organization(store).kpis}
    finally:
        store.close()


def _shown(los: Los, monkeypatch: pytest.MonkeyPatch, width: int) -> str:
    """`los forecast` as a terminal `width` columns wide shows it (the command line's own
    console there: soft wrap, so a table wider than the terminal wraps in it, uncut)."""
    shown = io.StringIO()
    terminal = Console(
        file=common.TrimmedLines(shown),
        width=width,
        force_terminal=True,
        color_system=None,
        highlight=False,
        soft_wrap=True,
    )
    monkeypatch.setattr(common, "out", terminal)
    result = los("forecast", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    return shown.getvalue()


def _rows(text: str) -> dict[tuple[str, str], list[str]]:
    """The cells of each row's first line (cells stand 2 or more spaces apart), by id and
    unit."""
    rows = {}
    for line in text.split("─\n", 1)[1].split("\n\n", 1)[0].splitlines():
        cells = re.split(r" {2,}", line.strip())
        if len(cells) >= 9:
            rows[cells[0], cells[1]] = cells
    return rows


@pytest.mark.parametrize("width", [80, 120, 200])
def test_ids_and_numbers_are_whole_at_any_width(
    example: Los, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    data: list[dict[str, Any]] = json.loads(
        example("forecast", "--as-of", AS_OF, "--format", "json").stdout
    )["kpis"]
    measures = _measures(example)
    text = _shown(example, monkeypatch, width)
    rows = _rows(text)
    assert len(rows) == len(data), (width, text)
    tiny = 0
    for f in data:
        cells = rows[f["id"], f["unit"]]
        measure = measures[f["id"]]
        if f["projected"] is None:
            assert cells[2:4] == ["–", "–"], cells
            continue
        sign = "≥ " if f["direction"] == "increase" else "≤ "
        last = f["path"][-1]
        assert cells[2:5] == [
            with_measure(f["projected"], measure) + ("*" if f.get("clamped") else ""),
            interval(last["low"], last["high"], measure),
            sign + with_measure(f["target"], measure),
        ], (width, cells)
        assert cells[5].startswith(f["deadline"]), cells  # the target's period may wrap below
        assert chance(f["probability"]) in cells[6:8], (width, cells)
        tiny += f["probability"] < 0.005
    # A chance below half a percent reads `<1%`, never an impossible 0%.
    assert tiny and not re.search(r" 0% ", text)
    # The range KPI without a target date shows its range with the unit once.
    assert rows["rd_spend_pct_revenue", "product_eng"][4] == "18 – 22%"
