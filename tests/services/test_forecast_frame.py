"""`los forecast` reads most histories with a group-by over the measurements (fast for 100,000
KPIs) and the rest from a value table: both give the forecasts the value table alone gives."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from lineofsight.domain.periods import parse_period
from lineofsight.engine.forecast import forecast_organization
from lineofsight.engine.values import ValueTable, measurements_frame
from lineofsight.services.forecast import forecast_frame
from lineofsight.spec.files import parse_strategy

STRATEGY = """
version: 1
organization:
  name: Frames
  calendar: {fiscal_year_start: %d}
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
    - {id: west, name: West, level: department, parent: co}
kpis:
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 500, by: 2027-06-30},
     unit_targets: {east: {value: 200, by: 2027-03-31}, west: {value: 90, by: 2027-12-31}}}
  - {id: cost, name: Cost, unit: co, frequency: monthly, direction: decrease,
     aggregation: sum, target: {value: 150, by: 2027-06-30}}
  - {id: profit, name: Profit, unit: co, frequency: quarterly, direction: increase,
     formula: sales - cost, target: {value: 900, by: 2028-03-31}}
  - {id: headcount, name: Headcount, unit: co, frequency: quarterly, direction: increase,
     aggregation: last, target: {value: 130, by: 2027-12-31}}
  - {id: rate, name: Rate, unit: west, frequency: weekly, direction: decrease,
     aggregation: mean, bounds: {min: 0}, target: {value: 1, by: 2027-02-28},
     tolerance_abs: 0.5}
  - {id: visits, name: Visits, unit: east, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 100, by: 2026-12-31}}
"""


def _rows(fiscal: int) -> list[dict[str, object]]:
    org = parse_strategy(STRATEGY % fiscal, "frames.yaml")
    rows: list[dict[str, object]] = []

    def add(kpi: str, unit: str, label: str, value: float) -> None:
        p = parse_period(label, org.calendar)
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

    for i in range(30):
        year, month = 2024 + (4 + i) // 12, (4 + i) % 12 + 1
        label = f"{year}-{month:02d}"
        season = 20 * math.sin(month / 12 * 2 * math.pi)
        add("sales", "east", label, 100 + 2 * i + season)
        if i % 7 != 3:  # a gap now and then
            add("sales", "west", label, 60 + i + season / 2)
        add("cost", "co", label, 180 - i)
        if i >= 20:
            add("headcount", "co", label, 100 + i)
    for day in range(1, 31):  # daily values of a monthly KPI, three months
        for month in (8, 9, 10):
            add("visits", "east", f"2026-{month:02d}-{day:02d}", float(day % 5))
    for week in range(1, 40):
        add("rate", "west", f"2026-W{week:02d}", 5 + (week % 4) - week / 10)
    return rows


@pytest.mark.parametrize("fiscal", [1, 4])
@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 22), dt.date(2026, 2, 10)])
def test_frame_histories_give_the_value_tables_forecasts(fiscal: int, as_of: dt.date) -> None:
    org = parse_strategy(STRATEGY % fiscal, "frames.yaml")
    frame = measurements_frame(_rows(fiscal))
    expected = forecast_organization(ValueTable(org, frame), org, as_of)
    found = forecast_frame(org, frame, as_of)
    assert [(f.id, f.unit) for f in found] == [(f.id, f.unit) for f in expected]
    assert found == expected
    methods = {f.method for f in found}
    if as_of.year == 2026 and as_of.month == 11:
        assert {"seasonal", "damped_trend"} <= methods
    assert any(f.projected is not None for f in found)


def test_histories_grouped_a_few_kpis_at_a_time_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A large organisation's measurements are grouped in parts (a hash of the KPI id); the
    # forecasts must not depend on how they were split.
    from lineofsight.engine import forecast_frames

    org = parse_strategy(STRATEGY % 4, "frames.yaml")
    frame = measurements_frame(_rows(4))
    as_of = dt.date(2026, 11, 22)
    whole = forecast_frame(org, frame, as_of)
    monkeypatch.setattr(forecast_frames, "_PART_ROWS", 20)
    assert frame.height // 20 > 1
    assert forecast_frame(org, frame, as_of) == whole
    assert whole == forecast_organization(ValueTable(org, frame), org, as_of)
