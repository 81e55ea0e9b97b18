"""Will each target be met? A straight line through the recent values, projected to the target.

SPEC section 3: ordinary least squares on (period ordinal, value) over the last 8 periods that
have values (at least 3), projected to the period that contains the target date; on track when
the projected value meets the final target (miss 0, as in scoring).

- The series is the KPI's own periods up to its evaluation period for the as-of date, at the
  KPI's own unit against its final `target`, and at every unit with a unit target against that.
- A period's ordinal is its place in the unbroken run of the KPI's periods, so a period without
  a value is a gap on the time axis, not a step skipped.
- A projection beyond the KPI's `bounds` is held at the bound (a line through falling injury
  rates does not predict a negative rate); `clamped` says so.
- A range KPI is forecast when it has a target date (`target: {value, by}`); the projection is
  on track when it lies within the range.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period
from lineofsight.engine.calendar import evaluation_period, period_for
from lineofsight.engine.scoring import miss_of
from lineofsight.engine.values import ValueTable

__all__ = [
    "MAX_POINTS",
    "MIN_POINTS",
    "Forecast",
    "fit_line",
    "forecast_kpi",
    "forecast_organization",
    "ordinal",
]

MAX_POINTS = 8
MIN_POINTS = 3

# The fit's float noise must not turn a projection that lands exactly on the target into a miss.
_REL_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Forecast:
    """The projection of one KPI at one unit to the period of its target date.

    `projected`, `slope` and `on_track` are None when the KPI could not be forecast; `reason`
    then says why.
    """

    id: str
    unit: str
    target: float
    deadline: dt.date
    target_period: Period
    points: int
    projected: float | None
    slope: float | None
    on_track: bool | None
    first_period: Period | None = None
    last_period: Period | None = None
    reason: str | None = None
    clamped: bool = False


def ordinal(period: Period, origin: Period) -> int:
    """How many periods of their grain `period` lies after `origin` (same grain and calendar)."""
    if period.grain is Grain.DAY:
        return (period.start - origin.start).days
    if period.grain is Grain.WEEK:
        return (period.start - origin.start).days // 7
    months = (period.start.year - origin.start.year) * 12 + period.start.month - origin.start.month
    if period.grain is Grain.MONTH:
        return months
    return months // (3 if period.grain is Grain.QUARTER else 12)


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Ordinary least squares: `(slope, intercept)` of the line through (x, y) points.

    Needs at least two distinct x values.
    """
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def forecast_kpi(
    values: ValueTable,
    kpi: m.Kpi,
    unit: str,
    target: float,
    deadline: dt.date,
    as_of: dt.date,
) -> Forecast:
    """Project one KPI at one unit to the period of `deadline` and compare with `target`."""
    calendar = values.calendar
    last_allowed = evaluation_period(kpi.frequency, as_of, calendar)
    target_period = period_for(deadline, kpi.frequency, calendar)
    if kpi.direction is m.Direction.RANGE:
        if kpi.range is None:
            return _not_forecast(kpi, unit, target, deadline, target_period, [], "no range")
        target = (kpi.range.low + kpi.range.high) / 2
    periods = [
        p for p in values.periods_with_values(kpi.id, unit) if p.start <= last_allowed.start
    ][-MAX_POINTS:]
    if len(periods) < MIN_POINTS:
        found = f"{len(periods)} period{'' if len(periods) == 1 else 's'}"
        reason = f"{found} with values up to {last_allowed.label}; {MIN_POINTS} needed"
        return _not_forecast(kpi, unit, target, deadline, target_period, periods, reason)
    origin = periods[0]
    series: list[tuple[float, float]] = []
    for period in periods:
        value = values.value(kpi.id, period, unit)
        assert value is not None  # periods_with_values keeps only periods with a value
        series.append((float(ordinal(period, origin)), value))
    slope, intercept = fit_line(series)
    line = intercept + slope * ordinal(target_period, origin)
    if not all(math.isfinite(x) for x in (slope, intercept, line, target)):
        # Values near the largest float overflow the fit: no forecast rather than a NaN one.
        reason = "the values are too large to fit a line through them"
        return _not_forecast(kpi, unit, target, deadline, target_period, periods, reason)
    projected = _within_bounds(line, kpi.bounds)
    miss = miss_of(kpi.direction, projected, target, kpi.range)
    on_track = miss <= _REL_EPSILON * max(1.0, abs(target))
    return Forecast(
        id=kpi.id,
        unit=unit,
        target=target,
        deadline=deadline,
        target_period=target_period,
        points=len(periods),
        projected=projected,
        slope=slope,
        on_track=on_track,
        first_period=periods[0],
        last_period=periods[-1],
        clamped=projected != line,
    )


def _within_bounds(value: float, bounds: m.Bounds | None) -> float:
    if bounds is None:
        return value
    if bounds.min is not None and value < bounds.min:
        return bounds.min
    if bounds.max is not None and value > bounds.max:
        return bounds.max
    return value


def _not_forecast(
    kpi: m.Kpi,
    unit: str,
    target: float,
    deadline: dt.date,
    target_period: Period,
    periods: Sequence[Period],
    reason: str,
) -> Forecast:
    return Forecast(
        id=kpi.id,
        unit=unit,
        target=target,
        deadline=deadline,
        target_period=target_period,
        points=len(periods),
        projected=None,
        slope=None,
        on_track=None,
        first_period=periods[0] if periods else None,
        last_period=periods[-1] if periods else None,
        reason=reason,
    )


def forecast_organization(
    values: ValueTable, org: m.Organization, as_of: dt.date
) -> list[Forecast]:
    """Every KPI with a final target at its own unit, and every unit target, projected."""
    results = []
    for kpi in org.kpis:
        if kpi.target is not None:
            results.append(
                forecast_kpi(values, kpi, kpi.unit, kpi.target.value, kpi.target.by, as_of)
            )
        for unit, unit_target in sorted(kpi.unit_targets, key=lambda item: item[0]):
            if unit == kpi.unit:
                continue
            results.append(
                forecast_kpi(values, kpi, unit, unit_target.value, unit_target.by, as_of)
            )
    return results
