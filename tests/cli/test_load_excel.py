"""`los load` of workbooks as finance teams write them, and of periods that overlap.

Title rows above the header, the data on a named sheet, formulas with no saved result,
percentage cells, Excel error cells and date cells; and a KPI's values at two grains (a day
and its month) refused in one file and against the store, so that no sum counts twice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements
from tests.conftest import FIXTURES, Los

FULL = FIXTURES / "specs" / "valid" / "full.yaml"


@pytest.fixture
def applied(los: Los, workdir: Path) -> Los:
    # nps measured in percent, to show how percentage cells load.
    spec = workdir / "strategy.yaml"
    spec.write_text(FULL.read_text().replace("unit_of_measure: points", "unit_of_measure: '%'"))
    result = los("apply", str(spec))
    assert result.exit_code == 0, result.output
    return los


def _stored(db_url: str) -> dict[tuple[str, str, str], float | None]:
    store = Store(db_url)
    with store.reading() as conn:
        rows = read_measurements(conn)
    store.close()
    return {(r["kpi_id"], r["unit_id"], r["period"]): r["value"] for r in rows}


def _book(rows: list[list[object]], title: str = "Sheet") -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    return book


def test_title_rows_above_the_header_are_skipped(applied: Los, workdir: Path, db_url: str) -> None:
    book = _book(
        [
            ["Finance pack, October 2026"],
            [],
            ["KPI", "Period", "Value", "Note"],
            ["dio", "2026-10", 45, "close"],
            ["dpo", "2026-10", "n/a", None],
        ]
    )
    path = workdir / "pack.xlsx"
    book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2
    # Rows are numbered as the sheet shows them.
    assert "pack.xlsx, sheet 'Sheet': row 5: column value: 'n/a' is not a number" in result.output
    book.active.delete_rows(5)
    book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 0, result.output
    assert "pack.xlsx, sheet 'Sheet' (header on row 3): 1 row: 1 added" in result.output
    assert _stored(db_url) == {("dio", "ti", "2026-10"): 45}


def test_a_sheet_is_chosen_by_name_and_named_in_every_message(
    applied: Los, workdir: Path, db_url: str
) -> None:
    book = _book([["Summary of the quarter"]], title="Summary")
    q3 = book.create_sheet("Q3")
    q3.append(["kpi", "period", "value"])
    q3.append(["dio", "2026-07", 41])
    q3.append(["dio", "2026-08", "lots"])
    path = workdir / "data.xlsx"
    book.save(path)
    result = applied("load", str(path), "--sheet", "Q3")
    assert result.exit_code == 2
    assert "data.xlsx, sheet 'Q3': row 3: column value: 'lots' is not a number" in result.output
    assert "data.xlsx, sheet 'Q3': 1 bad row; nothing was loaded" in result.output
    # The first sheet has no header: said, with the sheet's name.
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert (
        "data.xlsx, sheet 'Summary': row 1: header: missing columns kpi, period, value"
    ) in result.output
    result = applied("load", str(path), "--sheet", "Q4")
    assert result.exit_code == 2
    assert "data.xlsx: no sheet 'Q4' (its sheets: 'Summary', 'Q3')" in result.output
    q3.delete_rows(3)
    book.save(path)
    assert applied("load", str(path), "--sheet", "Q3").exit_code == 0
    assert _stored(db_url) == {("dio", "ti", "2026-07"): 41}


def test_a_formula_with_no_saved_result_is_named(applied: Los, workdir: Path, db_url: str) -> None:
    # openpyxl writes formulas without their results, as any program but Excel does.
    book = _book([["kpi", "period", "value"], ["dio", "2026-01", 40], ["dio", "2026-02", "=C2*2"]])
    path = workdir / "formulas.xlsx"
    book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert (
        "formulas.xlsx, sheet 'Sheet': row 3: column value: a formula with no saved result "
        "(=C2*2); open and save the file in Excel first"
    ) in result.output
    assert _stored(db_url) == {}


def test_an_excel_error_cell_is_named(applied: Los, workdir: Path, db_url: str) -> None:
    book = _book([["kpi", "period", "value"], ["dio", "2026-01", "#DIV/0!"]])
    path = workdir / "errors.xlsx"
    book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert "row 2: column value: the cell shows the Excel error #DIV/0!" in result.output
    assert _stored(db_url) == {}


def test_percentage_cells_load_as_shown_on_a_percent_kpi(
    applied: Los, workdir: Path, db_url: str
) -> None:
    book = _book([["kpi", "period", "value"], ["nps", "2026-Q1", 0.893], ["dio", "2026-01", 0.5]])
    for row in (2, 3):
        book.active.cell(row, 3).number_format = "0.0%"
    path = workdir / "percent.xlsx"
    book.save(path)
    result = applied("load", str(path))
    # dio has no unit of measure: a cell shown as 50% is not clearly 0.5 nor 50.
    assert result.exit_code == 2
    assert (
        "row 3: column value: the cell shows 50% but KPI 'dio' is measured with no "
        "unit_of_measure: format the cell as a plain number, or give the KPI unit_of_measure"
    ) in result.output
    assert _stored(db_url) == {}
    book.active.delete_rows(3)
    book.save(path)
    assert applied("load", str(path)).exit_code == 0
    assert _stored(db_url) == {("nps", "cs", "2026-Q1"): 89.3}


def test_a_date_cell_is_the_kpis_period_that_holds_the_day(
    applied: Los, workdir: Path, db_url: str
) -> None:
    book = _book(
        [
            ["kpi", "period", "value"],
            ["dpo", dt.datetime(2026, 11, 1), 104],  # monthly: 2026-11
            ["nps", dt.date(2026, 8, 15), 40],  # quarterly, fiscal year from April
        ]
    )
    path = workdir / "dates.xlsx"
    book.save(path)
    assert applied("load", str(path)).exit_code == 0
    assert _stored(db_url) == {("dpo", "ti", "2026-11"): 104, ("nps", "cs", "FY2027-Q2"): 40}
    # The same month again, written as text: the same value, not a second one to add.
    again = workdir / "again.csv"
    again.write_text("kpi,period,value\ndpo,2026-11,104\n")
    result = applied("load", str(again))
    assert "1 row: 0 added, 0 replaced, 1 unchanged" in result.output


def test_a_day_and_its_month_in_one_file_are_refused(
    applied: Los, workdir: Path, db_url: str
) -> None:
    path = workdir / "both.csv"
    path.write_text(
        "kpi,period,value,unit\n"
        "dpo,2026-11-01,104,\n"
        "dpo,2026-10,90,\n"
        "dpo,2026-11,104,\n"  # row 4: shares days with row 2
        "dpo,2026-11,104,cs\n"  # another unit: no overlap with the first's
        "nps,2026-Q1,30,\n"
        "nps,FY2026-Q4,31,\n"  # the fiscal year starts in April: Jan-Mar 2026 again
    )
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert (
        "both.csv: row 4: column period: 2026-11 shares days with 2026-11-01 in row 2 "
        "(the same KPI and unit)"
    ) in result.output
    assert "row 7: column period: FY2026-Q4 shares days with 2026-Q1 in row 6" in result.output
    assert "row 5" not in result.output
    assert "2 bad rows; nothing was loaded" in result.output
    assert _stored(db_url) == {}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_overlapping_periods_and_other_bad_rows_are_said_in_one_pass(
    applied: Los, workdir: Path, db_url: str, kind: str
) -> None:
    """A file with a row of an unknown KPI and two rows whose periods share days: every bad
    row is listed at once, by row number (the frame checker for a plain CSV, row by row for
    a workbook), not the overlap only after the other rows are mended."""
    rows: list[list[object]] = [
        ["kpi", "period", "value"],
        ["dpo", "2026-11-01", 104],
        ["nosuch", "2026-10", 1],  # row 3: an unknown KPI
        ["dpo", "2026-11", 104],  # row 4: shares days with row 2
        ["dpo", "2026-12", "many"],  # row 5: not a number
    ]
    path = workdir / f"mixed.{kind}"
    if kind == "csv":
        path.write_text("".join(",".join(str(c) for c in row) + "\n" for row in rows))
    else:
        _book(rows).save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2, result.output
    assert "3 bad rows; nothing was loaded" in result.output
    said = [line for line in result.output.splitlines() if ": row " in line]
    assert [line.split(": row ")[1].split(":")[0] for line in said] == ["3", "4", "5"], said
    assert "row 4: column period: 2026-11 shares days with 2026-11-01 in row 2" in result.output
    assert "Traceback" not in result.output
    assert _stored(db_url) == {}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_repeated_row_is_said_once_not_again_as_an_overlap(
    applied: Los, workdir: Path, db_url: str, kind: str
) -> None:
    """Row 3 repeats row 2 (the same KPI, unit and period) and row 4's day lies in their
    month: two bad rows, each said once."""
    rows: list[list[object]] = [
        ["kpi", "period", "value"],
        ["dpo", "2026-05", 1],
        ["dpo", "2026-05", 2],  # row 3: repeats row 2
        ["dpo", "2026-05-15", 3],  # row 4: shares days with row 2
    ]
    path = workdir / f"repeat.{kind}"
    if kind == "csv":
        path.write_text("".join(",".join(str(c) for c in row) + "\n" for row in rows))
    else:
        _book(rows).save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2, result.output
    assert "2 bad rows; nothing was loaded" in result.output, result.output
    said = [line for line in result.output.splitlines() if ": row " in line]
    assert [line.split(": row ")[1].split(":")[0] for line in said] == ["3", "4"], said
    assert "repeats row 2" in result.output
    assert _stored(db_url) == {}


@pytest.mark.parametrize(
    ("first", "then", "stored"),
    [
        ("dpo,2026-11-01,104", "dpo,2026-11,104", "2026-11-01"),  # a day, then its month
        ("dpo,2026-11,104", "dpo,2026-11-30,104", "2026-11"),  # the month, then its last day
        ("dpo,2026-W05,10", "dpo,2026-02,30", "2026-W05"),  # a week that runs into February
        ("dpo,2026-02,30", "dpo,2026-W05,10", "2026-02"),
        ("nps,2026-Q1,30", "nps,FY2026-Q4,31", "2026-Q1"),  # a calendar and a fiscal quarter
    ],
)
def test_a_period_that_shares_days_with_a_stored_one_is_refused(
    applied: Los, workdir: Path, db_url: str, first: str, then: str, stored: str
) -> None:
    before = workdir / "before.csv"
    before.write_text(f"kpi,period,value\n{first}\ndso,2026-01,5\n")
    assert applied("load", str(before)).exit_code == 0
    kept = _stored(db_url)
    after = workdir / "after.csv"
    after.write_text(f"kpi,period,value\ndso,2026-02,6\n{then}\n")
    result = applied("load", str(after))
    assert result.exit_code == 2, result.output
    kpi, period = then.split(",")[:2]
    unit = "cs" if kpi == "nps" else "ti"
    assert (
        f"after.csv: row 3: column period: {period} shares days with {stored}, already stored "
        f"for ({kpi}, {unit}): values for both would be counted twice"
    ) in result.output
    assert _stored(db_url) == kept


@pytest.mark.parametrize("pairs_at_most", [0, 20_000])
def test_overlaps_are_found_whether_stored_values_are_read_by_pairs_or_by_periods(
    applied: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, pairs_at_most: int
) -> None:
    # A day stored on the month's last day is read with the month's own rows: by the
    # (last day, KPI) pair, or with the whole last day when the file has many pairs.
    from lineofsight.store import measurement_writes

    monkeypatch.setattr(measurement_writes, "PAIRS_AT_MOST", pairs_at_most)
    before = workdir / "before.csv"
    before.write_text("kpi,period,value\ndpo,2026-11-30,50\ndso,2026-11-30,7\n")
    assert applied("load", str(before)).exit_code == 0
    after = workdir / "after.csv"
    after.write_text("kpi,period,value\ndso,2026-11-30,8\ndpo,2026-11,104\n")
    result = applied("load", str(after))
    assert result.exit_code == 2, result.output
    assert "row 3: column period: 2026-11 shares days with 2026-11-30, already stored" in (
        result.output
    )
    assert "row 2" not in result.output
    assert _stored(db_url) == {("dpo", "ti", "2026-11-30"): 50, ("dso", "ti", "2026-11-30"): 7}
