"""A KPI's rows at other units than its own are each evaluated at their own period (SPEC
section 3, "Evaluation period": the latest with a value or due, an awaited one skipped): a
value entered early at the KPI's own unit moves its own row on, and leaves the other units'
rows where their values are. On both databases, in full, in the reference, in a period
report and in the scorecard kept after a write."""

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
  name: Rows Inc.
  calendar: {due_days: 10}
  units:
    - {id: co, name: Company, level: company}
    - {id: east, name: East, level: team, parent: co}
    - {id: west, name: West, level: team, parent: co}
    - {id: north, name: North, level: team, parent: co}
    - {id: south, name: South, level: department, parent: co}
    - {id: s1, name: South One, level: team, parent: south}
objectives:
  - {id: serve, title: Serve, level: strategic, unit: co}
kpis:
  - {id: hours, name: Resolution hours, unit: co, frequency: monthly, direction: decrease,
     target: {value: 10, by: 2026-12-31}, supports: [serve],
     unit_targets: {east: {value: 8, by: 2026-12-31}, north: {value: 5, by: 2026-12-31}}}
  - {id: heads, name: Headcount, unit: co, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 30, by: 2026-12-31}, supports: [serve],
     unit_targets: {south: {value: 12, by: 2026-12-31}}}
"""
# As of 5 December 2026 (due_days 10): November is awaited (due 10 December), October due.
VALUES = """\
kpi,unit,period,value
hours,co,2026-10,18
hours,east,2026-10,6
hours,west,2026-09,29
hours,west,2026-10,30
heads,east,2026-10,10
heads,west,2026-10,5
heads,s1,2026-10,3
"""
AS_OF = "2026-12-05"
# Values entered early, for the awaited November.
EARLY = [
    ("hours", "co", 17.5),
    ("hours", "east", 7.0),
    ("heads", "east", 11.0),
    ("heads", "s1", 4.0),
]
# (KPI, unit): period, actual, data.
BEFORE = {
    ("hours", "co"): ("2026-10", 18.0, "reported"),
    ("hours", "east"): ("2026-10", 6.0, "reported"),
    ("hours", "west"): ("2026-10", 30.0, "reported"),
    ("hours", "north"): ("2026-10", None, "overdue"),
    ("heads", "co"): ("2026-10", 18.0, "reported"),
    ("heads", "east"): ("2026-10", 10.0, "reported"),
    ("heads", "west"): ("2026-10", 5.0, "reported"),
    ("heads", "s1"): ("2026-10", 3.0, "reported"),
    ("heads", "south"): ("2026-10", 3.0, "reported"),
}
AFTER = {
    ("hours", "co"): ("2026-11", 17.5, "reported"),
    ("hours", "east"): ("2026-11", 7.0, "reported"),
    # No value of its own for November: October's row stays.
    ("hours", "west"): ("2026-10", 30.0, "reported"),
    ("hours", "north"): ("2026-10", None, "overdue"),
    ("heads", "co"): ("2026-11", 15.0, "reported"),
    ("heads", "east"): ("2026-11", 11.0, "reported"),
    ("heads", "west"): ("2026-10", 5.0, "reported"),
    ("heads", "s1"): ("2026-11", 4.0, "reported"),
    # A unit target's row takes the value derived from the units below, at its own period.
    ("heads", "south"): ("2026-11", 4.0, "reported"),
}


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    yield from filled_store(db_url, tmp_path, STRATEGY, VALUES)


def _rows(kpis: pl.DataFrame) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {(r["id"], r["unit"]): (r["period"], r["actual"], r["data"]) for r in kpis.to_dicts()}


def _early(store: Store) -> None:
    for kpi, unit, value in EARLY:
        record_measurement(
            store, kpi_id=kpi, unit_id=unit, period="2026-11", value=value, actor="t"
        )


def test_an_early_value_leaves_the_other_units_rows_at_their_own_period(store: Store) -> None:
    assert _rows(status_store(store, as_of=AS_OF).kpis) == BEFORE
    _early(store)
    after = status_store(store, as_of=AS_OF)
    assert _rows(after.kpis) == AFTER
    assert_same_scorecard(store, AS_OF)
    # A unit's scorecard holds its row; the row's due day is its own period's.
    west = after.kpis.filter((pl.col("id") == "hours") & (pl.col("unit") == "west"))
    assert west["due"].to_list()[0].isoformat() == "2026-11-10"
    # East's target is its own, at its own period.
    east = after.kpis.filter((pl.col("id") == "heads") & (pl.col("unit") == "east"))
    assert east["target"].to_list() == [None]
    hours_east = after.kpis.filter((pl.col("id") == "hours") & (pl.col("unit") == "east"))
    assert hours_east["target"].to_list()[0] == pytest.approx(8.0)


def test_a_period_report_shows_every_row_at_that_period(store: Store) -> None:
    _early(store)
    november = _rows(status_store(store, period="2026-11").kpis)
    assert november == {
        ("hours", "co"): ("2026-11", 17.5, "reported"),
        ("hours", "east"): ("2026-11", 7.0, "reported"),
        ("hours", "north"): ("2026-11", None, "awaiting"),
        ("heads", "co"): ("2026-11", 15.0, "reported"),
        ("heads", "east"): ("2026-11", 11.0, "reported"),
        ("heads", "s1"): ("2026-11", 4.0, "reported"),
        ("heads", "south"): ("2026-11", 4.0, "reported"),
    }
    assert_same_scorecard(store, None, "2026-11")
    october = _rows(status_store(store, period="2026-10").kpis)
    assert october[("hours", "west")] == ("2026-10", 30.0, "reported")
    assert {period for period, _, _ in october.values()} == {"2026-10"}
    assert_same_scorecard(store, None, "2026-10")


def _kept_equals_full(store: Store) -> dict[tuple[str, str], tuple[Any, ...]]:
    kept = scorecard(store, as_of=AS_OF).evaluation
    full = status_store(store, as_of=AS_OF)
    pt.assert_frame_equal(kept.kpis, full.kpis)
    pt.assert_frame_equal(kept.objectives, full.objectives)
    pt.assert_frame_equal(kept.units, full.units)
    return _rows(kept.kpis)


def test_the_kept_scorecard_keeps_the_rows_after_an_early_value(store: Store) -> None:
    assert _kept_equals_full(store) == BEFORE
    # Only the KPI's own unit written: the other units' rows stay.
    record_measurement(store, kpi_id="hours", unit_id="co", period="2026-11", value=17.5, actor="t")
    rows = _kept_equals_full(store)
    assert rows[("hours", "co")] == ("2026-11", 17.5, "reported")
    assert rows[("hours", "west")] == ("2026-10", 30.0, "reported")
    assert rows[("hours", "east")] == ("2026-10", 6.0, "reported")
    _early(store)
    assert _kept_equals_full(store) == AFTER
    # Deleted, the rows go back to October.
    for kpi, unit, _ in EARLY:
        delete_measurement(store, kpi_id=kpi, unit_id=unit, period="2026-11", actor="t")
    assert _kept_equals_full(store) == BEFORE
    # A first value at a unit adds its row, at its own period; deleted, the row goes.
    record_measurement(store, kpi_id="hours", unit_id="s1", period="2026-11", value=4.0, actor="t")
    assert _kept_equals_full(store) == {**BEFORE, ("hours", "s1"): ("2026-11", 4.0, "reported")}
    delete_measurement(store, kpi_id="hours", unit_id="s1", period="2026-11", actor="t")
    assert _kept_equals_full(store) == BEFORE
