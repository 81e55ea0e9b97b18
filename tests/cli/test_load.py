"""`los load`: CSV and Excel, all-or-nothing per file, every bad row listed, history kept."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from lineofsight.errors import LoadError
from lineofsight.services import measurements as load_service
from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements, read_revisions
from tests.conftest import FIXTURES, Los

FULL = FIXTURES / "specs" / "valid" / "full.yaml"
HEADER = "kpi,period,value,unit,numerator,denominator,note\n"


@pytest.fixture
def applied(los: Los) -> Los:
    result = los("apply", str(FULL))
    assert result.exit_code == 0, result.output
    return los


def _csv(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(HEADER + body)
    return path


def _rows(db_url: str, kpi: str | None = None) -> list[dict]:
    store = Store(db_url)
    with store.reading() as conn:
        rows = read_measurements(conn, kpi)
    store.close()
    return rows


def test_good_file_loads(applied: Los, workdir: Path, db_url: str) -> None:
    path = _csv(
        workdir,
        "good.csv",
        "nps,2026-Q1,38,,,,First survey of the year\n"
        "nps,2026-Q1,41,cs_t1,,,\n"
        "dio,2026-01,45,,,,\n"
        "dio,2026-W10,44,,,,\n"  # finer than monthly: kept, aggregated later
        "readmission_rate,2026-01,,,12,100,\n"
        "bed_occupancy,2026-01-15,88,,,,\n",
    )
    result = applied("load", str(path))
    assert result.exit_code == 0, result.output
    assert "6 rows: 6 added, 0 replaced, 0 unchanged" in result.output
    rows = {(r["kpi_id"], r["unit_id"], r["period"]): r for r in _rows(db_url)}
    assert rows[("nps", "cs", "2026-Q1")]["note"] == "First survey of the year"
    assert rows[("nps", "cs_t1", "2026-Q1")]["value"] == 41
    ratio = rows[("readmission_rate", "ti", "2026-01")]
    assert (ratio["numerator"], ratio["denominator"], ratio["value"]) == (12, 100, None)
    week = rows[("dio", "ti", "2026-W10")]
    assert (str(week["period_start"]), str(week["period_end"])) == ("2026-03-02", "2026-03-08")


def test_every_bad_row_is_listed_and_nothing_is_stored(
    applied: Los, workdir: Path, db_url: str
) -> None:
    path = _csv(
        workdir,
        "bad.csv",
        "nps,2026-Q1,38,,,,\n"  # row 2 fine
        "nps,2026,40,,,,\n"  # row 3: coarser than quarterly
        "nps,2026-Q2,140,,,,\n"  # row 4: outside bounds
        "nope,2026-01,1,,,,\n"  # row 5: unknown KPI
        "dio,2026-02,abc,,,,\n"  # row 6: not a number
        "dio,2026-14,3,,,,\n"  # row 7: bad period
        "dio,2026-03,3,mars,,,\n"  # row 8: unknown unit
        "ccc,2026-Q1,50,,,,\n"  # row 9: formula KPI
        "readmission_rate,2026-01,12,,,,\n"  # row 10: ratio needs numerator/denominator
        "readmission_rate,2026-02,,,5,-1,\n"  # row 11: negative denominator
        "nps,2026-Q1,39,,,,\n"  # row 12: repeats row 2
        "dio,2026-04,,,,,\n",  # row 13: empty value
    )
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    expected = [
        "row 3: column period: 2026 is coarser than the KPI's frequency (quarterly)",
        "row 4: column value: 140 is outside the KPI's bounds [-100, 100]",
        "row 5: column kpi: unknown KPI 'nope'",
        "row 6: column value: 'abc' is not a number",
        "row 7: column period: '2026-14' is not a valid period",
        "row 8: column unit: unknown unit 'mars'",
        "row 9: column kpi: KPI 'ccc' is computed by its formula",
        "row 10: column value: 'readmission_rate' is a ratio KPI: give numerator and denominator",
        "row 11: column denominator: -1 is negative",
        "row 12: repeats row 2 (nps, cs, 2026-Q1)",
        "row 13: column value: is empty",
    ]
    for fragment in expected:
        assert f"bad.csv: {fragment}" in result.output, result.output
    assert "11 bad rows; nothing was loaded" in result.output
    assert _rows(db_url) == []


def test_a_numerator_over_a_zero_denominator_is_refused_and_zero_of_zero_is_kept(
    applied: Los, workdir: Path, db_url: str
) -> None:
    stored = _csv(workdir, "m1.csv", "readmission_rate,2026-01,,,12,100,\n")
    assert applied("load", str(stored)).exit_code == 0
    bad = _csv(
        workdir,
        "bad.csv",
        "readmission_rate,2026-01,,,10,0,\n"  # row 2: 10 of nothing
        "readmission_rate,2026-02,,,0,0,\n",  # row 3: a period with nothing to count
    )
    result = applied("load", str(bad))
    assert result.exit_code == 2, result.output
    assert (
        "bad.csv: row 2: column denominator: 0 under the numerator 10 makes no ratio"
    ) in result.output, result.output
    assert "1 bad row; nothing was loaded" in result.output
    rows = _rows(db_url, "readmission_rate")
    assert [(r["period"], r["numerator"], r["denominator"]) for r in rows] == [("2026-01", 12, 100)]
    empty = _csv(workdir, "empty.csv", "readmission_rate,2026-02,,,0,0,\n")
    assert applied("load", str(empty)).exit_code == 0


def test_reloading_replaces_and_keeps_revisions(applied: Los, workdir: Path, db_url: str) -> None:
    first = _csv(workdir, "m1.csv", "dio,2026-01,45,,,,\ndio,2026-02,47,,,,\n")
    assert applied("load", str(first)).exit_code == 0
    second = _csv(workdir, "m2.csv", "dio,2026-01,44.5,,,,restated\ndio,2026-02,47,,,,\n")
    result = applied("load", str(second))
    assert "2 rows: 0 added, 1 replaced, 1 unchanged" in result.output
    rows = {r["period"]: r for r in _rows(db_url, "dio")}
    assert rows["2026-01"]["value"] == 44.5 and rows["2026-01"]["revision"] == 2
    assert rows["2026-02"]["revision"] == 1
    store = Store(db_url)
    with store.reading() as conn:
        revisions = read_revisions(conn, "dio", "ti", "2026-01")
    store.close()
    assert [(r["revision"], r["value"], r["source"]) for r in revisions] == [(1, 45.0, str(first))]


def test_a_file_without_a_note_column_leaves_the_stored_notes_alone(
    applied: Los, workdir: Path, db_url: str
) -> None:
    first = _csv(workdir, "m1.csv", "dio,2026-01,45,,,,from finance\ndio,2026-02,47,,,,late\n")
    assert applied("load", str(first)).exit_code == 0
    plain = workdir / "plain.csv"
    plain.write_text("kpi,period,value\ndio,2026-01,45\ndio,2026-02,48\n")
    result = applied("load", str(plain))
    assert result.exit_code == 0, result.output
    assert "2 rows: 0 added, 1 replaced, 1 unchanged" in result.output
    rows = {r["period"]: r for r in _rows(db_url, "dio")}
    assert (rows["2026-01"]["note"], rows["2026-01"]["revision"]) == ("from finance", 1)
    assert (rows["2026-02"]["value"], rows["2026-02"]["note"]) == (48, "late")
    # A note column with an empty cell says there is no note: it is taken away.
    emptied = _csv(workdir, "m2.csv", "dio,2026-01,45,,,,\n")
    assert "1 row: 0 added, 1 replaced, 0 unchanged" in applied("load", str(emptied)).output
    assert {r["period"]: r for r in _rows(db_url, "dio")}["2026-01"]["note"] is None


def test_a_semicolon_file_and_a_decimal_comma_get_a_hint(applied: Los, workdir: Path) -> None:
    semi = workdir / "semi.csv"
    semi.write_bytes("\ufeffkpi;period;value\r\ndio;2026-01;45,5\r\n".encode())
    result = applied("load", str(semi))
    assert result.exit_code == 2
    assert (
        "header: unknown column kpi;period;value: expected kpi, period, value, unit, numerator, "
        "denominator, note (the file seems to use ';' as separator: save it as CSV with ',' "
        "between columns)"
    ) in result.output, result.output
    comma = workdir / "comma.csv"
    comma.write_text('kpi,period,value\ndio,2026-01,"45,5"\ndio,2026-02,"1,500"\n')
    result = applied("load", str(comma))
    assert result.exit_code == 2
    assert "row 2: column value: '45,5' is not a number (a decimal comma: write 45.5)" in (
        result.output
    )
    assert "row 3: column value: '1,500' is not a number (write numbers with a decimal point" in (
        result.output
    )


def test_one_bad_file_does_not_stop_the_others(applied: Los, workdir: Path, db_url: str) -> None:
    bad = _csv(workdir, "bad.csv", "dio,2026-01,x,,,,\n")
    good = _csv(workdir, "good.csv", "dio,2026-01,45,,,,\n")
    result = applied("load", str(bad), str(good))
    assert result.exit_code == 2
    assert "Loaded" in result.output and "good.csv" in result.output
    assert [r["value"] for r in _rows(db_url)] == [45]


def test_excel_file_loads_and_reports_rows(applied: Los, workdir: Path, db_url: str) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["KPI", "Period", "Value", "Unit", "Note"])
    sheet.append(["dio", "2026-01", 45, None, "from finance"])
    sheet.append(["dpo", "2026-01", 30.5, None, None])
    path = workdir / "m.xlsx"
    book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 added" in result.output
    sheet.append(["dso", "2026-01", "n/a", None, None])
    book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert "m.xlsx, sheet 'Sheet': row 4: column value: 'n/a' is not a number" in result.output
    assert len(_rows(db_url)) == 2


def test_bad_header_is_reported(applied: Los, workdir: Path) -> None:
    path = workdir / "h.csv"
    path.write_text("kpi,when,value,colour\ndio,2026-01,3,red\n")
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert "h.csv: row 1: header: unknown columns when, colour" in result.output
    assert "h.csv: row 1: header: missing column period" in result.output


def test_unsupported_file_type(applied: Los, workdir: Path) -> None:
    path = workdir / "m.json"
    path.write_text("{}")
    result = applied("load", str(path))
    assert result.exit_code == 2
    assert "unsupported file type .json" in result.output


def test_removed_kpi_keeps_its_measurements(applied: Los, workdir: Path, db_url: str) -> None:
    path = _csv(workdir, "m.csv", "dio,2026-01,45,,,,\n")
    assert applied("load", str(path)).exit_code == 0
    strategy = workdir / "strategy.yaml"
    text = FULL.read_text()
    start = text.index("  - id: dio")
    end = text.index("  - id: dso")
    strategy.write_text(
        text[:start] + text[end:].replace("formula: dio + dso - dpo", "formula: dso - dpo")
    )
    result = applied("apply", str(strategy))
    assert "- kpi dio" in result.output, result.output
    assert [r["value"] for r in _rows(db_url, "dio")] == [45]
    assert applied("apply", str(FULL)).exit_code == 0
    assert [r["value"] for r in _rows(db_url, "dio")] == [45]


def test_load_before_apply_says_what_to_do(los: Los, workdir: Path) -> None:
    path = _csv(workdir, "m.csv", "dio,2026-01,45,,,,\n")
    los.make_empty_store()
    result = los("load", str(path))
    assert result.exit_code == 2
    assert "run `los apply strategy.yaml` first" in result.output


@pytest.mark.parametrize(("pairs_at_most", "compare_rows"), [(0, 1), (0, 500_000), (20_000, 1)])
def test_stored_values_are_found_by_pairs_or_by_whole_periods(
    applied: Los,
    workdir: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    pairs_at_most: int,
    compare_rows: int,
) -> None:
    # A load looks up the stored values of its (last day, KPI) pairs one by one when they are
    # few, and reads its periods whole when they are many, all at once or a slice at a time:
    # each way finds the same rows.
    from lineofsight.store import measurement_writes

    monkeypatch.setattr(measurement_writes, "PAIRS_AT_MOST", pairs_at_most)
    monkeypatch.setattr(measurement_writes, "COMPARE_ROWS", compare_rows)
    first = _csv(workdir, "first.csv", "dio,2026-01,45,,,,\ndio,2026-02,46,,,,\n")
    assert applied("load", str(first)).exit_code == 0
    second = _csv(
        workdir, "second.csv", "dio,2026-02,47,,,,\ndio,2026-03,48,,,,\ndio,2026-01,45,,,,\n"
    )
    result = applied("load", str(second))
    assert result.exit_code == 0, result.output
    assert "3 rows: 1 added, 1 replaced, 1 unchanged" in result.output
    assert [(r["period"], r["value"], r["revision"]) for r in _rows(db_url, "dio")] == [
        ("2026-01", 45, 1),
        ("2026-02", 47, 2),
        ("2026-03", 48, 1),
    ]


def test_a_new_fiscal_year_start_moves_stored_fiscal_periods(
    applied: Los, workdir: Path, db_url: str
) -> None:
    # A value's key holds its period's last day: when the fiscal year starts in another month,
    # the stored fiscal periods move with it, and a later load of the same period replaces the
    # value instead of adding a second one.
    first = _csv(workdir, "first.csv", "nps,FY2026-Q1,38,,,,\nnps,2026-Q1,40,,,,\n")
    assert applied("load", str(first)).exit_code == 0
    before = {r["period"]: (r["period_start"], r["period_end"]) for r in _rows(db_url, "nps")}
    assert [str(day) for day in before["FY2026-Q1"]] == ["2025-04-01", "2025-06-30"]
    spec = workdir / "strategy.yaml"
    spec.write_text(FULL.read_text().replace("fiscal_year_start: 4", "fiscal_year_start: 7"))
    assert applied("apply", str(spec)).exit_code == 0
    after = {r["period"]: (r["period_start"], r["period_end"]) for r in _rows(db_url, "nps")}
    assert [str(day) for day in after["FY2026-Q1"]] == ["2025-07-01", "2025-09-30"]
    assert after["2026-Q1"] == before["2026-Q1"]  # calendar quarters stay where they are
    again = _csv(workdir, "again.csv", "nps,FY2026-Q1,39,,,,\n")
    result = applied("load", str(again))
    assert "1 row: 0 added, 1 replaced, 0 unchanged" in result.output, result.output
    assert sorted((r["period"], r["value"]) for r in _rows(db_url, "nps")) == [
        ("2026-Q1", 40),
        ("FY2026-Q1", 39),
    ]


def test_the_checks_see_stored_values_with_ratios_divided(
    applied: Los, workdir: Path, db_url: str
) -> None:
    from lineofsight.checks.context import Observation
    from lineofsight.services.check import read_observations

    path = _csv(
        workdir,
        "values.csv",
        "readmission_rate,2026-01,,,12,100,\n"
        "readmission_rate,2026-02,,,0,0,\n"  # nothing counted: no ratio
        "dio,2026-W05,44,,,,\n",
    )
    assert applied("load", str(path)).exit_code == 0
    store = Store(db_url)
    try:
        found = read_observations(store)
    finally:
        store.close()
    assert found == {
        "readmission_rate": [
            Observation("ti", dt.date(2026, 1, 1), dt.date(2026, 1, 31), 12.0),
            Observation("ti", dt.date(2026, 2, 1), dt.date(2026, 2, 28), None),
        ],
        "dio": [Observation("ti", dt.date(2026, 1, 26), dt.date(2026, 2, 1), 44.0)],
    }


def test_a_folder_is_said_to_be_one_with_the_files_to_name(applied: Los, workdir: Path) -> None:
    folder = workdir / "data"
    folder.mkdir()
    (folder / "october.csv").write_text("kpi,period,value\ndio,2026-01,3\n")
    (folder / "hr.xlsx").write_bytes(b"")
    (folder / "notes.txt").write_text("not measurements")
    result = applied("load", "data")
    assert result.exit_code == 2
    assert "data: a folder, not a file; name its files instead: data/*.csv data/*.xlsx" in (
        result.output
    )
    assert "unsupported file type" not in result.output
    empty = workdir / "empty"
    empty.mkdir()
    result = applied("load", "empty")
    assert result.exit_code == 2
    assert "empty: a folder, not a file; it holds no .csv, .xlsx or .xlsm file" in result.output


def test_a_folder_that_cannot_be_listed_is_said_to_be_one(
    applied: Los, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder without read permission (tests run as root here, so its listing is refused
    # by hand): the message, not a traceback.
    (workdir / "locked").mkdir()

    def refused(self: Path) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refused)
    result = applied("load", "locked")
    assert result.exit_code == 2, result.output
    assert "locked: a folder, not a file; name its files instead" in result.output
    assert "Traceback" not in result.output and "Permission" not in result.output


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_problem_of_a_file_is_said_in_one_run_overlaps_with_stored_values_too(
    applied: Los, workdir: Path, db_url: str, kind: str
) -> None:
    # A good row whose month shares days with a stored day is said with the bad rows, not
    # in a second run once those are fixed; and nothing of the file is stored.
    day = workdir / "day.csv"
    day.write_text("kpi,period,value\ndpo,2026-02-03,5\n")
    assert applied("load", str(day)).exit_code == 0
    rows = [
        ["dpo", "2026-02", "6"],  # row 2: good alone, overlaps the stored day
        ["nope", "2026-01", "1"],  # row 3: unknown KPI
        ["dso", "2026-01", "x"],  # row 4: not a number
        ["dio", "2026-01", "45"],  # row 5: good
    ]
    path = workdir / f"m.{kind}"
    if kind == "csv":
        path.write_text("kpi,period,value\n" + "".join(",".join(r) + "\n" for r in rows))
    else:
        book = Workbook()
        sheet = book.active
        sheet.append(["kpi", "period", "value"])
        for row in rows:
            sheet.append(row)
        book.save(path)
    result = applied("load", str(path))
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "3 bad rows; nothing was loaded" in out, out
    assert "row 2: column period: 2026-02 shares days with 2026-02-03, already stored" in out
    assert "row 3: column kpi" in out and "row 4: column value" in out
    assert "row 5" not in out
    store = Store(db_url)
    try:
        with store.reading() as conn:
            assert read_measurements(conn, "dio") == []
            assert [r["period"] for r in read_measurements(conn, "dpo")] == ["2026-02-03"]
    finally:
        store.close()


def test_a_row_with_two_problems_is_one_bad_row_with_both_said_once(
    applied: Los, workdir: Path
) -> None:
    # Row 5's week shares days with row 2's month (in the file) and with the stored day:
    # two reasons, one bad row; 4 data rows are never 5 bad rows.
    day = workdir / "day.csv"
    day.write_text("kpi,period,value\ndpo,2026-02-03,5\n")
    assert applied("load", str(day)).exit_code == 0
    path = workdir / "m.csv"
    path.write_text(
        "kpi,period,value\ndpo,2026-02,6\nnope,2026-01,1\ndpo,2026-02-10,7\ndpo,2026-W06,3\n"
    )
    result = applied("load", str(path))
    assert result.exit_code == 2, result.output
    lines = [" ".join(line.split()) for line in result.output.split("m.csv: row")]
    assert "4 bad rows; nothing was loaded" in lines[0], result.output
    fifth = [line for line in lines if line.startswith("5:")]
    assert len(fifth) == 2, result.output
    assert "shares days with 2026-02 in row 2" in fifth[0]
    assert "shares days with 2026-02-03, already stored" in fifth[1]
    assert len(set(lines)) == len(lines), "each problem of a row is said once"


def test_the_bad_rows_beyond_the_listed_ones_are_counted_once_each() -> None:
    report = load_service.BadRows("big.csv")
    for number in range(2, 2 + load_service.MAX_LISTED + 3):
        report.add(number, "column value: not a number")
        report.add(number, "column value: not a number")  # the same problem found again
    for number in (2, load_service.MAX_LISTED + 4):
        report.add(number, "column period: shares days with a stored one")
    with pytest.raises(LoadError) as caught:
        report.raise_if_any()
    assert caught.value.summary.startswith(f"big.csv: {load_service.MAX_LISTED + 3} bad rows")
    assert caught.value.unlisted == 3
    said = [(p.line, p.message) for p in caught.value.problems]
    assert said[:2] == [
        (2, "column value: not a number"),
        (2, "column period: shares days with a stored one"),
    ]
    assert said[-1] == (0, "... and 3 more bad rows")
    assert len(said) == load_service.MAX_LISTED + 2


def test_a_value_ten_times_off_is_stored_with_a_warning_naming_file_row_kpi_and_unit(
    los: Los, workdir: Path
) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    history = workdir / "history.csv"
    history.write_text(
        "kpi,period,value\n" + "".join(f"dio,2026-0{m},{44 + m % 3}\n" for m in range(1, 7))
    )
    first = los("load", str(history))
    assert first.exit_code == 0 and "Warning" not in first.output, first.output
    typo = workdir / "typo.csv"
    typo.write_text("kpi,period,value\ndio,2026-07,45\ndio,2026-08,450\n")
    result = los("load", "typo.csv")  # the current folder is `workdir`
    assert result.exit_code == 0, result.output
    assert "Loaded typo.csv: 2 rows: 2 added" in result.output
    assert (
        "Warning: typo.csv: row 3: KPI dio at unit ti, 2026-08: 450 is 10 times the usual size "
        "of the last 7 values here (median 45)" in result.output
    )
    assert "(the value is stored)" in result.output
    assert result.output.count("Warning") == 1
    again = los("load", "typo.csv", "--format", "json")
    warnings = json.loads(again.stdout)["loaded"][0]["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("typo.csv: row 3: KPI dio at unit ti")
