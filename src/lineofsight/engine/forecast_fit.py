"""The fit of many series of one shape, and what it says of each one's target: the path held
within the KPI's bounds, on track or not, and the chance of meeting the target.

Everything row by row that can be is done on whole arrays (the miss, the bounds, the checks
of finiteness): for 100,000 KPIs a Python loop with a few calls per row costs seconds. What
is left per row is the chance (`math.erf`) and the plain lists the caller turns into
forecasts. Each row's result is the same in any batch: the fits only combine values of one row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lineofsight.domain import model as m
from lineofsight.engine.forecast_methods import Projection, project

__all__ = [
    "DIRECTIONS",
    "Fitted",
    "Goals",
    "Judged",
    "Paths",
    "chances",
    "fit_rows",
    "judge_rows",
    "paths_of",
    "probability",
]

Array = npt.NDArray[np.float64]

# The directions as small integers, for array comparisons.
DIRECTIONS = {m.Direction.INCREASE: 0, m.Direction.DECREASE: 1, m.Direction.RANGE: 2}
_INCREASE, _DECREASE, _RANGE = 0, 1, 2

# The fit's float noise must not turn a projection that lands exactly on the target into a miss.
_REL_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Goals:
    """What each row is held to, (k,) arrays: the final target (a range's midpoint), the
    direction (`DIRECTIONS`), the range's ends (NaN without one) and the bounds (-inf and
    inf without one)."""

    target: Array
    direction: npt.NDArray[np.int8]
    low: Array
    high: Array
    floor: Array
    ceiling: Array

    @classmethod
    def of(
        cls,
        targets: Sequence[float],
        directions: Sequence[m.Direction],
        bands: Sequence[m.Range | None],
        bounds: Sequence[m.Bounds | None],
    ) -> Goals:
        """Goals from domain objects, one of each per row."""
        return cls(
            np.array(targets, dtype=np.float64),
            np.array([DIRECTIONS[d] for d in directions], dtype=np.int8),
            np.array([math.nan if b is None else b.low for b in bands], dtype=np.float64),
            np.array([math.nan if b is None else b.high for b in bands], dtype=np.float64),
            np.array([_bound(b, "min", -math.inf) for b in bounds], dtype=np.float64),
            np.array([_bound(b, "max", math.inf) for b in bounds], dtype=np.float64),
        )


def _bound(bounds: m.Bounds | None, side: str, default: float) -> float:
    found = None if bounds is None else getattr(bounds, side)
    return default if found is None else float(found)


@dataclass(frozen=True, slots=True)
class Fitted:
    """The fit of k rows, as plain lists: `ok` False where the values overflowed the fit (or
    the target is not finite), and the other columns then mean nothing."""

    method: str
    models: list[str] | None
    values: list[list[float]]  # the path, held within the bounds
    low: list[list[float]]
    high: list[list[float]]
    ok: list[bool]
    on_track: list[bool]
    probability: list[float]
    clamped: list[bool]


@dataclass(frozen=True, slots=True)
class Judged:
    """The fit of k rows as arrays: the path held within the bounds and its interval, each
    row's last mean and sd on the model's scale, and whether it is usable (`ok`: the values
    did not overflow the fit and the target is finite) and on track."""

    method: str
    projection: Projection
    held: Array
    low: Array
    high: Array
    ok: npt.NDArray[np.bool_]
    on_track: npt.NDArray[np.bool_]
    clamped: npt.NDArray[np.bool_]

    def chances(self, goals: Goals, rows: npt.NDArray[np.int64]) -> list[float]:
        """The chance of meeting the target of each of these rows (usable ones): `probability`
        of each, on arrays; of a single row (a KPI page's forecast) on its floats, the same
        number without two dozen array operations."""
        if len(rows) == 1:
            at = int(rows[0])
            return [
                probability(
                    int(goals.direction[at]),
                    goals.target[at].item(),
                    goals.low[at].item(),
                    goals.high[at].item(),
                    goals.floor[at].item(),
                    goals.ceiling[at].item(),
                    self.projection.mean[at, -1].item(),
                    self.projection.sd[at, -1].item(),
                    bool(self.projection.log[at]),
                    bool(self.on_track[at]),
                )
            ]
        return chances(
            goals.direction[rows],
            goals.target[rows],
            goals.low[rows],
            goals.high[rows],
            goals.floor[rows],
            goals.ceiling[rows],
            self.projection.mean[rows, -1],
            self.projection.sd[rows, -1],
            self.projection.log[rows],
            self.on_track[rows],
        )


def judge_rows(y: Array, season: int, horizon: int, goals: Goals) -> Judged:
    """Project every row of `y` (k, n) `horizon` periods ahead and judge it against `goals`."""
    method, projection = project(y, season, horizon)
    value, low, high = projection.interval()
    ok = (
        np.isfinite(value).all(axis=1)
        & np.isfinite(low).all(axis=1)
        & np.isfinite(high).all(axis=1)
        & np.isfinite(projection.sd[:, -1])
        & np.isfinite(projection.mean[:, -1])
        & np.isfinite(goals.target)
    )
    floor, ceiling = goals.floor[:, None], goals.ceiling[:, None]
    held = np.clip(value, floor, ceiling)
    low = np.clip(low, floor, ceiling)
    high = np.clip(high, floor, ceiling)
    projected = held[:, -1]
    target = goals.target
    direction = goals.direction
    with np.errstate(invalid="ignore", over="ignore"):
        miss = np.where(
            direction == _INCREASE,
            np.maximum(0.0, target - projected),
            np.where(
                direction == _DECREASE,
                np.maximum(0.0, projected - target),
                np.maximum(np.maximum(0.0, goals.low - projected), projected - goals.high),
            ),
        )
        on_track = miss <= _REL_EPSILON * np.maximum(1.0, np.abs(target))
    return Judged(method, projection, held, low, high, ok, on_track, projected != value[:, -1])


@dataclass(frozen=True, slots=True)
class Paths:
    """The fit of k rows as plain arrays (what another process hands back): the method, the
    models of a seasonal one (one name per row, else None), the path held within the bounds
    and its interval (k, horizon), whether each row is usable (`ok`), on track and clamped,
    and its chance of meeting the target (NaN where not usable)."""

    method: str
    models: list[str] | None
    held: Array
    low: Array
    high: Array
    ok: npt.NDArray[np.bool_]
    on_track: npt.NDArray[np.bool_]
    clamped: npt.NDArray[np.bool_]
    chance: Array

    def off_track(self) -> npt.NDArray[np.int64]:
        """The usable rows forecast off track."""
        return np.flatnonzero(self.ok & ~self.on_track)


def paths_of(y: Array, season: int, horizon: int, goals: Goals) -> Paths:
    """Project every row of `y` (k, n) `horizon` periods ahead and judge it against `goals`
    (`judge_rows`), with the chance of each usable row."""
    judged = judge_rows(y, season, horizon, goals)
    ok = np.flatnonzero(judged.ok)
    chance = np.full(len(judged.ok), math.nan)
    chance[ok] = judged.chances(goals, ok)
    return Paths(
        method=judged.method,
        models=judged.projection.models() if judged.method == "seasonal" else None,
        held=judged.held,
        low=judged.low,
        high=judged.high,
        ok=judged.ok,
        on_track=judged.on_track,
        clamped=judged.clamped,
        chance=chance,
    )


def fit_rows(y: Array, season: int, horizon: int, goals: Goals) -> Fitted:
    """Project every row of `y` (k, n) `horizon` periods ahead and judge it against `goals`,
    as plain lists (`paths_of`'s)."""
    paths = paths_of(y, season, horizon, goals)
    return Fitted(
        method=paths.method,
        models=paths.models,
        values=paths.held.tolist(),
        low=paths.low.tolist(),
        high=paths.high.tolist(),
        ok=paths.ok.tolist(),
        on_track=paths.on_track.tolist(),
        probability=paths.chance.tolist(),
        clamped=paths.clamped.tolist(),
    )


def probability(
    direction: int,
    target: float,
    low: float,
    high: float,
    floor: float,
    ceiling: float,
    mean: float,
    sd: float,
    log: bool,
    on_track: bool,
) -> float:
    """The chance that the value in the target's period meets the target (or lies in the
    range `low..high`), the value held within `floor..ceiling`."""
    if direction == _INCREASE:
        chance = _at_least(target, mean, sd, log, floor, ceiling)
    elif direction == _DECREASE:
        chance = 1.0 - _above(target, mean, sd, log, floor, ceiling)
    else:
        chance = _at_least(low, mean, sd, log, floor, ceiling) - _above(
            high, mean, sd, log, floor, ceiling
        )
    chance = min(1.0, max(0.0, chance))
    if direction != _RANGE:
        # The projection is the distribution's median: on track and a chance of at least a
        # half are the same statement (float noise at the target must not split them).
        chance = max(chance, 0.5) if on_track else min(chance, 0.5)
    return chance


def chances(
    direction: npt.NDArray[np.int8],
    target: Array,
    low: Array,
    high: Array,
    floor: Array,
    ceiling: Array,
    mean: Array,
    sd: Array,
    log: npt.NDArray[np.bool_],
    on_track: npt.NDArray[np.bool_],
) -> list[float]:
    """`probability` of many rows at once, the same numbers: the same branches as masks, the
    same IEEE operations on arrays, and Python's own `math.log` and `math.erf` (numpy has no
    erf, and its log may differ from the C library's in the last bit)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if direction.size == 0:
            return []
        # Each row's chance by its direction's rule, on the rows of that direction only.
        chance = np.empty(len(direction))
        for code, rule in _RULES.items():
            rows = np.flatnonzero(direction == code)
            if len(rows):
                chance[rows] = rule(
                    target[rows], low[rows], high[rows],
                    mean[rows], sd[rows], log[rows], floor[rows], ceiling[rows],
                )  # fmt: skip
        # Python's max(0.0, c) keeps 0.0 unless c is larger, min(1.0, c) keeps 1.0 unless c
        # is smaller (so a NaN becomes 0.0, as there).
        chance = np.where(chance > 0.0, chance, 0.0)
        chance = np.where(chance < 1.0, chance, 1.0)
        held = np.where(
            on_track, np.where(chance < 0.5, 0.5, chance), np.where(chance > 0.5, 0.5, chance)
        )
        chance = np.where(direction != _RANGE, held, chance)
    found: list[float] = chance.tolist()
    return found


def _increase_rows(
    target: Array, low: Array, high: Array, mean: Array, sd: Array,
    log: npt.NDArray[np.bool_], floor: Array, ceiling: Array,
) -> Array:  # fmt: skip
    """P(value >= target): `probability` of increase rows."""
    return _at_least_rows(target, mean, sd, log, floor, ceiling)


def _decrease_rows(
    target: Array, low: Array, high: Array, mean: Array, sd: Array,
    log: npt.NDArray[np.bool_], floor: Array, ceiling: Array,
) -> Array:  # fmt: skip
    """P(value <= target): `probability` of decrease rows."""
    return 1.0 - _above_rows(target, mean, sd, log, floor, ceiling)


def _range_rows(
    target: Array, low: Array, high: Array, mean: Array, sd: Array,
    log: npt.NDArray[np.bool_], floor: Array, ceiling: Array,
) -> Array:  # fmt: skip
    """P(low <= value <= high): `probability` of range rows."""
    return _at_least_rows(low, mean, sd, log, floor, ceiling) - _above_rows(
        high, mean, sd, log, floor, ceiling
    )


_RULES = {_INCREASE: _increase_rows, _DECREASE: _decrease_rows, _RANGE: _range_rows}


def _at_least_rows(
    x: Array, mean: Array, sd: Array, log: npt.NDArray[np.bool_], floor: Array, ceiling: Array
) -> Array:
    """`_at_least` of many rows."""
    return np.where(x <= floor, 1.0, np.where(x > ceiling, 0.0, 1.0 - _cdf_rows(x, mean, sd, log)))


def _above_rows(
    x: Array, mean: Array, sd: Array, log: npt.NDArray[np.bool_], floor: Array, ceiling: Array
) -> Array:
    """`_above` of many rows."""
    return np.where(x >= ceiling, 0.0, np.where(x < floor, 1.0, 1.0 - _cdf_rows(x, mean, sd, log)))


def _cdf_rows(x: Array, mean: Array, sd: Array, log: npt.NDArray[np.bool_]) -> Array:
    """`_cdf` of many rows."""
    nothing = log & (x <= 0)  # a log-normal value is never at or below zero
    logged = log & ~nothing
    x = x.copy()
    x[logged] = [math.log(v) for v in x[logged].tolist()]
    z = (x - mean) / (sd * math.sqrt(2.0))
    spread = ~(sd <= 0)
    erf = np.full(len(x), math.nan)
    erf[spread] = [math.erf(v) for v in z[spread].tolist()]
    found = np.where(spread, 0.5 * (1.0 + erf), np.where(mean <= x, 1.0, 0.0))
    return np.where(nothing, 0.0, found)


def _at_least(x: float, mean: float, sd: float, log: bool, floor: float, ceiling: float) -> float:
    """P(value >= x), the value held within `floor..ceiling`."""
    if x <= floor:
        return 1.0
    if x > ceiling:
        return 0.0
    return 1.0 - _cdf(x, mean, sd, log)


def _above(x: float, mean: float, sd: float, log: bool, floor: float, ceiling: float) -> float:
    """P(value > x), the value held within `floor..ceiling`."""
    if x >= ceiling:
        return 0.0
    if x < floor:
        return 1.0
    return 1.0 - _cdf(x, mean, sd, log)


def _cdf(x: float, mean: float, sd: float, log: bool) -> float:
    """P(value <= x) under the normal (or, `log`, log-normal) error model."""
    if log:
        if x <= 0:
            return 0.0
        x = math.log(x)
    if sd <= 0:
        return 1.0 if mean <= x else 0.0
    return 0.5 * (1.0 + math.erf((x - mean) / (sd * math.sqrt(2.0))))
