"""Forecasts (SPEC section 3): least squares over the last 8 periods with values, projected to
the period of the target date; on track when the projection meets the final target."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.periods import parse_period
from lineofsight.engine.forecast import (
    Forecast,
    fit_line,
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
    ("points", "expected"),
    [
        ([(0, 1), (1, 2), (2, 3)], (1.0, 1.0)),  # exactly on a line
        ([(0, 0), (1, 1), (2, 0)], (0.0, 1 / 3)),  # flat on average
        ([(0, 1), (1, 3), (2, 2), (3, 4)], (0.8, 1.3)),  # sxy 4 / sxx 5; 2.5 - 0.8 * 1.5
        ([(0, 10), (2, 6), (3, 4)], (-2.0, 10.0)),  # a gap on the x axis
    ],
)
def test_fit_line_is_ordinary_least_squares(
    points: list[tuple[float, float]], expected: tuple[float, float]
) -> None:
    slope, intercept = fit_line(points)
    assert slope == pytest.approx(expected[0])
    assert intercept == pytest.approx(expected[1])


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
    assert result.slope == pytest.approx(1.0)
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
    assert result.projected == 14.0
    assert result.on_track is True


def test_only_the_last_8_periods_up_to_the_evaluation_period_count() -> None:
    org = org_with(SALES % 100)
    # 2025-11..2026-09 flat at 100, then 2026-02..2026-10 rising by 10: the last 8 periods
    # (2026-03..2026-10) are the rising ones; November (after the as-of period) is ignored.
    old = {f"2025-{m:02d}": 1000.0 for m in (11, 12)} | {"2026-01": 1000.0, "2026-02": 1000.0}
    recent = {f"2026-{m:02d}": 10.0 * m for m in range(3, 11)}
    later = {"2026-11": -5000.0}
    values = table(org, *monthly("sales", old | recent | later))
    result = one(org, values)
    assert result.points == 8
    assert result.first_period is not None and result.first_period.label == "2026-03"
    assert result.last_period is not None and result.last_period.label == "2026-10"
    assert result.slope == pytest.approx(10.0)
    assert result.projected == pytest.approx(150.0)  # 2027-03 is month 15 of 2026's line
    assert result.on_track is True


def test_gaps_count_on_the_time_axis() -> None:
    org = org_with(SALES % 100)
    # values in 2026-04, 2026-05 and 2026-10: the line is drawn at ordinals 0, 1 and 6
    values = table(org, *monthly("sales", {"2026-04": 0.0, "2026-05": 2.0, "2026-10": 12.0}))
    result = one(org, values)
    slope, intercept = fit_line([(0, 0.0), (1, 2.0), (6, 12.0)])
    assert result.points == 3
    assert result.slope == pytest.approx(slope)
    assert result.projected == pytest.approx(intercept + slope * 11)  # 2027-03: ordinal 11
    assert result.slope == pytest.approx(2.0)


@pytest.mark.parametrize("count", [0, 1, 2])
def test_fewer_than_3_periods_are_not_forecast(count: int) -> None:
    org = org_with(SALES % 100)
    values = table(org, *monthly("sales", {f"2026-{m:02d}": 5.0 for m in range(10 - count, 10)}))
    result = one(org, values)
    assert result.projected is None and result.on_track is None and result.slope is None
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


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=8),
    st.floats(-1e3, 1e3, allow_nan=False),
)
def test_the_fitted_line_leaves_residuals_that_sum_to_zero(ys: list[float], shift: float) -> None:
    points = [(float(i), y) for i, y in enumerate(ys)]
    slope, intercept = fit_line(points)
    residuals = [y - (intercept + slope * x) for x, y in points]
    scale = max(1.0, *(abs(y) for y in ys))
    assert abs(sum(residuals)) <= 1e-6 * scale * len(ys)
    # shifting every value shifts the line, not its slope
    moved, _ = fit_line([(x, y + shift) for x, y in points])
    assert moved == pytest.approx(slope, abs=1e-6 * scale)


def test_forecast_kpi_takes_any_unit_and_target() -> None:
    org = org_with(SALES % 1)
    values = table(org, *monthly("sales", {f"2026-{m:02d}": 1.0 for m in range(6, 11)}, "east"))
    kpi = org.kpi("sales")
    assert kpi is not None
    result = forecast_kpi(values, kpi, "east", 1.0, dt.date(2026, 12, 1), AS_OF)
    assert result.projected == pytest.approx(1.0) and result.on_track is True
