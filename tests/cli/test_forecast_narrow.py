"""`los forecast` at any terminal width, as `los status`: every KPI and unit id whole, the
projected value, its 80% interval, the target and the chance never dropped nor cut; each
written as the pages, the book, emails and the notebook write them (`lineofsight.display`).
A terminal as wide as the table shows the table; a narrower one each KPI stacked: a line
with its id, unit and name, then indented lines with its figures, all within its width."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
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


def _shown(los: Los, monkeypatch: pytest.MonkeyPatch, width: int, as_of: str = AS_OF) -> str:
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
    result = los("forecast", "--as-of", as_of)
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


@pytest.mark.parametrize("width", [240, 300])
def test_a_terminal_as_wide_as_the_table_shows_the_table_whole(
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


def _stacked(text: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Each KPI of the stacked layout, by id and unit: its name (wrapped or not), and the
    words of its indented lines (wrapped or not) joined by single spaces."""
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    body = text.split("\n\n", 1)[0].splitlines()[1:]  # the title, then up to the notes
    head: tuple[str, str] | None = None
    name = ""
    figures: list[str] = []
    for line in [*body, "end"]:
        if line.startswith("   ") and not figures:  # the name wraps beside the ids
            name += " " + line.strip()
            continue
        if line.startswith(" "):
            figures.append(line)
            continue
        if head is not None:
            rows[head] = (name, " ".join(" ".join(figures).split()))
        first, unit, name, *_ = [*re.split(r" {2,}", line), "", ""]
        head, figures = (first, unit), []
    return rows


@pytest.mark.parametrize("width", [80, 120])
def test_a_narrow_terminal_shows_each_kpi_stacked_within_its_width(
    example: Los, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    data: list[dict[str, Any]] = json.loads(
        example("forecast", "--as-of", AS_OF, "--format", "json").stdout
    )["kpis"]
    measures = _measures(example)
    text = _shown(example, monkeypatch, width)
    lines = text.splitlines()
    assert lines[0] == f"Forecast as of {AS_OF}", lines[:3]
    # Nothing wider than the terminal: no line wraps there, and no column heading is needed.
    assert max(len(line) for line in lines) <= width, text
    assert "80% interval" in text and "KPI " not in text, text
    rows = _stacked(text)
    assert len(rows) == len(data), (width, sorted(rows))
    tiny = 0
    for f in data:
        name, figures = rows[f["id"], f["unit"]]
        assert name, (f["id"], text)
        measure = measures[f["id"]]
        if f["projected"] is None:
            assert "not forecast: " + f["reason"] in figures, figures
            continue
        sign = "≥ " if f["direction"] == "increase" else "≤ "
        last = f["path"][-1]
        clamped = "*" if f.get("clamped") else ""
        for shown in (
            f"projected {with_measure(f['projected'], measure)}{clamped}",
            "80% interval " + interval(last["low"], last["high"], measure),
            f"target {sign}{with_measure(f['target'], measure)} by {f['deadline']}",
            f"{chance(f['probability'])} chance",
            f"{f['method']}, {f['points']} points",
            "on track" if f["on_track"] else "off track",
        ):
            assert shown in figures, (width, shown, figures)
        tiny += f["probability"] < 0.005
    assert tiny and "<1% chance" in text and " 0% chance" not in text
    # The range KPI without a target date shows its range with the unit once.
    assert rows["rd_spend_pct_revenue", "product_eng"][1] == (
        "– not forecast: no target date target 18 – 22%"
    )
    # The notes follow, as below the table.
    assert re.search(r"^\d+ of \d+ on track", text.split("\n\n", 1)[1], re.M), text


def test_the_readme_shows_the_stacked_rows_as_an_80_column_terminal_does(
    los: Los, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"```text\n(Forecast as of 2026-11-22\n.*?)…\n```", readme, re.DOTALL)
    assert block, "the README's stacked rows"
    assert los("init", "ws", "--example", "manufacturing").exit_code == 0
    text = _shown(los, monkeypatch, 80, "2026-11-22")
    assert text.startswith(block.group(1)), text
