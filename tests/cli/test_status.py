"""`los status` and `los tree` on the techinnovate example, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import Los


@pytest.fixture
def example(los: Los, workdir: Path) -> Los:
    result = los("init", "ws", "--example", "techinnovate")
    assert result.exit_code == 0, result.output
    return los


def test_status_json_has_the_spec_shape(example: Los) -> None:
    result = example("status", "--as-of", "2026-11-22", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["as_of"] == "2026-11-22"
    row = next(r for r in data["kpis"] if r["id"] == "nps" and r["unit"] == "techinnovate")
    assert set(row) >= {"id", "unit", "period", "actual", "target", "miss", "score", "status"}
    assert row["period"] == "2026-Q3"
    own = {r["id"]: r for r in data["kpis"]}
    statuses = [r["status"] for r in data["kpis"] if r["id"] in own]
    assert statuses.count("red") >= 4
    objective = data["objectives"][0]
    assert set(objective) >= {"id", "score", "status", "coverage"}
    assert {u["id"] for u in data["units"]} >= {"techinnovate", "customer_service"}
    tt = next(r for r in data["kpis"] if r["id"] == "time_to_market_days")
    assert (tt["actual"], tt["status"]) == (108.0, "red")


def test_status_period_and_unit_filter(example: Los) -> None:
    result = example(
        "status", "--period", "2026-10", "--unit", "customer_service", "--format", "json"
    )
    data = json.loads(result.output)
    assert data["as_of"] == "2026-10-31"
    units = {r["unit"] for r in data["kpis"]}
    assert units <= {"customer_service", "support_t1", "support_t2"}
    assert {u["id"] for u in data["units"]} == {"customer_service", "support_t1", "support_t2"}


def test_status_csv_and_table(example: Los) -> None:
    result = example("status", "--as-of", "2026-11-22", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {r["kind"] for r in rows} == {"kpi", "objective", "unit"}
    table = example("status", "--as-of", "2026-11-22")
    assert "✗ red" in table.output and "Objectives" in table.output


def test_tables_show_numbers_as_people_write_them(example: Los) -> None:
    """35,567 followers rather than 3.557e+04 in the tables; the CSV keeps the full value."""
    answer = example("status", "--as-of", "2026-10-31", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(answer.output)))
    row = next(r for r in rows if r["id"] == "social_followers" and r["kind"] == "kpi")
    assert (row["actual"], row["last_value"]) == ("35567.0", "34322.0")
    exponent = re.compile(r"[0-9]e[+-][0-9]")
    for command in (
        ("status", "--as-of", "2026-10-31"),
        ("tree", "--as-of", "2026-10-31"),
        ("explain", "social_followers", "--from", "2026-09", "--to", "2026-10"),
        ("forecast", "--as-of", "2026-10-31"),
    ):
        result = example(*command)
        assert result.exit_code == 0, result.output
        assert not exponent.search(result.output), (command, exponent.findall(result.output))
    table = example("status", "--as-of", "2026-10-31").output
    line = next(line for line in table.splitlines() if "social_followers" in line)
    assert "35,567 followers" in line and "34,322 followers (2026-09)" in line


def test_status_bad_input(example: Los) -> None:
    result = example("status", "--period", "2026-13")
    assert result.exit_code == 2
    assert "--period: '2026-13' is not a valid period" in result.output
    result = example("status", "--unit", "custmer_service")
    assert result.exit_code == 2
    assert "did you mean 'customer_service'" in result.output
    result = example("status", "--period", "2026-10", "--as-of", "2026-11-22")
    assert result.exit_code == 2
    for empty in ("", " "):
        result = example("status", "--as-of", empty)
        assert result.exit_code == 2, result.output
        assert "--as-of: give a date" in result.output


def test_tree_draws_the_cascade(example: Los) -> None:
    result = example("tree", "--as-of", "2026-11-22", "--unit", "support_t2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Give every small business")
    assert any("✗ red" in line and "t2_backlog_days" in line for line in lines)
    assert not any("market_share_pct" in line for line in lines)
