"""Values per KPI, unit and period: aggregation, ratios of sums, values across units, formulas;
and the roll-ups of objectives and units."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from lineofsight.domain.periods import parse_period
from lineofsight.engine.frame_definitions import definition_frames
from lineofsight.engine.frames import FrameEvaluation, evaluate_frames
from lineofsight.engine.scoring import Status
from lineofsight.engine.values import ValueTable, measurements_frame
from lineofsight.spec.files import parse_strategy
from tests.engine.oracle import evaluate_organization

ORG = parse_strategy(
    """
version: 1
organization:
  name: Values
  calendar: {fiscal_year_start: 4}
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
    - {id: west, name: West, level: department, parent: co}
    - {id: east_a, name: East A, level: team, parent: east}
    - {id: east_b, name: East B, level: team, parent: east}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co}
  - {id: sell, title: Sell, level: tactical, unit: east, parent: grow, weight: 3}
kpis:
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase, aggregation: sum,
     supports: [{objective: grow, weight: 1}], target: {value: 100, by: 2027-12-31}}
  - {id: headcount, name: Headcount, unit: co, frequency: monthly, direction: increase,
     aggregation: last}
  - {id: csat, name: CSAT, unit: co, frequency: quarterly, direction: increase, aggregation: mean,
     across_units: mean}
  - {id: worst, name: Worst, unit: co, frequency: monthly, direction: increase, aggregation: min,
     across_units: min}
  - {id: readmit, name: Readmissions, unit: co, frequency: monthly, direction: decrease,
     across_units: sum, ratio: {numerator: r, denominator: d, scale: 100},
     supports: [sell], target: {value: 10, by: 2027-12-31}}
  - {id: cost, name: Cost, unit: co, frequency: monthly, direction: decrease, aggregation: sum}
  - {id: profit, name: Profit, unit: co, frequency: quarterly, direction: increase,
     formula: sales - cost}
  - {id: margin, name: Margin, unit: co, frequency: quarterly, direction: increase,
     formula: profit / sales * 100}
""",
    "values.yaml",
)


def rows(*items: tuple[str, str, str, float | None, float | None, float | None]):  # type: ignore[no-untyped-def]
    out = []
    for kpi, unit, period, value, num, den in items:
        p = parse_period(period, ORG.calendar)
        out.append(
            {
                "kpi_id": kpi,
                "unit_id": unit,
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": num,
                "denominator": den,
            }
        )
    return measurements_frame(out)


DATA = rows(
    # sales: weekly values summed into months (a week counts in the month of its last day)
    ("sales", "co", "2026-W23", 10, None, None),  # 2026-06-01..06-07 -> June
    ("sales", "co", "2026-W27", 20, None, None),  # 2026-06-29..07-05 -> July
    ("sales", "co", "2026-07-15", 30, None, None),
    ("sales", "co", "2026-08", 40, None, None),
    ("sales", "co", "2026-09", 50, None, None),
    ("headcount", "co", "2026-07-01", 7, None, None),
    ("headcount", "co", "2026-07-31", 9, None, None),
    ("headcount", "co", "2026-07-15", 8, None, None),
    # csat: no own value at co; mean of east (own 80, wins over its teams) and west 60
    ("csat", "east", "FY2027-Q2", 80, None, None),
    ("csat", "east_a", "FY2027-Q2", 10, None, None),
    ("csat", "west", "2026-08", 60, None, None),
    ("worst", "east_a", "2026-09", 5, None, None),
    ("worst", "east_b", "2026-09", 3, None, None),
    ("worst", "east_b", "2026-09-10", 1, None, None),
    # readmissions: a ratio of sums over units and over time
    ("readmit", "east_a", "2026-09-05", None, 1, 10),
    ("readmit", "east_a", "2026-09-20", None, 1, 30),
    ("readmit", "west", "2026-09", None, 8, 60),
    ("cost", "co", "2026-07", 15, None, None),
    ("cost", "co", "2026-08", 25, None, None),
    ("cost", "co", "2026-09", 35, None, None),
)

VALUES = ValueTable(ORG, DATA)


@pytest.mark.parametrize(
    ("kpi", "period", "unit", "expected"),
    [
        ("sales", "2026-06", None, 10),
        ("sales", "2026-07", None, 50),  # the week ending 07-05 and the day 07-15
        ("headcount", "2026-07", None, 9),  # last by date, not by loading order
        ("csat", "FY2027-Q2", "east", 80),  # own value wins over the teams below
        ("csat", "FY2027-Q2", None, 70),  # mean of east 80 and west 60 (a month of the quarter)
        ("worst", "2026-09", "east_b", 1),
        ("worst", "2026-09", None, 1),
        ("readmit", "2026-09", "east_a", 5),  # 100 * 2 / 40
        ("readmit", "2026-09", "east", 5),
        ("readmit", "2026-09", None, 10),  # 100 * (2 + 8) / (40 + 60), not the mean of 5 and 13.3
        ("profit", "FY2027-Q2", None, 65),  # (20 + 30 + 40 + 50) - (15 + 25 + 35)
        ("margin", "FY2027-Q2", None, 65 / 140 * 100),  # a formula over a formula
        ("cost", "2026-06", None, None),
        ("profit", "FY2027-Q1", None, None),  # no cost in that quarter
    ],
)
def test_values(kpi: str, period: str, unit: str | None, expected: float | None) -> None:
    value = VALUES.value(kpi, parse_period(period, ORG.calendar), unit)
    assert value == (pytest.approx(expected) if expected is not None else None)


def test_formula_division_by_zero_has_no_value() -> None:
    data = rows(("sales", "co", "2026-07", 0, None, None), ("cost", "co", "2026-07", 0, None, None))
    table = ValueTable(ORG, data)
    assert table.value("margin", parse_period("FY2027-Q2", ORG.calendar)) is None


def _scorecard(data: pl.DataFrame, as_of: dt.date) -> FrameEvaluation:
    """The engine's scorecard of ORG; the reference gives the same rows."""
    ev = evaluate_frames(definition_frames(ORG), data, as_of)
    reference = evaluate_organization(ORG, data, as_of)
    assert ev.kpis.select("id", "unit", "score", "status").rows() == [
        (r.id, r.unit, r.score, r.status.value) for r in reference.kpis
    ]
    return ev


def _by_id(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in frame.iter_rows(named=True)}


def test_objectives_roll_up_weighted_with_coverage() -> None:
    ev = _scorecard(DATA, dt.date(2026, 10, 15))
    own = _by_id(ev.kpis.filter(pl.col("own_unit")))
    sales, readmit = own["sales"], own["readmit"]
    assert (sales["period"], sales["actual"], sales["status"]) == ("2026-09", 50, Status.RED)
    assert readmit["actual"] == pytest.approx(10) and readmit["status"] == Status.GREEN
    objectives = _by_id(ev.objectives)
    assert objectives["sell"]["score"] == 100 and objectives["sell"]["coverage"] == 1
    # grow: sales (weight 1, score 0) and sell (weight 3, score 100)
    assert objectives["grow"]["score"] == pytest.approx(75)
    assert objectives["grow"]["status"] == Status.AMBER
    units = _by_id(ev.units)
    assert sum(units["co"]["counts"].values()) == 8
    assert units["co"]["counts"]["no_data"] + units["co"]["counts"]["no_target"] == 6
    assert units["co"]["score"] == pytest.approx(50)
    assert units["east"]["status"] == Status.NO_DATA


def test_rows_at_other_units() -> None:
    ev = _scorecard(DATA, dt.date(2026, 10, 15))
    readmit_rows = {r["unit"]: r for r in ev.kpis.filter(pl.col("id") == "readmit").to_dicts()}
    assert set(readmit_rows) == {"co", "east_a", "west"}
    assert readmit_rows["west"]["status"] == Status.NO_TARGET
    assert readmit_rows["west"]["actual"] == pytest.approx(100 * 8 / 60)


def test_coverage_leaves_out_unscored_items() -> None:
    ev = _scorecard(rows(("sales", "co", "2026-09", 100, None, None)), dt.date(2026, 10, 15))
    objectives = _by_id(ev.objectives)
    assert objectives["grow"]["score"] == 100
    assert objectives["grow"]["coverage"] == pytest.approx(0.25)
    assert objectives["sell"]["status"] == Status.NO_DATA and objectives["sell"]["coverage"] == 0


def test_formula_at_a_unit_reads_inputs_there_else_at_their_own_unit() -> None:
    data = rows(
        ("sales", "east", "2026-07", 100, None, None),
        ("sales", "co", "2026-07", 300, None, None),
        ("cost", "co", "2026-07", 40, None, None),
        ("cost", "east", "2026-04", 5, None, None),  # east has cost values, but not for July
    )
    table = ValueTable(ORG, data)
    quarter = parse_period("FY2027-Q2", ORG.calendar)
    assert table.value("profit", quarter, "east") == 100 - 40
    assert table.value("profit", quarter) == 300 - 40
