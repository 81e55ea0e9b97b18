"""The forecast's fits written the plain way, one array operation per entry and one fit per
call: the oracle that the package's leaner forms (fewer, larger array operations, so that one
KPI's fit is cheap) must match to the last bit (tests/engine/test_forecast_same_numbers.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lineofsight.engine.forecast_fit import _above_rows, _at_least_rows
from lineofsight.engine.forecast_models import _AUTOREGRESSIONS, _MIN_FIT, _ORIGINS, damped

Array = npt.NDArray[np.float64]


def autoregression(
    y: Array, order: int, changes: bool, horizon: int
) -> tuple[Array, Array, npt.NDArray[np.bool_]]:
    """AR(order) with a constant by least squares on each row (or its changes)."""
    k = y.shape[0]
    x = np.diff(y, axis=1) if changes else y
    n = x.shape[1]
    rows = n - order
    if rows < order + 3:
        nothing = np.full((k, horizon), np.nan)
        return nothing, nothing, np.zeros(k, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        centre = x.mean(axis=1, keepdims=True)
        z = x - centre
        finite = np.isfinite(z).all(axis=1)
        z = np.where(finite[:, None], z, 0.0)
        columns = [np.ones((k, rows))] + [z[:, order - j - 1 : n - j - 1] for j in range(order)]
        target = z[:, order:]
        gram = np.empty((k, order + 1, order + 1))
        for i in range(order + 1):
            for j in range(i, order + 1):
                gram[:, i, j] = gram[:, j, i] = (columns[i] * columns[j]).sum(axis=1)
        scale = np.trace(gram, axis1=1, axis2=2)[:, None, None] / (order + 1)
        gram = gram + (1e-10 * scale + 1e-300) * np.eye(order + 1)
        moment = np.stack([(c * target).sum(axis=1) for c in columns], axis=1)
        coef = np.linalg.solve(gram, moment[..., None])[..., 0]
        residual = target - sum(c * coef[:, i : i + 1] for i, c in enumerate(columns))
        sigma = np.sqrt((residual * residual).sum(axis=1) / max(1, rows - order - 1))
        phi = coef[:, 1:]
        if order == 1:
            stationary = np.abs(phi[:, 0]) < 1
        else:
            stationary = (
                (np.abs(phi[:, 1]) < 1) & (phi[:, 0] + phi[:, 1] < 1) & (phi[:, 1] - phi[:, 0] < 1)
            )
        recent = [z[:, n - 1 - j] for j in range(order)]
        psi = [np.ones(k)] + [np.zeros(k)] * (order - 1)
        steps, weights = [], []
        for _ in range(horizon):
            step = coef[:, 0] + _weighted(phi, recent)
            steps.append(step)
            recent = [step, *recent[:-1]]
            weights.append(psi[0])
            psi = [_weighted(phi, psi), *psi[:-1]]
        path = np.stack(steps, axis=1) + centre
        psis = np.stack(weights, axis=1)
        if changes:
            path = y[:, -1:] + np.cumsum(path, axis=1)
            psis = np.cumsum(psis, axis=1)
        sd = sigma[:, None] * np.sqrt(np.cumsum(psis * psis, axis=1))
        usable = finite & stationary & np.isfinite(path).all(axis=1) & np.isfinite(sd).all(axis=1)
    return path, sd, usable


def _weighted(phi: Array, lagged: list[Array]) -> Array:
    total = phi[:, 0] * lagged[0]
    for j in range(1, phi.shape[1]):
        total = total + phi[:, j] * lagged[j]
    return total


def best_two(y: Array, holdout: int, horizon: int) -> tuple[Array, Array, npt.NDArray[np.int8]]:
    """The mean of the two models with the least error over the last seasons of each row."""
    k, n = y.shape
    cuts = tuple(n - holdout * j for j in range(1, _ORIGINS + 1) if n - holdout * j >= _MIN_FIT)
    means, sds, errors = [], [], []
    mean, sd, held = damped(y, horizon, cuts, holdout)
    means.append(mean)
    sds.append(sd)
    errors.append(_error(held, y, cuts, holdout))
    for order, changes in _AUTOREGRESSIONS:
        mean, sd, valid = autoregression(y, order, changes, horizon)
        fits = np.empty((k, len(cuts), holdout))
        for i, cut in enumerate(cuts):
            fit, _, ok = autoregression(y[:, :cut], order, changes, holdout)
            fits[:, i] = fit
            valid &= ok
        error = _error(fits, y, cuts, holdout) if cuts else np.full(k, np.inf)
        errors.append(np.where(valid, error, np.inf))
        means.append(mean)
        sds.append(sd)
    table = np.stack(errors, axis=1)
    best = np.argsort(table, axis=1, kind="stable")[:, :2]
    rows = np.arange(k)[:, None]
    alone = ~np.isfinite(table[rows[:, 0], best[:, 1]])
    best[:, 1] = np.where(alone, best[:, 0], best[:, 1])
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.stack(means, axis=1)[rows, best].mean(axis=1)
        sd = np.stack(sds, axis=1)[rows, best].mean(axis=1)
    return mean, sd, best.astype(np.int8)


def _error(fits: Array, y: Array, cuts: tuple[int, ...], holdout: int) -> Array:
    if not cuts:
        return np.zeros(y.shape[0])
    actual = np.stack([y[:, c : c + holdout] for c in cuts], axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.abs(fits - actual).mean(axis=(1, 2))
    return np.where(np.isfinite(error), error, np.inf)


def seasonal_profile(y: Array, season: int) -> Array:
    """The mean deviation from a centred moving average at each position of the season."""
    k = y.shape[0]
    cumulative = np.concatenate([np.zeros((k, 1)), np.cumsum(y, axis=1)], axis=1)
    moving = (cumulative[:, season:] - cumulative[:, :-season]) / season
    centred = (moving[:, :-1] + moving[:, 1:]) / 2 if season % 2 == 0 else moving
    first = season // 2
    detrended = y[:, first : first + centred.shape[1]] - centred
    positions = (first + np.arange(detrended.shape[1])) % season
    profile = np.empty((k, season))
    for position in range(season):
        # The periods added one after another in order (the same for one row or many).
        periods = np.flatnonzero(positions == position)
        total = detrended[:, periods[0]]
        for period in periods[1:]:
            total = total + detrended[:, period]
        profile[:, position] = total / len(periods)
    centred_profile: Array = profile - profile.mean(axis=1, keepdims=True)
    return centred_profile


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
    """Every rule on every row, then each row's own picked."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if direction.size == 0:
            return []
        at_least_target = _at_least_rows(target, mean, sd, log, floor, ceiling)
        above_target = _above_rows(target, mean, sd, log, floor, ceiling)
        at_least_low = _at_least_rows(low, mean, sd, log, floor, ceiling)
        above_high = _above_rows(high, mean, sd, log, floor, ceiling)
        chance = np.where(
            direction == 0,
            at_least_target,
            np.where(direction == 1, 1.0 - above_target, at_least_low - above_high),
        )
        chance = np.where(chance > 0.0, chance, 0.0)
        chance = np.where(chance < 1.0, chance, 1.0)
        held = np.where(
            on_track, np.where(chance < 0.5, 0.5, chance), np.where(chance > 0.5, 0.5, chance)
        )
        chance = np.where(direction != 2, held, chance)
    found: list[float] = chance.tolist()
    return found
