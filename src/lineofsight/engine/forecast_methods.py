"""The forecasting methods, fitted to many series of one length at once (numpy, 2-D arrays).

Every function takes a `(k, n)` array: k series (one per KPI and unit) of n consecutive
periods, oldest first, without gaps. Nothing here knows about KPIs or calendars; the caller
(engine/forecast.py) groups series by length, season and horizon so that 100,000 KPIs are a
handful of array operations rather than 100,000 model fits.

- `damped_trend` (engine/forecast_models.py): Holt's linear method with a damped trend, its
  parameters from a fixed grid, so the same data always give the same numbers.
- `seasonal`: a classical decomposition (the seasonal profile from the detrended last seasons);
  on the seasonally adjusted series, the two candidate models (damped trend, autoregressions
  on the values and on their changes) with the least error over its own last three seasons,
  averaged; the profile added back. A positive series whose least value is at least a fifth
  of its largest is decomposed on the log scale (a multiplicative season, the common case for
  sales, volumes and counts); the interval is then exp() of the log-scale one.

The 80% interval and the probability of meeting a target come from a normal error model with
each model's variance at each horizon (engine/forecast_models.py), `sigma` from its
in-sample one-step errors; for the damped trend alone, widened for a short series (a
Student-t quantile with the fit's residual degrees of freedom, and below six values at least
the spread of a random walk with drift: `few_values`), so that three values never read as
certain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from lineofsight.engine.forecast_models import MODELS, best_two, damped, few_values

__all__ = [
    "MAX_HISTORY",
    "Z80",
    "Projection",
    "damped_trend",
    "project",
    "seasonal",
    "trend_only",
]

Array = npt.NDArray[np.float64]

# The 90% quantile of the standard normal: an 80% interval is mean +- Z80 * sd.
Z80 = 1.2815515655446004

MAX_HISTORY = 60


def max_history(season: int) -> int:
    """How many recent periods a forecast reads: five years of months, three of weeks."""
    return max(MAX_HISTORY, 3 * season)


def method_for(length: int, season: int) -> str:
    """The method for a series of `length` values with `season` periods in a year (SPEC 3)."""
    if season > 1 and length >= 2 * season:
        return "seasonal"
    return "damped_trend"


def project(y: Array, season: int, horizon: int) -> tuple[str, Projection]:
    """Forecast every row of `y` (k, n >= 3) `horizon` periods ahead with the method that
    its length and season call for."""
    y = y[:, -max_history(season) :]
    method = method_for(y.shape[1], season)
    if method == "seasonal":
        return method, seasonal(y, season, horizon)
    return method, trend_only(y, horizon)


@dataclass(frozen=True, slots=True)
class Projection:
    """Means and standard deviations for horizons 1..h of k series, on the scale they are
    reported in (`log` True: the values are exp(mean +- z * sd), a log-normal model)."""

    mean: Array  # (k, h)
    sd: Array  # (k, h)
    log: npt.NDArray[np.bool_]  # (k,)
    # The candidate models (indices into MODELS) averaged for each row; both the same when
    # one model alone was used.
    chosen: npt.NDArray[np.int8]  # (k, 2)

    def models(self) -> list[str]:
        """The models behind each row's projection, e.g. `damped_trend+ar2`."""
        names = [
            [first if first == second else f"{first}+{second}" for second in MODELS]
            for first in MODELS
        ]
        return [names[a][b] for a, b in self.chosen.tolist()]

    def interval(self, z: float = Z80) -> tuple[Array, Array, Array]:
        """(value, low, high) on the reported scale."""
        logged = self.log[:, None]
        # Values near the largest float overflow: the caller turns those rows into no forecast.
        with np.errstate(over="ignore", invalid="ignore"):
            low = self.mean - z * self.sd
            high = self.mean + z * self.sd
            value = np.where(logged, np.exp(self.mean), self.mean)
            low = np.where(logged, np.exp(low), low)
            high = np.where(logged, np.exp(high), high)
        return value, low, high


def damped_trend(y: Array, horizon: int) -> tuple[Array, Array]:
    """Damped Holt fitted to each row of `y` (k, n >= 3): (mean, sd), each (k, horizon)."""
    mean, sd, _ = damped(y, horizon, (), 0)
    return mean, sd


def seasonal(y: Array, season: int, horizon: int) -> Projection:
    """Decomposition by season, then the best two of the candidate models (by their errors
    over the last seasons) on the seasonally adjusted rows of `y` (k, n >= 2 * season)."""
    n = y.shape[1]
    # The log scale suits a series that stays well away from zero (its least value at least
    # a fifth of its largest); near zero, logs blow small values up (sunspots, error rates).
    log = np.all(y > 0, axis=1) & (y.min(axis=1) >= 0.2 * y.max(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        work = np.where(log[:, None], np.log(np.where(y > 0, y, 1.0)), y)
    with np.errstate(over="ignore", invalid="ignore"):
        profile = _seasonal_profile(work, season)  # (k, season), position t % season
        adjusted = work - np.tile(profile, (1, n // season + 1))[:, :n]
    mean, sd, chosen = best_two(adjusted, season, horizon)
    future = (n + np.arange(horizon)) % season
    with np.errstate(over="ignore", invalid="ignore"):
        mean = mean + profile[:, future]
    # The profile is itself estimated from a few seasons; widen the interval for that.
    seasons = n // season
    sd = sd * math.sqrt(1.0 + 1.0 / seasons)
    return Projection(mean, sd, log, chosen)


def trend_only(y: Array, horizon: int) -> Projection:
    """Damped Holt on the values themselves (no season), its spread widened for the little
    a short series shows (`few_values`)."""
    mean, sd = damped_trend(y, horizon)
    sd = few_values(y, sd)
    k = y.shape[0]
    return Projection(mean, sd, np.zeros(k, dtype=bool), np.zeros((k, 2), dtype=np.int8))


def _seasonal_profile(y: Array, season: int) -> Array:
    """The mean deviation from a centred moving average at each position of the season,
    centred to add up to zero: (k, season)."""
    k = y.shape[0]
    cumulative = np.concatenate([np.zeros((k, 1)), np.cumsum(y, axis=1)], axis=1)
    moving = (cumulative[:, season:] - cumulative[:, :-season]) / season  # mean of y[t:t+s]
    if season % 2 == 0:
        # A 2 x s average is centred on a period: the mean of two neighbouring s-averages.
        centred = (moving[:, :-1] + moving[:, 1:]) / 2
        first = season // 2
    else:
        centred = moving
        first = season // 2
    detrended = y[:, first : first + centred.shape[1]] - centred
    profile = np.empty((k, season))
    # Each position's mean over its periods: their sum, added one period after another in
    # order, over their count; the positions with as many periods each at once. (A reduction
    # of the periods' axis would add them pairwise for one row and in order for several, so
    # a series alone would differ from itself in a batch from 8 periods a position.)
    for positions, periods in _positions(detrended.shape[1], season, first):
        at = detrended[:, periods]  # (k, positions, periods)
        total = at[:, :, 0]
        for period in range(1, periods.shape[1]):
            total = total + at[:, :, period]
        profile[:, positions] = total / periods.shape[1]
    centred_profile: Array = profile - np.add.reduce(profile, axis=1, keepdims=True) / season
    return centred_profile


@lru_cache(maxsize=256)
def _positions(
    n: int, season: int, first: int
) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]], ...]:
    """The positions of the season (period t of n is at position (first + t) % season),
    grouped by how many periods they have: (positions, their periods (positions, count))."""
    at = (first + np.arange(n)) % season
    groups: dict[int, list[tuple[int, npt.NDArray[np.intp]]]] = {}
    for position in range(season):
        periods = np.flatnonzero(at == position)
        groups.setdefault(len(periods), []).append((position, periods))
    return tuple(
        (np.array([p for p, _ in members]), np.stack([q for _, q in members]))
        for members in groups.values()
    )
