"""`los status` with reporting lag on the techinnovate example (its data ends October 2026), on
SQLite and PostgreSQL: as of 5 December November's awaiting values are skipped, true overdue
values say so, and every roll-up says what its score is made of."""

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


def _status(los: Los, *args: str) -> dict[str, list[dict[str, object]]]:
    result = los("status", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, list[dict[str, object]]] = json.loads(result.output)
    return data


def test_on_5_december_october_shows_and_only_true_overdue_values_are_no_data(
    example: Los,
) -> None:
    data = _status(example, "--as-of", "2026-12-05")
    own = [r for r in data["kpis"] if r["data"] is not None]
    assert all(set(r) >= {"period", "due", "data", "last_value", "last_period"} for r in own)
    monthly = {r["id"]: r for r in data["kpis"] if re.fullmatch(r"\d{4}-\d{2}", str(r["period"]))}
    assert monthly and {r["period"] for r in monthly.values()} == {"2026-10"}
    assert monthly["arr_musd"]["data"] == "reported"
    assert monthly["arr_musd"]["last_period"] == "2026-09"
    no_data = [r for r in data["kpis"] if r["status"] == "no_data"]
    assert no_data, "the weekly KPI's week 44 is due on 1 December and has no value"
    assert all(r["data"] == "overdue" for r in no_data)
    meetings = next(r for r in no_data if r["id"] == "qualified_meetings_na")
    assert (meetings["period"], meetings["due"]) == ("2026-W44", "2026-12-01")
    assert (meetings["last_value"], meetings["last_period"]) == (37.0, "2026-W43")


def test_a_period_report_shows_the_period_value_or_not(example: Los) -> None:
    data = _status(example, "--period", "2026-11")
    arr = next(r for r in data["kpis"] if r["id"] == "arr_musd")
    assert (arr["period"], arr["status"], arr["data"]) == ("2026-11", "no_data", "awaiting")
    assert (arr["due"], arr["last_period"]) == ("2026-12-30", "2026-10")


def test_objective_and_unit_rows_carry_counts_and_worst(example: Los) -> None:
    data = _status(example, "--as-of", "2026-12-05")
    objectives = {o["id"]: o for o in data["objectives"]}
    pipeline = objectives["grow_pipeline"]
    assert pipeline["status"] == "green"
    assert pipeline["counts"] == {"green": 3, "amber": 1, "red": 0, "no_data": 1, "no_target": 0}
    worst = pipeline["worst"]
    assert (worst["id"], worst["kind"], worst["status"]) == (
        "emea_partner_channel",
        "objective",
        "amber",
    )
    assert worst["score"] == pytest.approx(80.986446)
    units = {u["id"]: u for u in data["units"]}
    assert units["techinnovate"]["counts"]["red"] == 1
    assert units["techinnovate"]["worst"]["id"] == "time_to_market_days"
    assert units["dev_relations"]["worst"] is None


def test_the_tables_show_items_worst_last_value_and_overdue(example: Los) -> None:
    result = example("status", "--as-of", "2026-12-05", "--unit", "sales")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "overdue since 2026-12-01" in text
    assert "37 meetings (2026-W43)" in text
    assert "1 amber, 3 green, 1 no data" in text
    assert "emea_partner_channel ▲ 80.9" in text
    rows = list(
        csv.DictReader(
            io.StringIO(example("status", "--as-of", "2026-12-05", "--format", "csv").output)
        )
    )
    grow = next(r for r in rows if r["id"] == "grow_pipeline")
    assert (grow["items"], grow["worst"]) == ("1 amber, 3 green, 1 no data", "emea_partner_channel")
    meetings = next(r for r in rows if r["id"] == "qualified_meetings_na")
    assert (meetings["data"], meetings["last_period"]) == ("overdue", "2026-W43")


def test_a_status_of_the_calendars_first_days_looks_back_at_periods_before_it(
    example: Los,
) -> None:
    """As of 31 January 1900 the values of December 1899 are due: those rows are shown, with
    no last day (no value can be of a period before 1900), not a crash."""
    data = _status(example, "--as-of", "1900-01-31")
    before = [r for r in data["kpis"] if str(r["period"]).startswith("1899")]
    assert before and all(r["period_end"] is None and r["actual"] is None for r in before)
    assert example("status", "--as-of", "1900-01-31").exit_code == 0


def test_due_days_round_trips_and_a_bad_one_is_refused(example: Los, workdir: Path) -> None:
    strategy = workdir / "ws" / "strategy.yaml"
    text = strategy.read_text()
    assert "  calendar:" not in text or "due_days" not in text
    changed = text.replace("    frequency: weekly\n", "    frequency: weekly\n    due_days: 2\n", 1)
    assert changed != text
    bad = workdir / "bad.yaml"
    bad.write_text(changed.replace("due_days: 2", "due_days: -1"))
    refused = example("apply", str(bad))
    assert refused.exit_code == 2
    assert "due_days" in refused.output
    strategy.write_text(changed)
    assert example("apply", str(strategy)).exit_code == 0
    schema = json.loads(example("schema").output)
    calendar = schema["$defs"]["CalendarSpec"]["properties"]["due_days"]
    assert (calendar["default"], calendar["minimum"]) == (30, 0)
    assert "due_days" in schema["$defs"]["KpiSpec"]["properties"]
    exported = example("export", "-")
    assert exported.exit_code == 0, exported.output
    assert "due_days: 2" in exported.output
    data = _status(example, "--as-of", "2026-11-04")
    meetings = next(r for r in data["kpis"] if r["id"] == "qualified_meetings_na")
    # Week 44 ends 1 November: due on the 3rd with due_days 2, so overdue on the 4th.
    assert (meetings["period"], meetings["data"]) == ("2026-W44", "overdue")


def test_the_tree_shows_the_items_beside_each_objective_score(example: Los) -> None:
    result = example("tree", "--period", "2026-10", "--unit", "customer_service")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "responsive_support" in x)
    assert "77.5 (1 red, 3 amber, 4 green)" in line
