"""No sum, score, achievement or forecast is ever NaN or infinite (SPEC section 3), whatever
finite values come in: values within the magnitude limit, and values near the largest float
that a KPI's bounds let in."""

from __future__ import annotations

import datetime as dt
import math
import sys

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.limits import MAX_MAGNITUDE
from lineofsight.domain.periods import parse_period
from lineofsight.engine.frame_scores import score_rows
from lineofsight.engine.values import ValueTable
from tests.engine.oracle import score_kpi
from tests.engine.test_forecast import monthly, one, org_with, table

WITHIN = st.floats(-MAX_MAGNITUDE, MAX_MAGNITUDE, allow_nan=False)
# Anything finite, down to the largest floats (a KPI with wide bounds).
ANY = st.floats(allow_nan=False, allow_infinity=False)
VALUES = st.one_of(WITHIN, ANY, st.sampled_from([sys.float_info.max, -sys.float_info.max]))
PERIOD = parse_period("2026-10")


def _kpi(direction: m.Direction, low: float, high: float, tolerance_abs: float | None) -> m.Kpi:
    return m.Kpi(
        id="k",
        name="K",
        unit="co",
        frequency=m.Frequency.MONTHLY,
        direction=direction,
        range=m.Range(min(low, high), max(low, high)) if direction is m.Direction.RANGE else None,
        tolerance_abs=tolerance_abs,
    )


@settings(max_examples=300)
@given(
    direction=st.sampled_from(m.Direction),
    actual=VALUES,
    target=VALUES,
    low=VALUES,
    high=VALUES,
    tolerance_abs=st.one_of(st.none(), st.floats(0, MAX_MAGNITUDE)),
)
def test_scores_stay_in_0_to_100_and_both_scorers_agree(
    direction: m.Direction,
    actual: float,
    target: float,
    low: float,
    high: float,
    tolerance_abs: float | None,
) -> None:
    kpi = _kpi(direction, low, high, tolerance_abs)
    row = score_kpi(kpi, PERIOD, "co", actual, target)
    for number in (row.actual, row.target, row.miss, row.score, row.achievement):
        assert number is None or math.isfinite(number), row
    assert row.score is None or 0 <= row.score <= 100
    frame = pl.DataFrame(
        {
            "kpi_id": ["k"],
            "unit_id": ["co"],
            "period": ["2026-10"],
            "position": [0],
            "own_unit": [True],
            "direction": [direction.value],
            "actual": [actual],
            "target": [target],
            "range_low": [kpi.range.low if kpi.range else None],
            "range_high": [kpi.range.high if kpi.range else None],
            "tolerance": [None],
            "tolerance_abs": [tolerance_abs],
            "due": [dt.date(2026, 11, 30)],
            "last_value": [None],
            "last_period": [None],
        },
        schema_overrides={
            "tolerance": pl.Float64,
            "range_low": pl.Float64,
            "last_value": pl.Float64,
            "last_period": pl.String,
        },
    )
    (fast,) = score_rows(frame, dt.date(2026, 12, 5)).to_dicts()
    for name in ("actual", "target", "miss", "score", "achievement"):
        assert fast[name] is None or math.isfinite(fast[name]), fast
    assert fast["status"] == row.status.value
    assert fast["score"] == row.score


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.one_of(WITHIN, st.just(sys.float_info.max)), min_size=3, max_size=8),
    target=st.one_of(WITHIN, st.just(sys.float_info.max)),
)
def test_a_forecast_is_finite_or_says_why_not(values: list[float], target: float) -> None:
    org = org_with(
        "{id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,"
        f" aggregation: last, tolerance_abs: 1, bounds: {{max: {sys.float_info.max!r}}},"
        f" target: {{value: {target!r}, by: 2027-03-31}}}}"
    )
    periods = [f"2026-{month:02d}" for month in range(1, len(values) + 1)]
    result = one(org, table(org, *monthly("sales", dict(zip(periods, values, strict=True)))))
    if result.projected is None:
        assert result.on_track is None and result.reason
    else:
        assert math.isfinite(result.projected) and result.probability is not None
        assert all(math.isfinite(x) for p in result.path for x in (p.value, p.low, p.high))
        assert result.on_track in (True, False) and 0.0 <= result.probability <= 1.0


def test_a_sum_past_the_largest_float_is_no_value() -> None:
    org = org_with(
        "{id: sales, name: Sales, unit: co, frequency: quarterly, direction: increase,"
        " aggregation: sum, bounds: {max: 1.7e+308}}"
    )
    values = table(org, *monthly("sales", {"2026-01": 1.7e308, "2026-02": 1.7e308}))
    assert values.value("sales", parse_period("2026-Q1")) is None
    within = table(org, *monthly("sales", {"2026-01": 1e15, "2026-02": 1e15}))
    assert within.value("sales", parse_period("2026-Q1")) == 2e15


def test_a_sum_across_units_past_the_largest_float_is_no_value() -> None:
    org = org_with(
        "{id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,"
        " aggregation: sum, across_units: sum, bounds: {max: 1.7e+308}}"
    )
    values = table(
        org, ("sales", "east", "2026-01", 1.7e308), ("sales", "west", "2026-01", 1.7e308)
    )
    assert values.value("sales", parse_period("2026-01")) is None
    assert values.value("sales", parse_period("2026-01"), "east") == 1.7e308


def test_status_of_an_overflowing_kpi_is_no_data_not_green() -> None:
    org = org_with(
        "{id: sales, name: Sales, unit: co, frequency: quarterly, direction: increase,"
        " aggregation: sum, bounds: {max: 1.7e+308}, target: {value: 1, by: 2026-12-31}}"
    )
    values: ValueTable = table(org, *monthly("sales", {"2026-07": 1.7e308, "2026-08": 1.7e308}))
    actual = values.value("sales", parse_period("2026-Q3"))
    row = score_kpi(org.kpis[0], parse_period("2026-Q3"), "co", actual, 1.0)
    assert row.status.value == "no_data" and row.score is None
    assert dt.date(2026, 12, 31) == org.kpis[0].target.by  # type: ignore[union-attr]
