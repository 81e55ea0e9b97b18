"""`los explain` and `los forecast` on the manufacturing example, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import lineofsight
from lineofsight.display import chance
from tests.conftest import Los

FORECAST_KEYS = {
    "id",
    "unit",
    "projected",
    "target",
    "deadline",
    "on_track",
    "points",
    "probability",
    "method",
    "path",
}


@pytest.fixture
def mf(los: Los) -> Los:
    result = los("init", "ws", "--example", "manufacturing")
    assert result.exit_code == 0, result.output
    return los


def test_explain(mf: Los) -> None:
    result = mf("explain", "ccc", "--from", "FY2026-Q4", "--to", "FY2027-Q2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kpi"] == "ccc"
    assert data["from"]["period"] == "FY2026-Q4" and data["to"]["period"] == "FY2027-Q2"
    assert data["change"] == pytest.approx(data["to"]["value"] - data["from"]["value"])
    assert [c["kpi"] for c in data["contributions"]] == ["dio", "dso", "dpo"]
    total = sum(c["contribution"] for c in data["contributions"])
    assert total == pytest.approx(data["change"], abs=1e-9)
    assert data["residual"] == pytest.approx(0.0, abs=1e-9)
    # ccc = dio + dso - dpo: each input's own change, dpo's with its sign turned
    for c in data["contributions"]:
        own = c["value_to"] - c["value_from"]
        assert c["contribution"] == pytest.approx(-own if c["kpi"] == "dpo" else own)

    text = mf("explain", "ccc", "--from", "FY2026-Q4", "--to", "2026-Q3")  # = FY2027-Q2
    assert text.exit_code == 0, text.output
    assert "ccc (Cash conversion cycle), days" in text.stdout
    assert "FY2026-Q4" in text.stdout and "FY2027-Q2" in text.stdout
    assert "Split over the inputs of dio + dso - dpo (Shapley values" in text.stdout
    for line in ("  dio  ", "  dso  ", "  dpo  ", "  residual 0 (the contributions add up"):
        assert line in text.stdout

    units = mf("explain", "order_intake_meur", "--from", "2026-08", "--to", "2026-09")
    assert units.exit_code == 0, units.output
    assert "distributor_sales" in units.stdout and "key_accounts" in units.stdout
    measured = mf("explain", "dio", "--from", "2026-04", "--to", "2026-09", "--format", "json")
    data = json.loads(measured.stdout)
    assert data["contributions"] == [] and data["residual"] == data["change"]
    text = mf("explain", "dio", "--from", "2026-04", "--to", "2026-09")
    assert "Measured directly" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ccc", "--from", "2026-10", "--to", "FY2027-Q2"], "'ccc' is quarterly"),
        (["ccc", "--from", "FY2020-Q1", "--to", "FY2027-Q2"], "no value for FY2020-Q1"),
        (["ccc", "--from", "later", "--to", "FY2027-Q2"], "'later' is not a valid period"),
        (["cc", "--from", "FY2026-Q4", "--to", "FY2027-Q2"], "did you mean 'ccc'?"),
        (
            ["ccc", "--from", "FY2026-Q4", "--to", "FY2027-Q2", "--unit", "ironbrige"],
            "--unit: unknown unit 'ironbrige' (did you mean 'ironbridge'?)",
        ),
    ],
)
def test_explain_bad_input_exits_2_with_one_line(los: Los, args: list[str], message: str) -> None:
    assert los("init", "ws", "--example", "manufacturing").exit_code == 0
    result = los("explain", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_forecast(mf: Los) -> None:
    result = mf("forecast", "--as-of", "2026-11-22", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-11-22"
    assert data["kpis"]
    for row in data["kpis"]:
        assert set(row) >= FORECAST_KEYS
    ccc = next(r for r in data["kpis"] if r["id"] == "ccc")
    assert ccc["unit"] == "ironbridge"
    assert ccc["deadline"] == "2028-03-31" and ccc["period"] == "FY2028-Q4"
    assert ccc["target"] == 50 and ccc["points"] == 8
    assert ccc["last_period"] == "FY2027-Q2"  # the quarter that ended before the as-of date
    assert ccc["on_track"] is (ccc["projected"] <= 50)
    assert ccc["method"] == "seasonal"  # 8 quarters of history
    # the models behind it: one or two of the candidates, by their errors on its own history
    assert set(ccc["models"].split("+")) <= {"damped_trend", "ar1", "ar2", "ari1", "ari2"}
    assert (ccc["probability"] >= 0.5) is ccc["on_track"]
    # the path: every quarter from the one after the last value to the target's quarter
    assert ccc["path"][0]["period"] == "FY2027-Q3"
    assert ccc["path"][-1]["period"] == "FY2028-Q4" and len(ccc["path"]) == 6
    assert ccc["path"][-1]["value"] == ccc["projected"]
    assert all(p["low"] <= p["value"] <= p["high"] for p in ccc["path"])
    # unit targets are forecast at their units
    assert {r["unit"] for r in data["kpis"] if r["id"] == "order_intake_meur"} == {
        "sales",
        "distributor_sales",
        "key_accounts",
    }

    table = mf("forecast", "--as-of", "2026-11-22")
    assert table.exit_code == 0, table.output
    assert "Forecast as of 2026-11-22" in table.stdout
    assert "✓ on track" in table.stdout and "✗ off track" in table.stdout
    assert "2028-03-31 (FY2028-Q4)" in table.stdout
    assert "on track (projected to the period of each target date" in table.stdout
    assert "seasonal" in table.stdout and "80% interval" in table.stdout
    assert f" {chance(ccc['probability'])} " in table.stdout

    early = mf("forecast", "--as-of", "2024-12-15", "--format", "json")
    rows = json.loads(early.stdout)["kpis"]
    assert any(r["projected"] is None and "3 needed" in r["reason"] for r in rows)

    bad = mf("forecast", "--as-of", "tomorrow")
    assert bad.exit_code == 2 and "expected a date YYYY-MM-DD" in bad.stderr


NESTED = """\
version: 1
organization:
  name: Nested
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
    - {id: west, name: West, level: department, parent: co}
kpis:
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase, aggregation: sum}
  - {id: cost, name: Cost, unit: co, frequency: monthly, direction: decrease, aggregation: sum}
  - {id: profit, name: Profit, unit: co, frequency: monthly, direction: increase,
     formula: sales - cost}
  - {id: margin, name: Margin, unit: co, frequency: monthly, direction: increase,
     unit_of_measure: "%", formula: profit / sales * 100}
"""

NESTED_DATA = """\
kpi,period,value,unit
sales,2026-08,60,east
sales,2026-08,40,west
sales,2026-09,90,east
sales,2026-09,30,west
cost,2026-08,80,co
cost,2026-09,90,co
"""


def test_explain_depth_nests_breakdowns(los: Los, workdir: Path) -> None:
    assert los("init", "ws").exit_code == 0
    (workdir / "nested.yaml").write_text(NESTED)
    (workdir / "nested.csv").write_text(NESTED_DATA)
    assert los("apply", str(workdir / "nested.yaml")).exit_code == 0
    assert los("load", str(workdir / "nested.csv")).exit_code == 0
    args = ["explain", "margin", "--from", "2026-08", "--to", "2026-09", "--depth", "3"]
    data = json.loads(los(*args, "--format", "json").stdout)
    assert data["from"]["value"] == pytest.approx(20.0) and data["to"]["value"] == 25.0
    profit, sales = data["contributions"]
    assert profit["kpi"] == "profit" and sales["kpi"] == "sales"
    assert profit["contribution"] + sales["contribution"] == pytest.approx(5.0)
    # profit's own change (20 -> 30) split over sales and cost; sales over its units
    inner = profit["breakdown"]
    assert inner["change"] == pytest.approx(10.0)
    assert [(c["kpi"], c["contribution"]) for c in inner["contributions"]] == [
        ("sales", 20.0),
        ("cost", -10.0),
    ]
    units = inner["contributions"][0]["breakdown"]
    assert units["method"] == "units"
    assert [(c["unit"], c["contribution"]) for c in units["contributions"]] == [
        ("east", 30.0),
        ("west", -10.0),
    ]
    text = los(*args)
    assert text.exit_code == 0, text.output
    assert "Indented lines split an input's own change" in text.stdout
    assert "      east" in text.stdout


def _plain_lines(text: str) -> list[str]:
    """The output's lines; each must end without spaces (a file or a pipe keeps them)."""
    lines = text.splitlines()
    padded = [n for n, line in enumerate(lines, 1) if line != line.rstrip()]
    assert not padded, f"lines {padded} end with spaces:\n{text}"
    return lines


def test_text_written_to_a_pipe_has_no_trailing_spaces_and_unwrapped_sentences(mf: Los) -> None:
    # The runner's standard output is not a terminal: what a pipe or a file gets.
    forecast = mf("forecast", "--as-of", "2026-11-22")
    assert forecast.exit_code == 0, forecast.output
    lines = _plain_lines(forecast.stdout)
    notes = [line for line in lines if "on track (projected to the period" in line]
    assert len(notes) == 1 and notes[0].endswith("chance = probability of meeting the target).")
    status = mf("status", "--as-of", "2026-11-22")
    assert status.exit_code == 0, status.output
    titles = [line for line in _plain_lines(status.stdout) if not line.startswith((" ", "┃"))]
    assert {"KPIs as of 2026-11-22", "Objectives", "Units"} <= set(titles), titles
    tree = mf("tree", "--as-of", "2026-11-22")
    assert tree.exit_code == 0, tree.output
    _plain_lines(tree.stdout)


def test_every_kpi_has_a_row_and_one_not_forecast_says_why(los: Los) -> None:
    # The technology example: two range KPIs without a target date; test_automation_pct's
    # target is due on 2027-06-30, before the as-of date 2027-08-01.
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    result = los("forecast", "--as-of", "2027-08-01", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["kpis"]
    strategy = Path(lineofsight.__file__).parent / "examples" / "techinnovate" / "strategy.yaml"
    ids = {k["id"] for k in yaml.safe_load(strategy.read_text(encoding="utf-8"))["kpis"]}
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        assert set(row) >= FORECAST_KEYS
        by_id.setdefault(str(row["id"]), []).append(row)
    assert set(by_id) == ids, "every KPI has a row"
    ranged = by_id["rd_spend_pct_revenue"]
    assert [(r["method"], r["reason"], r["projected"]) for r in ranged] == [
        ("no_forecast", "no target date", None)
    ]
    assert ranged[0]["range"] == {"low": 18.0, "high": 22.0}
    passed = by_id["test_automation_pct"]
    assert [(r["method"], r["reason"], r["projected"], r["deadline"]) for r in passed] == [
        ("no_forecast", "target date passed", None, "2027-06-30")
    ]
    assert passed[0]["path"] == [] and passed[0]["on_track"] is None
    # A target still ahead is projected as before.
    assert by_id["arr_musd"][0]["projected"] is not None

    table = los("forecast", "--as-of", "2027-08-01")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert "why not forecast" in lines[2]
    row = next(x for x in lines if x.lstrip().startswith("test_automation_pct "))
    assert "– not forecast" in row and row.rstrip().endswith("target date passed"), row
    row = next(x for x in lines if x.lstrip().startswith("rd_spend_pct_revenue "))
    assert "18 – 22%" in row and row.rstrip().endswith("no target date"), row
    assert ", 3 not forecast" in table.stdout
