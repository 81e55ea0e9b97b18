"""`los status` in a narrow terminal: every KPI, objective and unit id is shown whole (the
name beside it wraps below it, other columns give way), so that it can be copied."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from lineofsight.cli import common
from tests.conftest import Los

ARGS = ("status", "--as-of", "2026-12-05")


@pytest.fixture
def example(los: Los) -> Los:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    return los


def _first_cells(text: str, title: str) -> list[str]:
    """The first cell of each line of one table of the output (by its title)."""
    table = text.split(title + "\n", 1)[1].split("└", 1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^│([^│]*)│", table, re.M)]


@pytest.mark.parametrize("width", [40, 60, 100])
def test_ids_are_never_cut_in_a_narrow_terminal(
    example: Los, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    data = json.loads(example(*ARGS, "--format", "json").stdout)
    shown = io.StringIO()
    terminal = Console(
        file=common.TrimmedLines(shown),
        width=width,
        force_terminal=True,
        color_system=None,
        highlight=False,
    )
    monkeypatch.setattr(common, "out", terminal)
    result = example(*ARGS)
    assert result.exit_code == 0, result.output
    text = shown.getvalue()
    for title, rows in (
        ("KPIs as of 2026-12-05", data["kpis"]),
        ("Objectives", data["objectives"]),
        ("Units", data["units"]),
    ):
        firsts = [cell.split(" ")[0] for cell in _first_cells(text, title) if cell]
        ids = [row["id"] for row in rows]
        # Each row's id opens a line of its first column, whole; a name wraps below it.
        assert [cell for cell in firsts if cell in ids] == ids, (width, title, text)
    if width < 60:
        return  # the unit column starts past 40 columns: the terminal crops it
    kpi_lines = text.split("Objectives\n")[0]
    units = {row["unit"] for row in data["kpis"]}
    for line in kpi_lines.splitlines():
        cells = line.split("│")
        if len(cells) > 2 and cells[2].strip():
            assert cells[2].strip() in units, line
    assert "…" not in "".join(_first_cells(text, "Units")), "unit names wrap, never cut"
