"""A row's last known value is the latest before its period, however old (SPEC section 3,
"Evaluation period"): a weekly KPI silent for weeks, a formula whose inputs last met three
periods back, a unit whose value is derived from the units below. On both databases, in a
status computed in full, in the reference, in a period report and in the scorecard kept
after a value for an old period is loaded or deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import polars.testing as pt
import pytest

from lineofsight.services.checkin import delete_measurement, record_measurement
from lineofsight.services.evaluate import status_store
from lineofsight.services.snapshots import scorecard
from lineofsight.store.database import Store
from tests.engine.filled import filled_store
from tests.engine.test_frames import assert_same_scorecard

STRATEGY = """\
version: 1
organization:
  name: Last Inc.
  calendar: {due_days: 3}
  units:
    - {id: co, name: Company, level: company}
    - {id: east, name: East, level: team, parent: co}
    - {id: west, name: West, level: team, parent: co}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co}
kpis:
  - {id: calls, name: Calls, unit: co, frequency: weekly, direction: increase,
     target: {value: 10, by: 2026-12-31}, supports: [grow]}
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,
     aggregation: sum, across_units: none, target: {value: 100, by: 2026-12-31}}
  - {id: cost, name: Cost, unit: co, frequency: monthly, direction: decrease,
     aggregation: sum, across_units: none, target: {value: 80, by: 2026-12-31}}
  - {id: margin, name: Margin, unit: co, frequency: monthly, direction: increase,
     formula: sales - cost, target: {value: 20, by: 2026-12-31}, supports: [grow]}
  - {id: heads, name: Headcount, unit: co, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 30, by: 2026-12-31},
     unit_targets: {east: {value: 20, by: 2026-12-31}}}
  - {id: visits, name: Visits, unit: co, frequency: monthly, direction: increase,
     across_units: none, target: {value: 10, by: 2026-12-31}}
  - {id: leads, name: Leads, unit: co, frequency: monthly, direction: increase,
     across_units: none, target: {value: 10, by: 2026-12-31}}
  - {id: reach, name: Reach, unit: co, frequency: monthly, direction: increase,
     formula: visits + sales, target: {value: 200, by: 2026-12-31}}
  - {id: conversion, name: Conversion, unit: co, frequency: monthly, direction: increase,
     formula: visits - leads, target: {value: 1, by: 2026-12-31}}
"""
# As of 5 December 2026 (due_days 3): the weekly KPI at W48 and the monthly ones at November,
# both overdue; the periods before (W47, October) hold no value of theirs.
VALUES = """\
kpi,unit,period,value
calls,co,2026-W43,4
calls,co,2026-W44,6
sales,co,2026-07,50
sales,co,2026-08,60
sales,co,2026-09,70
sales,co,2026-10,80
sales,co,2026-11,90
cost,co,2026-07,30
cost,co,2026-08,35
heads,east,2026-06,9
heads,east,2026-07,10
heads,west,2026-07,5
visits,co,2024-03,7
visits,co,2024-05,9
sales,co,2024-05,40
"""
AS_OF = "2026-12-05"
# (KPI, unit): period, last value, last period (the period report of 2026-11 alike).
EXPECTED = {
    ("calls", "co"): ("2026-W48", 6.0, "2026-W44"),
    ("margin", "co"): ("2026-11", 25.0, "2026-08"),
    ("heads", "co"): ("2026-11", 15.0, "2026-07"),
    ("heads", "east"): ("2026-11", 10.0, "2026-07"),
    # More than a year before: beyond the first, nearer, read of older values.
    ("visits", "co"): ("2026-11", 9.0, "2024-05"),
    ("reach", "co"): ("2026-11", 49.0, "2024-05"),
    # An input never had a value: nor has the formula.
    ("conversion", "co"): ("2026-11", None, None),
}


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    yield from filled_store(db_url, tmp_path, STRATEGY, VALUES)


def _rows(kpis: pl.DataFrame) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (r["id"], r["unit"]): (r["period"], r["last_value"], r["last_period"])
        for r in kpis.to_dicts()
    }


@pytest.mark.parametrize(
    "key",
    list(EXPECTED),
    ids=[
        "weekly",
        "formula",
        "across units",
        "another unit",
        "years back",
        "formula years back",
        "an input never measured",
    ],
)
def test_rows_show_the_latest_value_before_their_period_however_old(
    store: Store, key: tuple[str, str]
) -> None:
    rows = _rows(status_store(store, as_of=AS_OF).kpis)
    assert rows[key] == EXPECTED[key]
    # The formula's inputs met in July too: the latest meeting wins.
    assert rows[("sales", "co")] == ("2026-11", 80.0, "2026-10")
    assert_same_scorecard(store, AS_OF)


def test_a_period_report_shows_them_too(store: Store) -> None:
    rows = _rows(status_store(store, period="2026-11").kpis)
    assert rows[("margin", "co")] == ("2026-11", 25.0, "2026-08")
    assert rows[("heads", "co")] == ("2026-11", 15.0, "2026-07")
    assert rows[("calls", "co")] == ("2026-W48", 6.0, "2026-W44")
    assert_same_scorecard(store, None, "2026-11")


def _kept_equals_full(store: Store) -> dict[tuple[str, str], tuple[Any, ...]]:
    kept = scorecard(store, as_of=AS_OF).evaluation
    full = status_store(store, as_of=AS_OF)
    pt.assert_frame_equal(kept.kpis, full.kpis)
    pt.assert_frame_equal(kept.objectives, full.objectives)
    pt.assert_frame_equal(kept.units, full.units)
    return _rows(kept.kpis)


def test_the_kept_scorecard_follows_values_written_for_old_periods(store: Store) -> None:
    assert _kept_equals_full(store)[("calls", "co")] == ("2026-W48", 6.0, "2026-W44")
    # A value for a period older than any the scorecard is evaluated at, nearer than the last
    # one known: it becomes the last value.
    record_measurement(store, kpi_id="calls", unit_id="co", period="2026-W46", value=8.0, actor="t")
    record_measurement(store, kpi_id="cost", unit_id="co", period="2026-09", value=40.0, actor="t")
    rows = _kept_equals_full(store)
    assert rows[("calls", "co")] == ("2026-W48", 8.0, "2026-W46")
    assert rows[("margin", "co")] == ("2026-11", 30.0, "2026-09")
    # Deleted, the one before shows again.
    delete_measurement(store, kpi_id="calls", unit_id="co", period="2026-W46", actor="t")
    delete_measurement(store, kpi_id="heads", unit_id="west", period="2026-07", actor="t")
    rows = _kept_equals_full(store)
    assert rows[("calls", "co")] == ("2026-W48", 6.0, "2026-W44")
    assert rows[("heads", "co")] == ("2026-11", 10.0, "2026-07")
