"""File sources: CSV and XLSX files matched by a path or glob, read on each refresh with the
reader and the row checks of `los load`; a bad row anywhere stores nothing of the source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.conftest import Los
from tests.sources.facts import stored, strategy, table_counts


def test_a_glob_of_csv_and_xlsx_files(los: Los, workdir: Path, db_url: str) -> None:
    (workdir / "data" / "hr").mkdir(parents=True)
    (workdir / "data" / "hr" / "north.csv").write_text(
        "kpi,period,value,unit\nhires,2026-07,3,north\nhires,2026-08,4,north\n"
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "measurements"
    sheet.append(["Hires by store, as HR keeps them"])  # a title row above the table
    sheet.append(["kpi", "period", "value", "unit"])
    sheet.append(["hires", "2026-07", 5, "south"])
    sheet.append(["leavers", "2026-07", 1, "south"])
    book.save(workdir / "data" / "hr" / "south.xlsx")
    (workdir / "data" / "hr" / "notes.txt").write_text("not a measurements file")
    kpis = [
        {"id": "hires", "source": {"from": "hr", "schedule": "weekly"}},
        {"id": "leavers", "source": {"from": "hr"}},
    ]
    (workdir / "strategy.yaml").write_text(
        strategy({"hr": {"kind": "file", "path": "data/hr/*"}}, kpis)
    )
    assert los("apply", "strategy.yaml").exit_code == 0

    result = los("refresh", "--source", "hr", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["sources"][0]
    assert (summary["kind"], summary["rows_read"], summary["added"]) == ("file", 4, 4)
    assert [row[:4] for row in stored(db_url)] == [
        ("hires", "north", "2026-07", 3.0),
        ("hires", "north", "2026-08", 4.0),
        ("hires", "south", "2026-07", 5.0),
        ("leavers", "south", "2026-07", 1.0),
    ]

    # Only the KPIs asked for: the file's other KPIs are left for their own refresh.
    (workdir / "data" / "hr" / "north.csv").write_text(
        "kpi,period,value,unit\nhires,2026-07,3,north\nhires,2026-08,6,north\n"
    )
    only = json.loads(los("refresh", "hires", "--format", "json").stdout)["sources"][0]
    assert (only["kpis"], only["rows_read"], only["replaced"], only["unchanged"]) == (
        ["hires"],
        3,
        1,
        2,
    )


def test_bad_rows_in_any_file_store_nothing(los: Los, workdir: Path, db_url: str) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "a.csv").write_text("kpi,period,value\nhires,2026-07,3\n")
    (workdir / "data" / "b.csv").write_text(
        "kpi,period,value\nhires,2026-08,x\nrevenue,2026-08,4\nhires,2031-01,1\n"
    )
    kpis = [
        {"id": "hires", "source": {"kind": "file", "path": "data/*.csv"}},
        {"id": "revenue"},
    ]
    (workdir / "strategy.yaml").write_text(strategy({}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    counts = table_counts(db_url)
    result = los("refresh", "hires")
    assert result.exit_code == 1
    # Every bad row at once, counted: a row of a KPI that takes no values from the source is
    # one, said with the others (not only once they are fixed).
    assert "Failed hires (rows): 2 bad rows; nothing was stored" in result.stderr
    assert "data/b.csv: row 2: column value: 'x' is not a number" in result.stderr
    assert "data/b.csv: row 3: column kpi: KPI 'revenue' takes no values from source hires" in (
        result.stderr
    )
    assert table_counts(db_url) == counts

    # The same value in two files.
    (workdir / "data" / "b.csv").write_text("kpi,period,value\nhires,2026-07,2\n")
    twice = los("refresh", "hires")
    assert twice.exit_code == 1
    assert "hires, acme, 2026-07 is given twice: data/a.csv row 2, data/b.csv row 2" in (
        twice.stderr
    )

    (workdir / "data" / "b.csv").unlink()
    (workdir / "data" / "a.csv").unlink()
    nothing = los("refresh", "hires")
    assert "Failed hires (files): no CSV or XLSX file matches data/*.csv" in nothing.stderr


def test_rows_of_periods_not_ended_are_left_for_a_later_refresh(
    los: Los, workdir: Path, db_url: str
) -> None:
    # As a query source's: read, counted and said, and stored by a refresh once they ended.
    (workdir / "data").mkdir()
    (workdir / "data" / "a.csv").write_text(
        "kpi,period,value\nhires,2026-07,3\nhires,2031-01,1\nhires,2031-02,2\n"
    )
    kpis = [{"id": "hires", "source": {"kind": "file", "path": "data/*.csv"}}]
    (workdir / "strategy.yaml").write_text(strategy({}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    result = los("refresh", "hires", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["sources"][0]
    assert (summary["rows_read"], summary["not_ended"], summary["added"]) == (3, 2, 1)
    assert [row[:4] for row in stored(db_url)] == [("hires", "acme", "2026-07", 3.0)]
    said = los("refresh", "hires", "--full")
    assert said.exit_code == 0, said.output
    assert "3 rows read" in said.stdout
    assert "2 rows of periods not ended yet left out" in said.stdout


def test_files_outside_the_strategy_folder_need_a_listed_root(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (elsewhere / "hires.csv").write_text("kpi,period,value\nhires,2026-07,3\n")
    kpis = [{"id": "hires", "source": {"kind": "file", "path": str(elsewhere / "*.csv")}}]
    (workdir / "strategy.yaml").write_text(strategy({}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    monkeypatch.delenv("LOS_SOURCE_FILE_ROOTS", raising=False)
    refused = los("refresh", "hires")
    assert refused.exit_code == 1
    assert "is outside the strategy file's folder: list its folder in LOS_SOURCE_FILE_ROOTS" in (
        refused.stderr
    )
    assert stored(db_url) == []
    monkeypatch.setenv("LOS_SOURCE_FILE_ROOTS", str(elsewhere))
    assert los("refresh", "hires").exit_code == 0
    assert [row[:4] for row in stored(db_url)] == [("hires", "acme", "2026-07", 3.0)]


def test_more_than_200_bad_rows_are_counted_and_the_rest_said(
    los: Los, workdir: Path, db_url: str
) -> None:
    # As `los load` says it: the real count, 200 rows listed, then how many more.
    (workdir / "data").mkdir()
    rows = "".join(f"hires,2026-07,x{n}\n" for n in range(500))
    (workdir / "data" / "a.csv").write_text("kpi,period,value\n" + rows)
    (workdir / "data" / "b.csv").write_text("kpi,period,value\nhires,2026-08,y\n")
    kpis = [{"id": "hires", "source": {"kind": "file", "path": "data/*.csv"}}]
    (workdir / "strategy.yaml").write_text(strategy({}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    loaded = los("load", "data/a.csv")
    assert "500 bad rows" in loaded.stderr and "... and 300 more bad rows" in loaded.stderr

    result = los("refresh", "hires")
    assert result.exit_code == 1
    assert "Failed hires (rows): 501 bad rows; nothing was stored" in result.stderr
    assert "data/a.csv: row 201: column value: 'x199' is not a number" in result.stderr
    assert "row 202:" not in result.stderr
    assert "... and 301 more bad rows" in result.stderr
    assert result.stderr.count("more bad rows") == 1
    runs = json.loads(los("sources", "--format", "json").stdout)["sources"][0]
    assert runs["last_run"]["error"].startswith("rows: 501 bad rows")
    assert stored(db_url) == []


def test_a_hand_load_of_a_sourced_kpi_says_its_next_refresh_replaces_it(
    los: Los, workdir: Path
) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "hr.csv").write_text("kpi,period,value,unit\nhires,2026-07,3,north\n")
    kpis = [
        {"id": "hires", "source": {"from": "hr"}},
        {"id": "visits"},  # entered by hand
        {"id": "leavers", "source": {"kind": "manual"}},
    ]
    (workdir / "strategy.yaml").write_text(
        strategy({"hr": {"kind": "file", "path": "data/hr.csv"}}, kpis)
    )
    assert los("apply", "strategy.yaml").exit_code == 0
    (workdir / "typed.csv").write_text(
        "kpi,period,value,unit\nhires,2026-07,9,north\nhires,2026-08,4,north\n"
        "visits,2026-07,40,north\nleavers,2026-07,1,north\n"
    )
    loaded = los("load", "typed.csv")
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stderr.count("Warning:") == 1, loaded.stderr
    assert "KPI hires takes its values from source 'hr'" in loaded.stderr
    said = (
        "KPI hires takes its values from source 'hr': its next refresh replaces those of the 2 "
        "values given here whose periods it brings (the values are stored)"
    )
    assert said in loaded.stderr
    as_json = json.loads(los("load", "typed.csv", "--format", "json").stdout)
    warnings = as_json["loaded"][0]["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("typed.csv: KPI hires takes its values")
    # The refresh itself warns of nothing: its values are the source's.
    refreshed = los("refresh", "--source", "hr")
    assert refreshed.exit_code == 0, refreshed.output
    assert "Warning" not in refreshed.output


def test_a_row_that_overlaps_a_stored_period_is_named_by_its_file_and_row(
    los: Los, workdir: Path, db_url: str
) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "a.csv").write_text("kpi,period,value\nhires,2026-07,3\n")
    (workdir / "data" / "b.csv").write_text("kpi,period,value\nhires,2026-08,4\n")
    kpis = [{"id": "hires", "source": {"from": "hr"}}]
    (workdir / "strategy.yaml").write_text(
        strategy({"hr": {"kind": "file", "path": "data/*.csv"}}, kpis)
    )
    assert los("apply", "strategy.yaml").exit_code == 0
    assert los("refresh", "hires").exit_code == 0
    (workdir / "data" / "a.csv").unlink()
    (workdir / "data" / "b.csv").write_text(
        "kpi,period,value\nhires,2026-09,4\nhires,2026-07-15,1\n"
    )
    result = los("refresh", "hires")
    assert result.exit_code == 1
    assert result.stderr.startswith("Failed hr (rows): 1 bad row; nothing was stored\n")
    assert (
        "  data/b.csv: row 3: column period: 2026-07-15 shares days with 2026-07" in result.stderr
    )


def test_periods_that_share_days_in_two_files_are_bad_rows(
    los: Los, workdir: Path, db_url: str
) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "a.csv").write_text("kpi,period,value\nhires,2026-07,3\n")
    (workdir / "data" / "b.csv").write_text("kpi,period,value\nhires,2026-07-15,1\n")
    kpis = [{"id": "hires", "source": {"from": "hr"}}]
    (workdir / "strategy.yaml").write_text(
        strategy({"hr": {"kind": "file", "path": "data/*.csv"}}, kpis)
    )
    assert los("apply", "strategy.yaml").exit_code == 0
    result = los("refresh", "hires")
    assert result.exit_code == 1
    assert result.stderr.startswith("Failed hr (rows): 1 bad row; nothing was stored\n")
    assert (
        "  data/b.csv: row 2: column period: 2026-07-15 shares days with 2026-07 in data/a.csv "
        "row 2 (the same KPI and unit): values for both would be counted twice"
    ) in result.stderr
    assert stored(db_url) == []
