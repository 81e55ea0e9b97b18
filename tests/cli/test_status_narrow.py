"""`los status` in a narrow terminal: every KPI, objective and unit id is shown whole (the
name beside it wraps below it, other columns give way), so that it can be copied."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from rich.table import Table

from lineofsight.cli import common
from lineofsight.cli.idtable import IdTable
from lineofsight.display import score, with_measure
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


def _rows(text: str, title: str, key: int) -> dict[tuple[str, str], list[str]]:
    """The cells of each row's first line (the one with a value in cell `key`) in one table
    of the output, by the row's id and second cell."""
    table = text.split(title + "\n", 1)[1].split("└", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) > key and cells[key]:
            rows[cells[0].split(" ")[0], cells[1]] = cells
    return rows


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_numbers_periods_and_statuses_are_never_blank_or_cut(
    example: Los, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    # As on a terminal (`common.out` wraps long lines softly): a table too wide for the
    # terminal is printed wider than it rather than with its numbers blank or cut to `13…`.
    data = json.loads(example(*ARGS, "--format", "json").stdout)
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
    result = example(*ARGS)
    assert result.exit_code == 0, result.output
    text = shown.getvalue()
    kpis = _rows(text, "KPIs as of 2026-12-05", 2)
    assert len(kpis) == len(data["kpis"]), (width, text)
    for row in data["kpis"]:
        cells = kpis[row["id"], row["unit"]]
        assert cells[2:6] == [
            row["period"],
            with_measure(row["actual"], row["unit_of_measure"]),
            with_measure(row["target"], row["unit_of_measure"]),
            score(row["score"]),
        ], (width, cells)
        assert cells[6].endswith(row["status"]), (width, cells)
    for title, rows in (("Objectives", data["objectives"]), ("Units", data["units"])):
        shown_rows = {key[0]: cells for key, cells in _rows(text, title, 1).items()}
        assert len(shown_rows) == len(rows), (width, title, text)
        for row in rows:
            cells = shown_rows[row["id"]]
            assert cells[1] == score(row["score"]), (width, title, cells)
            assert row["status"] in cells[-3], (width, cells)


def test_an_id_column_keeps_its_longest_id_and_its_longest_word_padded_once() -> None:
    # The id column's least width is Rich's measure of it (padding and `min_width` counted
    # there, once): the id keeps its width, and a word of the name beside it wraps whole
    # below it rather than cut to `Int…`, as in any other column that wraps.
    table = IdTable(box=None)
    table.add_column("KPI", min_width=3)
    table.add_column("value", no_wrap=True)
    table.add_column("note")
    table.add_row("abc Internationalisation", "12,345.6789", "some words to wrap")
    shown = io.StringIO()
    Console(width=30, file=shown, soft_wrap=True).print(table)
    lines = shown.getvalue().splitlines()
    assert "…" not in shown.getvalue(), shown.getvalue()
    assert [line.split()[0] for line in lines[1:3]] == ["abc", "Internationalisation"], lines
    # One padding of one space each side: the column is the word's width plus two.
    assert lines[2].index("Internationalisation") == 1, lines
    assert lines[1].index("12,345.6789") == 1 + len("Internationalisation") + 2, lines


def test_a_rich_without_the_helper_the_widths_use_keeps_its_own_widths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A later Rich may rename its private helpers: the table is then laid out by Rich alone.
    def own_widths(table: Table, console: Console, options: object) -> list[int]:
        return [7] * len(table.columns)

    monkeypatch.setattr(Table, "_calculate_column_widths", own_widths)
    monkeypatch.delattr(Table, "_measure_column")
    table = IdTable()
    table.add_column("id", min_width=30)
    table.add_column("value", no_wrap=True)
    table.add_row("a_very_long_identifier_indeed", "12,345.6789")
    console = Console(width=20, file=io.StringIO())
    assert table._calculate_column_widths(console, console.options) == [7, 7]


def test_the_tree_wraps_each_line_under_its_branch_in_a_narrow_terminal(
    example: Los, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = io.StringIO()
    # As the command line's own console on a terminal: soft wrap, 80 columns.
    terminal = Console(
        file=common.TrimmedLines(shown),
        width=80,
        soft_wrap=True,
        force_terminal=True,
        color_system=None,
        highlight=False,
    )
    monkeypatch.setattr(common, "out", terminal)
    result = example("tree", "--period", "2026-10", "--unit", "customer_service")
    assert result.exit_code == 0, result.output
    text = shown.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    for kpi in ("first_contact_resolution_pct", "t2_backlog_days", "sla_resolution_pct"):
        assert re.search(rf"\b{kpi}\b", text), (kpi, text)
    # Nothing is cut: the actual and target of each KPI are there, wrapped or not.
    words = " ".join(re.sub(r"[│├└─]", " ", text).split())
    assert "5.1 working days / 3.142 working days" in words, words
    assert "88.9% / 88.21%" in words, words
