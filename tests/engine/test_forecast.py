"""Forecasts (SPEC section 3): a method chosen per KPI (seasonal with two full seasons, else a
damped or linear trend, none under 3 values), a path with an 80% interval to the period of the
target date, on track when the projection meets the final target, and the chance of that."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.periods import parse_period
from lineofsight.engine.forecast import (
    NO_FORECAST,
    TARGET_PASSED,
    Forecast,
    forecast_kpi,
    forecast_organization,
    ordinal,
)
from lineofsight.engine.values import ValueTable, measurements_frame
from lineofsight.spec.files import parse_strategy

AS_OF = dt.date(2026, 11, 22)  # monthly KPIs are evaluated in 2026-10


def org_with(kpi: str, *, fiscal_year_start: int = 1, more: str = "") -> m.Organization:
    return parse_strategy(
        f"""
version: 1
organization:
  name: Forecast
  calendar: {{fiscal_year_start: {fiscal_year_start}}}
  units:
    - {{id: co, name: Co, level: company}}
    - {{id: east, name: East, level: department, parent: co}}
    - {{id: west, name: West, level: department, parent: co}}
kpis:
  - {kpi}
{more}
""",
        "forecast.yaml",
    )


def table(org: m.Organization, *series: tuple[str, str, str, float]) -> ValueTable:
    rows = []
    for kpi, unit, period, value in series:
        p = parse_period(period, org.calendar)
        rows.append(
            {
                "kpi_id": kpi,
                "unit_id": unit,
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": None,
                "denominator": None,
            }
        )
    return ValueTable(org, measurements_frame(rows))


def monthly(
    kpi: str, values: dict[str, float], unit: str = "co"
) -> list[tuple[str, str, str, float]]:
    return [(kpi, unit, period, value) for period, value in values.items()]


def one(org: m.Organization, values: ValueTable, as_of: dt.date = AS_OF) -> Forecast:
    (result,) = forecast_organization(values, org, as_of)
    return result


SALES = (
    "{id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,"
    " aggregation: sum, target: {value: %s, by: 2027-03-31}}"
)


@pytest.mark.parametrize(
    ("period", "origin", "expected"),
    [
        ("2026-10", "2026-01", 9),
        ("2027-03", "2026-10", 5),
        ("2027-Q1", "2026-Q2", 3),
        ("FY2028-Q4", "FY2026-Q4", 8),
        ("2028", "2026", 2),
        ("2026-W10", "2026-W01", 9),
        ("2027-01-02", "2026-12-30", 3),
    ],
)
def test_ordinal_counts_periods_of_the_grain(period: str, origin: str, expected: int) -> None:
    calendar = m.Calendar(4 if period.startswith("FY") else 1)
    assert ordinal(parse_period(period, calendar), parse_period(origin, calendar)) == expected


def test_exact_line_projected_to_the_target_period() -> None:
    org = org_with(SALES % 15)
    # 2026-06..2026-10: 5, 6, 7, 8, 9; the target date 2027-03-31 is in 2027-03, five months
    # after 2026-10, so the line gives 14: short of 15.
    values = table(org, *monthly("sales", {f"2026-{m:02d}": m - 1 for m in range(6, 11)}))
    result = one(org, values)
    assert result.points == 5
    assert result.method == "damped_trend"  # an exact line picks no damping: a linear trend
    assert result.projected == pytest.approx(14.0)
    assert result.target == 15
    assert result.deadline == dt.date(2027, 3, 31)
    assert result.target_period.label == "2027-03"
    assert result.on_track is False
    assert result.first_period is not None and result.first_period.label == "2026-06"
    assert result.last_period is not None and result.last_period.label == "2026-10"


def test_a_projection_exactly_on_the_target_is_on_track() -> None:
    org = org_with(SALES % 14)
    values = table(org, *monthly("sales", {f"2026-{m:02d}": m - 1 for m in range(6, 11)}))
    result = one(org, values)
    assert result.projected == pytest.approx(14.0)
    assert result.on_track is True
    assert result.probability is not None and result.probability >= 0.5


def test_only_periods_up_to_the_evaluation_period_count() -> None:
    org = org_with(SALES % 100)
    # 2026-03..2026-10 rising by 10; November (after the as-of period) is ignored.
    recent = {f"2026-{m:02d}": 10.0 * m for m in range(3, 11)}
    later = {"2026-11": -5000.0}
    values = table(org, *monthly("sales", recent | later))
    result = one(org, values)
    assert result.points == 8
    assert result.first_period is not None and result.first_period.label == "2026-03"
    assert result.last_period is not None and result.last_period.label == "2026-10"
    assert result.projected == pytest.approx(150.0)  # 2027-03 on the line
    assert result.on_track is True


def test_gaps_are_filled_on_the_time_axis() -> None:
    org = org_with(SALES % 100)
    # values in 2026-04, 2026-05 and 2026-10: the gap is the line between its neighbours
    values = table(org, *monthly("sales", {"2026-04": 0.0, "2026-05": 2.0, "2026-10": 12.0}))
    result = one(org, values)
    assert result.points == 3
    assert result.projected == pytest.approx(22.0)  # 2027-03: 2 a month from 12 in 2026-10


@pytest.mark.parametrize("count", [0, 1, 2])
def test_fewer_than_3_periods_are_not_forecast(count: int) -> None:
    org = org_with(SALES % 100)
    values = table(org, *monthly("sales", {f"2026-{m:02d}": 5.0 for m in range(10 - count, 10)}))
    result = one(org, values)
    assert result.projected is None and result.on_track is None and result.probability is None
    assert result.method == NO_FORECAST and result.path == ()
    assert result.points == count
    assert result.reason is not None
    assert f"{count} period" in result.reason and "3 needed" in result.reason
    assert "up to 2026-10" in result.reason


@pytest.mark.parametrize(
    ("values", "target", "projected", "on_track"),
    [
        # falling by 2 a month from 30: 2027-03 is 5 months after 2026-10 (20) -> 10
        ([28, 26, 24, 22, 20], 10, 10, True),  # exactly met
        ([28, 26, 24, 22, 20], 12, 10, True),
        ([28, 26, 24, 22, 20], 9, 10, False),
        ([20, 22, 24, 26, 28], 30, 38, False),  # rising, the wrong way
    ],
)
def test_decrease_kpis(
    values: list[float], target: float, projected: float, on_track: bool
) -> None:
    org = org_with(
        "{id: days, name: Days, unit: co, frequency: monthly, direction: decrease,"
        f" target: {{value: {target}, by: 2027-03-31}}}}"
    )
    data = table(org, *monthly("days", {f"2026-{6 + i:02d}": v for i, v in enumerate(values)}))
    result = one(org, data)
    assert result.projected == pytest.approx(projected)
    assert result.on_track is on_track


@pytest.mark.parametrize(
    ("values", "projected", "on_track"),
    [
        ([80, 81, 82, 83, 84], 89, True),  # inside 85..92
        ([90, 90.5, 91, 91.5, 92], 94.5, False),  # drifting above the range
        ([76, 77, 78, 79, 80], 85, True),  # exactly on the low edge
        ([70, 71, 72, 73, 74], 79, False),
    ],
)
def test_range_kpis_are_checked_within_the_range(
    values: list[float], projected: float, on_track: bool
) -> None:
    org = org_with(
        "{id: occupancy, name: Occupancy, unit: co, frequency: monthly, direction: range,"
        " range: {low: 85, high: 92}, target: {value: 88, by: 2027-03-31}}"
    )
    data = table(org, *monthly("occupancy", {f"2026-{6 + i:02d}": v for i, v in enumerate(values)}))
    result = one(org, data)
    assert result.projected == pytest.approx(projected)
    assert result.on_track is on_track
    assert result.target == 88.5  # the middle of the range, as in scoring


def test_kpis_without_a_final_target_are_not_forecast() -> None:
    org = org_with(
        "{id: plain, name: Plain, unit: co, frequency: monthly, direction: increase}",
        more="  - {id: occ, name: Occ, unit: co, frequency: monthly, direction: range,"
        " range: {low: 1, high: 2}}",
    )
    values = table(org, *monthly("plain", {f"2026-{m:02d}": m for m in range(1, 11)}))
    assert forecast_organization(values, org, AS_OF) == []


def test_unit_targets_are_forecast_at_their_units() -> None:
    org = org_with(
        "{id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,"
        " aggregation: sum, target: {value: 100, by: 2027-03-31},"
        " unit_targets: {west: {value: 20, by: 2026-12-31}, east: {value: 90, by: 2027-03-31}}}"
    )
    east = {f"2026-{m:02d}": 10.0 * m for m in range(6, 11)}  # 60..100, 150 by 2027-03
    west = {f"2026-{m:02d}": 30.0 - m for m in range(6, 11)}  # 24..20, 18 by 2026-12
    values = table(org, *monthly("sales", east, "east"), *monthly("sales", west, "west"))
    own, at_east, at_west = forecast_organization(values, org, AS_OF)
    assert (own.unit, at_east.unit, at_west.unit) == ("co", "east", "west")
    # the company's value is the sum of its units: 84, 93, ..., 120 -> 165 by 2027-03
    assert own.projected == pytest.approx(165.0) and own.on_track is True
    assert at_east.projected == pytest.approx(150.0) and at_east.target == 90
    assert at_west.projected == pytest.approx(18.0) and at_west.on_track is False
    assert at_west.target_period.label == "2026-12" and at_west.target == 20


def test_fiscal_quarters_and_formulas() -> None:
    org = org_with(
        "{id: ccc, name: CCC, unit: co, frequency: quarterly, direction: decrease,"
        " formula: dio - dpo, target: {value: 10, by: 2028-03-31}}",
        fiscal_year_start=4,
        more="""  - {id: dio, name: DIO, unit: co, frequency: monthly, direction: decrease}
  - {id: dpo, name: DPO, unit: co, frequency: monthly, direction: increase}
  - {id: twice, name: Twice, unit: co, frequency: quarterly, direction: decrease,
     formula: ccc * 2, target: {value: 20, by: 2028-03-31}}""",
    )
    # quarters FY2026-Q4 (Jan-Mar 2026) .. FY2027-Q2 (Jul-Sep 2026): dio 50, 48, 46; dpo 20
    series = []
    for months, dio in (
        (("01", "02", "03"), 50),
        (("04", "05", "06"), 48),
        (("07", "08", "09"), 46),
    ):
        for month in months:
            series += [("dio", "co", f"2026-{month}", dio), ("dpo", "co", f"2026-{month}", 20)]
    values = table(org, *series)
    ccc, twice = forecast_organization(values, org, AS_OF)
    assert ccc.points == 3 and ccc.last_period is not None
    assert ccc.last_period.label == "FY2027-Q2"
    assert ccc.target_period.label == "FY2028-Q4"  # 6 quarters after FY2027-Q2
    assert ccc.projected == pytest.approx(26 - 2 * 6)
    assert ccc.on_track is False
    # a formula over a formula has the same periods as the formula it reads
    assert twice.points == 3
    assert twice.projected == pytest.approx(2 * (26 - 2 * 6))


def test_projection_is_held_at_the_bounds() -> None:
    org = org_with(
        "{id: injuries, name: Injuries, unit: co, frequency: monthly, direction: decrease,"
        " target: {value: 0, by: 2027-03-31}, tolerance_abs: 1, bounds: {min: 0}}"
    )
    values = table(org, *monthly("injuries", {"2026-08": 3.0, "2026-09": 2.0, "2026-10": 1.0}))
    result = one(org, values)
    assert result.projected == 0.0 and result.clamped is True and result.on_track is True


def test_forecast_kpi_takes_any_unit_and_target() -> None:
    org = org_with(SALES % 1)
    values = table(org, *monthly("sales", {f"2026-{m:02d}": 1.0 for m in range(6, 11)}, "east"))
    kpi = org.kpi("sales")
    assert kpi is not None
    result = forecast_kpi(values, kpi, "east", 1.0, dt.date(2026, 12, 1), AS_OF)
    assert result.projected == pytest.approx(1.0) and result.on_track is True


def months_back(count: int, last: tuple[int, int] = (2026, 10)) -> list[str]:
    """The labels of `count` months ending with `last`, oldest first."""
    year, month = last
    labels = []
    for _ in range(count):
        labels.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return labels[::-1]


def seasonal_values(count: int, december: float = 150.0) -> dict[str, float]:
    """Flat at 100 with a December peak, plus a little deterministic noise."""
    return {
        label: (december if label.endswith("-12") else 100.0) + math.sin(i * 1.7)
        for i, label in enumerate(months_back(count))
    }


@pytest.mark.parametrize(
    ("count", "method"),
    [(36, "seasonal"), (24, "seasonal"), (23, "damped_trend"), (3, "damped_trend")],
)
def test_the_method_follows_the_length_of_the_history(count: int, method: str) -> None:
    org = org_with(SALES % 100)
    result = one(org, table(org, *monthly("sales", seasonal_values(count))))
    assert result.method == method and result.points == count


def test_quarters_need_8_for_the_seasonal_method() -> None:
    kpi = (
        "{id: q, name: Q, unit: co, frequency: quarterly, direction: increase,"
        " target: {value: 10, by: 2027-12-31}}"
    )
    org = org_with(kpi)
    labels = ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    seven = {label: 5.0 + (i % 4) for i, label in enumerate(labels)}
    assert one(org, table(org, *monthly("q", seven))).method == "damped_trend"
    eight = {"2024-Q3": 7.0} | seven | {"2026-Q3": 9.0}
    result = one(org, table(org, *monthly("q", eight)))
    assert result.method == "seasonal"
    assert [p.period.label for p in result.path] == [
        "2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4",
    ]  # fmt: skip


def test_a_seasonal_kpi_the_straight_line_called_wrongly() -> None:
    # Sales peak every December; as of 22 November the last value is October's. The old
    # straight line through the last 8 months (all about 100) says 100 in December: off
    # track for a December target of 140. The seasonal forecast sees the peak: on track.
    sales = (
        "{id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,"
        " target: {value: 140, by: 2026-12-31}}"
    )
    org = org_with(sales)
    history = seasonal_values(36)
    result = one(org, table(org, *monthly("sales", history)))
    last8 = list(history.values())[-8:]
    slope, intercept = np.polyfit(np.arange(8.0), last8, 1)
    assert intercept + slope * 9 < 140  # the old line: December is 2 months after October
    assert result.method == "seasonal"
    assert result.projected is not None and 140 < result.projected < 160
    assert result.on_track is True
    assert result.probability is not None and result.probability > 0.8
    assert [p.period.label for p in result.path] == ["2026-11", "2026-12"]


def test_the_path_runs_from_the_next_period_to_the_target_period() -> None:
    org = org_with(SALES % 100)
    result = one(org, table(org, *monthly("sales", seasonal_values(30))))
    labels = [p.period.label for p in result.path]
    assert labels == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
    assert result.projected == result.path[-1].value
    for point in result.path:
        assert point.low <= point.value <= point.high
    # the interval widens with the horizon
    widths = [p.high - p.low for p in result.path]
    assert widths[-1] > widths[0]


def test_forecasts_are_deterministic() -> None:
    org = org_with(SALES % 120)
    data = seasonal_values(40)
    first = one(org, table(org, *monthly("sales", data)))
    again = one(org, table(org, *monthly("sales", dict(data))))
    assert first == again


def test_the_path_and_interval_stay_within_the_bounds() -> None:
    org = org_with(
        "{id: rate, name: Rate, unit: co, frequency: monthly, direction: decrease,"
        " target: {value: 5, by: 2027-12-31}, bounds: {min: 0, max: 100}}"
    )
    falling = {label: 60.0 - 5 * i + (i % 3) for i, label in enumerate(months_back(12))}
    result = one(org, table(org, *monthly("rate", falling)))
    assert result.path
    for point in result.path:
        assert 0 <= point.low <= point.value <= point.high <= 100
    assert result.path[-1].value == 0 and result.clamped is True
    assert result.on_track is True and result.probability == 1.0  # 0 is the least it can be


@pytest.mark.parametrize(
    ("direction", "target", "on_track"),
    [("increase", 90, True), ("increase", 120, False), ("decrease", 90, False),
     ("decrease", 120, True)],
)  # fmt: skip
def test_the_probability_agrees_with_on_track(
    direction: str, target: float, on_track: bool
) -> None:
    org = org_with(
        f"{{id: k, name: K, unit: co, frequency: monthly, direction: {direction},"
        f" target: {{value: {target}, by: 2027-06-30}}}}"
    )
    noisy = {label: 100.0 + 3 * math.sin(i) for i, label in enumerate(months_back(18))}
    result = one(org, table(org, *monthly("k", noisy)))
    assert result.on_track is on_track
    assert result.probability is not None
    assert (result.probability >= 0.5) is on_track
    assert 0.0 < result.probability < 1.0


def test_a_target_whose_date_has_passed_is_not_projected() -> None:
    # Values go on after the target's date (September): whether it was met is the
    # scorecard's to say, not a projection's, and so is one whose values stopped before it.
    org = org_with(SALES.replace("2027-03-31", "2026-09-30") % 100)
    short = dict(list(seasonal_values(10).items())[:-3])  # up to 2026-07
    for values in (seasonal_values(10), short):
        result = one(org, table(org, *monthly("sales", values)))
        assert result.method == NO_FORECAST and result.reason == TARGET_PASSED
        assert result.projected is None and result.on_track is None and not result.path
    # On the target's date itself, it is projected.
    on_the_day = one(org, table(org, *monthly("sales", short)), dt.date(2026, 9, 30))
    assert on_the_day.projected is not None and on_the_day.reason is None


def test_a_target_whose_period_is_not_after_the_last_value_is_not_forecast() -> None:
    # On its target's date, the last day of October, a KPI whose October value is in.
    org = org_with(SALES.replace("2027-03-31", "2026-10-31") % 100)
    values = table(org, *monthly("sales", seasonal_values(10)))
    result = one(org, values, dt.date(2026, 10, 31))
    assert result.method == NO_FORECAST and result.reason is not None
    assert "2026-10" in result.reason and "not after the last value" in result.reason


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.floats(-1e308, 1e308), st.just(0.0)),
        min_size=3,
        max_size=30,
    ),
    st.floats(-1e12, 1e12),
    st.sampled_from(["increase", "decrease"]),
)
def test_never_nan_or_infinite(values: list[float], target: float, direction: str) -> None:
    org = org_with(
        f"{{id: k, name: K, unit: co, frequency: monthly, direction: {direction},"
        f" target: {{value: {target!r}, by: 2027-06-30}}, tolerance_abs: 1}}"
    )
    data = dict(zip(months_back(len(values)), values, strict=True))
    result = one(org, table(org, *monthly("k", data)))
    if result.projected is None:
        assert result.method == NO_FORECAST and result.reason and result.probability is None
        return
    assert result.probability is not None and 0.0 <= result.probability <= 1.0
    for point in result.path:
        assert all(math.isfinite(x) for x in (point.value, point.low, point.high))
        assert point.low <= point.value <= point.high


def test_only_the_last_five_years_of_months_are_read() -> None:
    org = org_with(SALES % 100)
    result = one(org, table(org, *monthly("sales", seasonal_values(70))))
    assert result.points == 60 and result.method == "seasonal"
    assert result.first_period is not None and result.first_period.label == "2021-11"
    assert result.last_period is not None and result.last_period.label == "2026-10"


TURNOVER = (
    "{id: turnover, name: Staff turnover, unit: co, frequency: quarterly, direction: decrease,"
    " target: {value: 4, by: 2027-12-31}}"
)


def test_three_quarters_that_fall_fast_are_not_certain() -> None:
    # Three quarterly values falling fast (7.5, 6.9, 5.1) against a target of 4 five quarters
    # on: the damped trend fits three values almost exactly, and its own error model read a
    # projection of -0.21 as a 100% chance with an interval of -0.98 to 0.56. Two errors say
    # little: the interval is wide enough to hold where the series is now, and the chance is
    # far from certain, on the KPI page's path (one KPI) as on the organisation's (a batch).
    org = org_with(TURNOVER, more="  - " + TURNOVER.replace("turnover", "other", 1))
    series = {"2026-Q1": 7.5, "2026-Q2": 6.9, "2026-Q3": 5.1}
    values = table(
        org,
        *monthly("turnover", series),
        *monthly("other", {p: v + 1 for p, v in series.items()}),
    )
    result, _ = forecast_organization(values, org, AS_OF)
    assert result.points == 3 and result.method == "damped_trend"
    assert result.target_period.label == "2027-Q4"
    assert result.on_track is True  # the trend's mean still reaches the target
    assert result.probability is not None and 0.5 <= result.probability < 0.9
    first, last = result.path[0], result.path[-1]
    assert first.low < 5.1 < first.high and last.low < 5.1 < last.high
    assert last.high - last.low > 2 * (first.high - first.low)  # wider with the horizon
    kpi = org.kpi("turnover")
    assert kpi is not None
    alone = forecast_kpi(values, kpi, "co", 4.0, dt.date(2027, 12, 31), AS_OF)
    assert alone.probability == result.probability and alone.path == result.path
