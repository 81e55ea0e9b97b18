"""Will each target be met? A projected path with an 80% interval, and the chance of meeting it.

SPEC section 3, "Forecast":
- The series is the KPI's own periods up to its evaluation period for the as-of date (nothing
  after it), at the KPI's own unit against its final `target`, and at every unit with a unit
  target against that. A period without a value inside the series is a gap on the time axis,
  filled by a straight line between its neighbours.
- The method is chosen per KPI (engine/forecast_methods.py): with at least two full seasons of
  history (24 months, 8 quarters, 104 weeks) `seasonal` (the season, then the two models with
  the least error over the KPI's own last seasons, averaged: `models` names them); with less
  (or days and years, which have no season here) `damped_trend`; with fewer than 3 values
  `no_forecast`, with the reason. A target whose date is before the as-of date is not
  projected ("target date passed").
- The path runs from the period after the last value to the period that contains the target
  date; `projected` is its last value, `on_track` whether that meets the final target (miss 0,
  as in scoring), `probability` the chance that the value there meets it under the interval's
  error model (normal, or log-normal for a positive seasonal series).
- Values and interval ends beyond the KPI's `bounds` are held at the bound (`clamped` says
  the projection was); the probability counts the bound (an injury rate cannot fall below 0).
- Forecasts are fitted in batches: every series of the same length, season and horizon at
  once, so that an organisation of 100,000 KPIs is a few array operations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period, next_period
from lineofsight.engine.calendar import evaluation_period, period_for
from lineofsight.engine.forecast_fit import Goals, fit_rows
from lineofsight.engine.forecast_methods import max_history
from lineofsight.engine.values import ValueTable

__all__ = [
    "MAX_HORIZON",
    "MIN_POINTS",
    "NO_FORECAST",
    "TARGET_PASSED",
    "Forecast",
    "History",
    "HistorySource",
    "NotRequested",
    "PathPoint",
    "Request",
    "forecast_kpi",
    "forecast_organization",
    "forecast_requests",
    "not_requested",
    "ordinal",
    "requests_of",
    "season_of",
    "table_source",
]

MIN_POINTS = 3
# A path longer than this (a daily KPI with a target years away) is not forecast.
MAX_HORIZON = 2000
NO_FORECAST = "no_forecast"
NO_RANGE = "no range"
# A target whose date is before the as-of date is not projected: whether it was met is the
# scorecard's to say.
TARGET_PASSED = "target date passed"

# Why a series whose values overflow the fit has no forecast.
TOO_LARGE = "the values are too large to forecast"

_SEASONS = {Grain.MONTH: 12, Grain.QUARTER: 4, Grain.WEEK: 52}


@dataclass(frozen=True, slots=True)
class PathPoint:
    """One projected period: the value and its 80% prediction interval."""

    period: Period
    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """The projection of one KPI at one unit to the period of its target date.

    `projected`, `on_track` and `probability` are None when the KPI could not be forecast
    (`method` is then `no_forecast`); `reason` then says why.
    """

    id: str
    unit: str
    target: float
    deadline: dt.date
    target_period: Period
    points: int
    projected: float | None
    on_track: bool | None
    method: str = NO_FORECAST
    probability: float | None = None
    first_period: Period | None = None
    last_period: Period | None = None
    reason: str | None = None
    clamped: bool = False
    # The models behind a seasonal projection (the two with the least error over the KPI's
    # own last seasons, averaged), e.g. `damped_trend+ar2`; None for the other methods.
    models: str | None = None
    # The path, column by column (cheap for 100,000 KPIs); `path` gives it point by point.
    path_periods: tuple[Period, ...] = ()
    path_values: tuple[float, ...] = ()
    path_low: tuple[float, ...] = ()
    path_high: tuple[float, ...] = ()

    @property
    def path(self) -> tuple[PathPoint, ...]:
        """Every period from the one after the last value to the target's, with its interval."""
        return tuple(
            PathPoint(*point)
            for point in zip(
                self.path_periods, self.path_values, self.path_low, self.path_high, strict=True
            )
        )


def season_of(grain: Grain) -> int:
    """Periods in a year for the seasonal method; 1 (no season) for days and years."""
    return _SEASONS.get(grain, 1)


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


@dataclass(frozen=True, slots=True)
class History:
    """The known values of one KPI at one unit up to its evaluation period, oldest first:
    `steps[i]` is how many periods of its grain value i lies after `first`."""

    first: Period
    last: Period
    steps: np.ndarray  # int64, ascending, steps[0] == 0
    values: np.ndarray  # float64, finite

    @classmethod
    def of(cls, periods: Sequence[Period], values: Sequence[float]) -> History | None:
        if not periods:
            return None
        steps = np.array([ordinal(p, periods[0]) for p in periods], dtype=np.int64)
        return cls(periods[0], periods[-1], steps, np.array(values, dtype=np.float64))


# Where the values come from: the KPI, the unit and its evaluation period -> its history.
HistorySource = Callable[[m.Kpi, str, Period], "History | None"]


def table_source(values: ValueTable) -> HistorySource:
    """Histories read from a value table (any KPI: formulas, values derived across units)."""

    def read(kpi: m.Kpi, unit: str, last_allowed: Period) -> History | None:
        return _up_to(values.series(kpi.id, unit), last_allowed)

    return read


def _up_to(series: Sequence[tuple[Period, float]], last_allowed: Period) -> History | None:
    known = [(p, v) for p, v in series if p.start <= last_allowed.start]
    return History.of([p for p, _ in known], [v for _, v in known])


@dataclass(frozen=True, slots=True)
class Request:
    """One forecast to make: a KPI at a unit against a final target by a date."""

    kpi: m.Kpi
    unit: str
    target: float
    deadline: dt.date


@dataclass(frozen=True, slots=True)
class _Series:
    """A request ready to fit: the gap-filled values and the periods to project."""

    request: Request
    target: float
    target_period: Period
    history: History
    values: np.ndarray
    path: tuple[Period, ...]


def forecast_kpi(
    values: ValueTable,
    kpi: m.Kpi,
    unit: str,
    target: float,
    deadline: dt.date,
    as_of: dt.date,
    series: Sequence[tuple[Period, float]] | None = None,
) -> Forecast:
    """Project one KPI at one unit to the period of `deadline` and compare with `target`;
    `series`: its values at the unit from `values` (`ValueTable.series`), when read already
    (a KPI page's chart reads them too)."""
    request = Request(kpi, unit, target, deadline)
    if series is None:
        source = table_source(values)
    else:
        known = series

        def source(_: m.Kpi, __: str, last_allowed: Period) -> History | None:
            return _up_to(known, last_allowed)

    (result,) = forecast_requests(values.calendar, [request], as_of, source)
    return result


def forecast_organization(
    values: ValueTable, org: m.Organization, as_of: dt.date
) -> list[Forecast]:
    """Every KPI with a final target at its own unit, and every unit target, projected."""
    return forecast_requests(org.calendar, requests_of(org), as_of, table_source(values))


def requests_of(org: m.Organization) -> list[Request]:
    """Every KPI with a final target at its own unit, and every unit target."""
    requests = []
    for kpi in org.kpis:
        if kpi.target is not None:
            requests.append(Request(kpi, kpi.unit, kpi.target.value, kpi.target.by))
        for unit, unit_target in sorted(kpi.unit_targets, key=lambda item: item[0]):
            if unit != kpi.unit:
                requests.append(Request(kpi, unit, unit_target.value, unit_target.by))
    return requests


@dataclass(frozen=True, slots=True)
class NotRequested:
    """A KPI with nothing to forecast at its own unit, and why (`los forecast` lists it too)."""

    id: str
    unit: str
    reason: str


NO_TARGET = "no target"
NO_TARGET_DATE = "no target date"


def not_requested(org: m.Organization) -> list[NotRequested]:
    """The KPIs `requests_of` asks nothing of at their own unit (no final target: a range KPI
    without a target date, any other KPI without a target), in the strategy's order."""
    return [
        NotRequested(
            kpi.id,
            kpi.unit,
            NO_TARGET_DATE if kpi.direction is m.Direction.RANGE else NO_TARGET,
        )
        for kpi in org.kpis
        if kpi.target is None
    ]


def forecast_requests(
    calendar: m.Calendar, requests: Sequence[Request], as_of: dt.date, source: HistorySource
) -> list[Forecast]:
    """The forecasts in the order of `requests`; series of one shape are fitted together."""
    results: list[Forecast | None] = [None] * len(requests)
    groups: dict[tuple[int, int, int], list[tuple[int, _Series]]] = {}
    for index, request in enumerate(requests):
        prepared = _prepare(calendar, source, request, as_of)
        if isinstance(prepared, Forecast):
            results[index] = prepared
            continue
        season = season_of(prepared.target_period.grain)
        key = (len(prepared.values), season, len(prepared.path))
        groups.setdefault(key, []).append((index, prepared))
    for (_, season, horizon), members in groups.items():
        for index, result in zip(
            (i for i, _ in members), _fit([s for _, s in members], season, horizon), strict=True
        ):
            results[index] = result
    return [r for r in results if r is not None]


def _prepare(
    calendar: m.Calendar,
    source: HistorySource,
    request: Request,
    as_of: dt.date,
) -> _Series | Forecast:
    kpi, target = request.kpi, request.target
    last_allowed = evaluation_period(kpi.frequency, as_of, calendar)
    target_period = period_for(request.deadline, kpi.frequency, calendar)
    if kpi.direction is m.Direction.RANGE:
        if kpi.range is None:
            return _not_forecast(request, target, target_period, None, NO_RANGE)
        target = (kpi.range.low + kpi.range.high) / 2
    if request.deadline < as_of:
        return _not_forecast(request, target, target_period, None, TARGET_PASSED)
    history = source(kpi, request.unit, last_allowed)
    if history is not None:
        # Only the values within the last `max_history` periods up to the last value.
        window = max_history(season_of(target_period.grain))
        keep = history.steps > history.steps[-1] - window
        if not keep.all():
            history = _trimmed(history, keep, calendar)
    count = 0 if history is None else len(history.steps)
    if history is None or count < MIN_POINTS:
        reason = too_few(count, last_allowed)
        return _not_forecast(request, target, target_period, history, reason)
    last = history.last
    if target_period.start <= last.start:
        return _not_forecast(
            request, target, target_period, history, not_after(target_period, last)
        )
    if ordinal(target_period, last) > MAX_HORIZON:
        return _not_forecast(request, target, target_period, history, too_far(target_period))
    # A gap is filled by the straight line between its neighbours.
    if history.steps[-1] + 1 == count:
        series = history.values
    else:
        series = np.interp(np.arange(history.steps[-1] + 1), history.steps, history.values)
    path = _periods_after(last, target_period, calendar)
    return _Series(request, target, target_period, history, series, path)


def too_few(count: int, last_allowed: Period) -> str:
    """Why a series of `count` values (fewer than MIN_POINTS) is not forecast."""
    found = f"{count} period{'' if count == 1 else 's'}"
    return f"{found} with values up to {last_allowed.label}; {MIN_POINTS} needed"


def not_after(target_period: Period, last: Period) -> str:
    """Why a target whose period is not after the last value is not forecast."""
    return (
        f"the target's period {target_period.label} is not after the last value"
        f" ({last.label}): nothing left to forecast"
    )


def too_far(target_period: Period) -> str:
    """Why a target more than MAX_HORIZON periods ahead is not forecast."""
    return f"the target's period {target_period.label} is over {MAX_HORIZON} periods ahead"


def _trimmed(history: History, keep: np.ndarray, calendar: m.Calendar) -> History:
    steps = history.steps[keep]
    first = _periods_on(history.first, int(steps[0]), calendar)
    return History(first, history.last, steps - steps[0], history.values[keep])


@lru_cache(maxsize=4096)
def _periods_on(period: Period, count: int, calendar: m.Calendar) -> Period:
    """The period `count` periods after `period` (KPIs with long histories share a few)."""
    for _ in range(count):
        period = next_period(period, calendar)
    return period


@lru_cache(maxsize=4096)
def _periods_after(last: Period, target: Period, calendar: m.Calendar) -> tuple[Period, ...]:
    """The periods after `last` up to `target`'s (KPIs of one frequency, last value and
    target date share one path: listed once for all their forecasts and pages)."""
    found = []
    current = last
    while current.start < target.start:
        current = next_period(current, calendar)
        found.append(current)
    return tuple(found)


# Series fitted in one go: the fits' working arrays (a few dozen per series and grid point)
# stay within the processor's caches (2,048 was the fastest of 256 to 16,384 rows), and
# each series' result is the same in any batch.
_BATCH = 2048


def _fit(members: Sequence[_Series], season: int, horizon: int) -> Iterable[Forecast]:
    for start in range(0, len(members), _BATCH):
        yield from _fit_batch(members[start : start + _BATCH], season, horizon)


def _fit_batch(members: Sequence[_Series], season: int, horizon: int) -> Iterable[Forecast]:
    kpis = [s.request.kpi for s in members]
    goals = Goals.of(
        [s.target for s in members],
        [k.direction for k in kpis],
        [k.range for k in kpis],
        [k.bounds for k in kpis],
    )
    fitted = fit_rows(np.stack([s.values for s in members]), season, horizon, goals)
    for row, series in enumerate(members):
        request = series.request
        history = series.history
        if not fitted.ok[row]:
            # Values near the largest float overflow the fit: no forecast rather than a NaN one.
            yield _not_forecast(request, series.target, series.target_period, history, TOO_LARGE)
            continue
        values = fitted.values[row]
        yield Forecast(
            id=request.kpi.id,
            unit=request.unit,
            target=series.target,
            deadline=request.deadline,
            target_period=series.target_period,
            points=len(history.steps),
            projected=values[-1],
            on_track=fitted.on_track[row],
            method=fitted.method,
            models=fitted.models[row] if fitted.models is not None else None,
            probability=fitted.probability[row],
            first_period=history.first,
            last_period=history.last,
            clamped=fitted.clamped[row],
            path_periods=series.path,
            path_values=tuple(values),
            path_low=tuple(fitted.low[row]),
            path_high=tuple(fitted.high[row]),
        )


def _not_forecast(
    request: Request,
    target: float,
    target_period: Period,
    history: History | None,
    reason: str,
) -> Forecast:
    return no_forecast(
        request.kpi.id,
        request.unit,
        target,
        request.deadline,
        target_period,
        0 if history is None else len(history.steps),
        None if history is None else history.first,
        None if history is None else history.last,
        reason,
    )


def no_forecast(
    kpi_id: str,
    unit: str,
    target: float,
    deadline: dt.date,
    target_period: Period,
    points: int,
    first: Period | None,
    last: Period | None,
    reason: str,
) -> Forecast:
    """A target that could not be forecast, with the reason."""
    return Forecast(
        id=kpi_id,
        unit=unit,
        target=target,
        deadline=deadline,
        target_period=target_period,
        points=points,
        projected=None,
        on_track=None,
        first_period=first,
        last_period=last,
        reason=reason,
    )
