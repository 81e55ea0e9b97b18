"""Reporting lag (SPEC section 3, "Evaluation period") and the counts and worst item of every
roll-up, on both scorecard engines: the reference (objects) and the frames (`los status`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import polars.testing as pt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineofsight.domain.periods import parse_period
from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation, evaluate_frames
from lineofsight.engine.values import measurements_frame
from lineofsight.services.apply import apply_file
from lineofsight.services.evaluate import read_definition_frames
from lineofsight.spec.files import parse_strategy
from lineofsight.store.database import Store
from tests.engine.oracle import Evaluation, evaluate_organization

STRATEGY = """\
version: 1
organization:
  name: Lag Inc.
  calendar: {{due_days: {due}}}
  units:
    - {{id: co, name: Company, level: company}}
    - {{id: east, name: East, level: team, parent: co}}
    - {{id: west, name: West, level: team, parent: co}}
objectives:
  - {{id: grow, title: Grow, level: strategic, unit: co}}
kpis:
  - {{id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,
      aggregation: sum, target: {{value: 100, by: 2026-01-31}}, supports: [grow]}}
  - {{id: nps, name: NPS, unit: co, frequency: monthly, direction: increase, due_days: 3,
      target: {{value: 50, by: 2026-01-31}}, supports: [grow]}}
  - {{id: cost, name: Cost, unit: co, frequency: monthly, direction: decrease,
      aggregation: sum, target: {{value: 80, by: 2026-01-31}}}}
  - {{id: margin, name: Margin, unit: co, frequency: monthly, direction: increase,
      formula: sales - cost, target: {{value: 20, by: 2026-01-31}}}}
  - {{id: share, name: Share, unit: co, frequency: quarterly, direction: increase,
      target: {{value: 10, by: 2026-01-31}}}}
"""
MONTHS = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]


def _store(tmp_path: Path, due: int = 30) -> Store:
    path = tmp_path / f"strategy-{due}.yaml"
    path.write_text(STRATEGY.format(due=due))
    store = Store(f"sqlite:///{tmp_path / f'lag-{due}.db'}")
    apply_file(store, path)
    return store


def _measurements(values: dict[tuple[str, str, str], float]) -> pl.DataFrame:
    rows = []
    for (kpi, unit, label), value in values.items():
        p = parse_period(label)
        rows.append(
            {
                "kpi_id": kpi,
                "unit_id": unit,
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
            }
        )
    return measurements_frame(rows)


def _both(
    defs: DefinitionFrames, due: int, ms: pl.DataFrame, as_of: dt.date, lag: bool
) -> tuple[Evaluation, FrameEvaluation]:
    org = parse_strategy(STRATEGY.format(due=due))
    return evaluate_organization(org, ms, as_of, lag), evaluate_frames(defs, ms, as_of, lag)


def _row(ev: FrameEvaluation, kpi: str, unit: str = "co") -> dict[str, Any]:
    return ev.kpis.filter((pl.col("id") == kpi) & (pl.col("unit") == unit)).to_dicts()[0]


def _same(reference: Evaluation, fast: FrameEvaluation) -> None:
    close = {"check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-9}
    pt.assert_frame_equal(fast.kpis, reference.kpi_frame().select(fast.kpis.columns), **close)
    pt.assert_frame_equal(
        fast.objectives, reference.objective_frame().select(fast.objectives.columns), **close
    )
    pt.assert_frame_equal(fast.units, reference.unit_frame().select(fast.units.columns), **close)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[int, DefinitionFrames]:
    tmp = tmp_path_factory.mktemp("lag")
    found = {}
    for due in (30, 0):
        store = _store(tmp, due)
        try:
            found[due] = read_definition_frames(store)
        finally:
            store.close()
    return found


SEP_OCT = {("sales", "co", "2026-09"): 90.0, ("sales", "co", "2026-10"): 95.0}


# (case, calendar due_days, values, as-of, lag, KPI, period, status, data, due, last value,
#  last period)
CASES = [
    (
        "on 5 December November is awaiting: October shows",
        30, SEP_OCT, "2026-12-05", True,
        "sales", "2026-10", "amber", "reported", "2026-11-30", 90.0, "2026-09",
    ),
    (
        "a November value in by 5 December shows at once",
        30, {**SEP_OCT, ("sales", "co", "2026-11"): 120.0}, "2026-12-05", True,
        "sales", "2026-11", "green", "reported", "2026-12-30", 95.0, "2026-10",
    ),
    (
        "a KPI's own due_days (3) wins over the calendar's: November is overdue",
        30, {("nps", "co", "2026-10"): 40.0}, "2026-12-05", True,
        "nps", "2026-11", "no_data", "overdue", "2026-12-03", 40.0, "2026-10",
    ),
    (
        "a calendar due_days of 0 makes a period due the day it ends",
        0, SEP_OCT, "2026-12-05", True,
        "sales", "2026-11", "no_data", "overdue", "2026-11-30", 95.0, "2026-10",
    ),
    (
        "on 15 January December is awaiting and November overdue: November shows",
        30, SEP_OCT, "2027-01-15", True,
        "sales", "2026-11", "no_data", "overdue", "2026-12-30", 95.0, "2026-10",
    ),
    (
        "a period report shows November, value or not, awaiting until it is due",
        30, SEP_OCT, "2026-11-30", False,
        "sales", "2026-11", "no_data", "awaiting", "2026-12-30", 95.0, "2026-10",
    ),
    (
        "a formula is awaiting while an input's value is not in",
        30,
        {**SEP_OCT, ("cost", "co", "2026-10"): 70.0, ("sales", "co", "2026-11"): 120.0},
        "2026-12-05", True,
        "margin", "2026-10", "green", "reported", "2026-11-30", None, None,
    ),
    (
        "a formula reports a period when every input has",
        30,
        {
            **SEP_OCT,
            ("cost", "co", "2026-10"): 70.0,
            ("sales", "co", "2026-11"): 120.0,
            ("cost", "co", "2026-11"): 90.0,
        },
        "2026-12-05", True,
        "margin", "2026-11", "green", "reported", "2026-12-30", 25.0, "2026-10",
    ),
    (
        "a value derived across units counts as reported",
        30, {("sales", "east", "2026-11"): 60.0, ("sales", "west", "2026-11"): 50.0},
        "2026-12-05", True,
        "sales", "2026-11", "green", "reported", "2026-12-30", None, None,
    ),
    (
        "a quarterly KPI on 5 December: Q3 is the latest ended quarter",
        30, {("share", "co", "2026-Q2"): 9.0}, "2026-12-05", True,
        "share", "2026-Q3", "no_data", "overdue", "2026-10-30", 9.0, "2026-Q2",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("due", "values", "as_of", "lag", "kpi", "period", "status", "data", "due_on", "last", "lp"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_period_each_kpi_is_evaluated_at(
    stores: dict[int, DefinitionFrames],
    due: int,
    values: dict[tuple[str, str, str], float],
    as_of: str,
    lag: bool,
    kpi: str,
    period: str,
    status: str,
    data: str,
    due_on: str,
    last: float | None,
    lp: str | None,
) -> None:
    reference, fast = _both(
        stores[due], due, _measurements(values), dt.date.fromisoformat(as_of), lag
    )
    row = _row(fast, kpi)
    assert (row["period"], row["status"], row["data"]) == (period, status, data)
    assert row["due"] == dt.date.fromisoformat(due_on)
    assert (row["last_value"], row["last_period"]) == (last, lp)
    _same(reference, fast)


def test_an_objective_at_ninety_or_more_says_it_holds_two_reds(tmp_path: Path) -> None:
    kpis = "\n".join(
        f"  - {{id: k{i}, name: K{i}, unit: co, frequency: monthly, direction: increase,"
        f" target: {{value: 100, by: 2026-01-31}}, supports: [{{objective: grow, weight: {w}}}]}}"
        for i, w in enumerate([10, 10, 10, 10, 10, 10, 1, 1])
    )
    path = tmp_path / "strategy.yaml"
    path.write_text(
        "version: 1\norganization:\n  name: Co\n  units:\n"
        "    - {id: co, name: Co, level: company}\n"
        "objectives:\n  - {id: grow, title: Grow, level: strategic, unit: co}\n"
        f"kpis:\n{kpis}\n"
    )
    store = Store(f"sqlite:///{tmp_path / 'co.db'}")
    try:
        apply_file(store, path)
        defs = read_definition_frames(store)
    finally:
        store.close()
    values = {(f"k{i}", "co", "2026-10"): 100.0 for i in range(6)}
    values[("k6", "co", "2026-10")] = 10.0
    values[("k7", "co", "2026-10")] = 20.0
    ms = _measurements(values)
    org = parse_strategy(path.read_text())
    reference = evaluate_organization(org, ms, dt.date(2026, 11, 5))
    fast = evaluate_frames(defs, ms, dt.date(2026, 11, 5))
    _same(reference, fast)
    grow = fast.objectives.to_dicts()[0]
    assert grow["score"] >= 90 and grow["status"] == "green"
    assert grow["counts"] == {"green": 6, "amber": 0, "red": 2, "no_data": 0, "no_target": 0}
    assert grow["worst"] == {"id": "k6", "kind": "kpi", "status": "red", "score": 0.0}
    unit = fast.units.to_dicts()[0]
    assert unit["counts"]["red"] == 2 and unit["worst"]["id"] == "k6"


def test_worst_ties_break_by_kind_then_id(stores: dict[int, DefinitionFrames]) -> None:
    """Two KPIs with the same score: the first by id is the worst, on both engines."""
    ms = _measurements({("sales", "co", "2026-10"): 0.0, ("nps", "co", "2026-10"): 0.0})
    reference, fast = _both(stores[30], 30, ms, dt.date(2026, 11, 5), True)
    _same(reference, fast)
    assert fast.objectives.to_dicts()[0]["worst"]["id"] == "nps"
    assert reference.objectives[0].worst is not None and reference.objectives[0].worst.id == "nps"


MONTH_VALUES = st.dictionaries(
    st.tuples(
        st.sampled_from(["sales", "nps", "cost"]),
        st.sampled_from(["co", "east", "west"]),
        st.sampled_from(MONTHS),
    ),
    st.floats(0, 200, allow_nan=False),
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=MONTH_VALUES,
    day=st.dates(dt.date(2026, 9, 1), dt.date(2027, 2, 28)),
    due=st.sampled_from([30, 0]),
    lag=st.booleans(),
)
def test_both_engines_choose_the_same_periods(
    stores: dict[int, DefinitionFrames],
    values: dict[tuple[str, str, str], float],
    day: dt.date,
    due: int,
    lag: bool,
) -> None:
    reference, fast = _both(stores[due], due, _measurements(values), day, lag)
    _same(reference, fast)
    for row in fast.kpis.to_dicts():
        # A row is only ever without a value at a period that is due, or in a period report.
        if row["actual"] is None and lag:
            assert row["data"] == "overdue" and row["due"] <= day
        if row["last_period"] is not None:
            assert parse_period(row["last_period"]).end < parse_period(row["period"]).start
