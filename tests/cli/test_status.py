"""`los status` and `los tree` on the techinnovate example, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
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
