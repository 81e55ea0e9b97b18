"""The models a forecast chooses from, fitted to many series of one length at once (numpy).

Every function takes a `(k, n)` array: k series of n consecutive periods, oldest first,
without gaps, and returns the mean and standard deviation of the next `horizon` periods.

- `damped_trend`: Holt's linear method with a damped trend, in error-correction form
  (ETS(A,Ad,N) with fixed parameters). Its smoothing parameters are picked per series from a
  small grid by the in-sample one-step squared error; the grid is fixed, so the same data
  always give the same numbers. h-step variance `sigma^2 * (1 + sum_{j<h} c_j^2)` with
  `c_j = alpha + beta * (phi + ... + phi^j)`.
- `ar1`, `ar2`: an autoregression with a constant on the values (least squares): a level that
  returns towards its mean, as cycles and anomalies do. `ari1`, `ari2`: the same on the
  period-to-period changes (a drift that fades into a steady one). Variance from the
  impulse response, `sigma^2 * sum_{j<h} psi_j^2`. A fit whose roots are not stationary, or
  with too few values for its parameters, is not a candidate.

`few_values` widens the damped trend's spread for the little a short series shows. The variances
above treat the fitted parameters and starting values as known; fitted to a handful of values
(three quarters: two one-step errors for three parameters picked from the grid and a starting
slope read off the same values) they are not, and the in-sample errors are near zero, so the
interval collapses and a few values that fall fast read as certain. Two standard small-sample
corrections, both fading as the series grows:
- a Student-t quantile with the fit's residual degrees of freedom (`n - 3`, the divisor of
  `sigma`) instead of the normal's, as for the prediction interval of any regression whose
  error variance is estimated: the sd is scaled by `t_0.9(df) / z_0.9` (3.08 / 1.28 at one
  degree of freedom, 1.64 / 1.28 at three, 1.01 at sixty), so the 80% interval is the t one
  and the probability, read off a normal with that sd, agrees with the interval's ends;
- while the fit has seen fewer than `_MIN_FIT` values (too few for the choice above to hold
  any back), a floor from the series' own one-step changes: the random walk with drift, the
  simplest trend a few values support, whose h-step variance `s^2 * h * (1 + h / (n - 1))`
  counts both the h future steps and the error of a drift estimated from n - 1 changes
  (`s`: their sd; the same t correction with `n - 2` degrees of freedom).
Neither moves a projection (the mean), only its interval and probability.

`best_two` scores every model on the series' own history (rolling origin: fitted up to one,
two and three seasons before the end, projecting the season after each; mean absolute error)
and averages the two best; combining two good forecasts is steadier than betting on one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, repeat
from operator import add, mul, sub

import numpy as np
import numpy.typing as npt

__all__ = ["MODELS", "best_two", "damped", "few_values"]

Array = npt.NDArray[np.float64]

MODELS = ("damped_trend", "ar1", "ar2", "ari1", "ari2")
# (order, on the changes) for each autoregression of MODELS, in that order.
_AUTOREGRESSIONS = ((1, False), (2, False), (1, True), (2, True))
# Rolling origins for the choice, and the fewest values a fit at an origin may use.
_ORIGINS = 3
_MIN_FIT = 6

# (alpha, beta as a share of alpha, phi): a small grid that covers smooth and reactive levels,
# no trend to a quick one, and strong damping to none (phi 1: a linear trend, which a series
# that is exactly a line picks, with no error at all).
_GRID = tuple(
    (a, r, p) for a in (0.1, 0.3, 0.5, 0.8) for r in (0.0, 0.1, 0.3) for p in (0.8, 0.9, 0.98, 1.0)
)


def best_two(y: Array, holdout: int, horizon: int) -> tuple[Array, Array, npt.NDArray[np.int8]]:
    """The mean of the two models with the least error over the last seasons of each row
    (`holdout` periods after each origin): (mean, sd, chosen (k, 2) indices into MODELS)."""
    k, n = y.shape
    cuts = tuple(n - holdout * j for j in range(1, _ORIGINS + 1) if n - holdout * j >= _MIN_FIT)
    # What each model's projections from the cuts are held against: the values after them.
    actual = np.stack([y[:, c : c + holdout] for c in cuts], axis=1) if cuts else None
    means, sds, errors = [], [], []
    mean, sd, held = damped(y, horizon, cuts, holdout)
    means.append(mean)
    sds.append(sd)
    errors.append(_error(held, actual, k))
    # Each autoregression fitted to the whole rows (`horizon` ahead), then up to each cut.
    asked = []
    for order, changes in _AUTOREGRESSIONS:
        asked.append((order, changes, n, horizon))
        asked.extend((order, changes, cut, holdout) for cut in cuts)
    made = iter(_autoregressions(y, asked))
    for _ in _AUTOREGRESSIONS:
        mean, sd, valid = next(made)
        fits = np.empty((k, len(cuts), holdout))
        for i in range(len(cuts)):
            fit, _, ok = next(made)
            fits[:, i] = fit
            valid &= ok
        error = _error(fits, actual, k) if cuts else np.full(k, np.inf)
        errors.append(np.where(valid, error, np.inf))
        means.append(mean)
        sds.append(sd)
    table = np.stack(errors, axis=1)  # (k, models)
    best = np.argsort(table, axis=1, kind="stable")[:, :2]
    rows = np.arange(k)[:, None]
    # A second model with no finite error (too short a history, or an explosive fit) is not
    # averaged in: the first stands alone.
    alone = ~np.isfinite(table[rows[:, 0], best[:, 1]])
    best[:, 1] = np.where(alone, best[:, 0], best[:, 1])
    mean_all = np.stack(means, axis=1)  # (k, models, horizon)
    sd_all = np.stack(sds, axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = mean_all[rows, best].mean(axis=1)
        # The two models' errors are close to perfectly correlated: the mean of their sds.
        sd = sd_all[rows, best].mean(axis=1)
    return mean, sd, best.astype(np.int8)


def _error(fits: Array, actual: Array | None, k: int) -> Array:
    """Mean absolute error of the projections from each cut (`actual`: the values after
    them, None without a cut: 0); infinite where not finite."""
    if actual is None:
        return np.zeros(k)
    with np.errstate(over="ignore", invalid="ignore"):
        # The mean over cuts and periods, as `mean` makes it: the sum, then one division.
        error = np.add.reduce(np.abs(fits - actual), axis=(1, 2)) / (
            actual.shape[1] * actual.shape[2]
        )
    return np.where(np.isfinite(error), error, np.inf)


def damped(y: Array, horizon: int, cuts: tuple[int, ...], ahead: int) -> tuple[Array, Array, Array]:
    """Damped Holt on each row of `y`: (mean, sd) for the `horizon` periods after the last
    value, and for each cut c in `cuts` the `ahead` values after y[:, :c] as the method fitted
    to y[:, :c] alone would project them ((k, len(cuts), ahead); the recursion only looks
    back, so one pass serves every cut)."""
    k, n = y.shape
    g = len(_GRID)
    alpha = np.array([a for a, _, _ in _GRID])
    beta = np.array([a * r for a, r, _ in _GRID])
    phi = np.array([p for _, _, p in _GRID])
    # The starting slope: the mean step over the first few periods (not one noisy step).
    first = min(n - 1, 4)
    level = np.repeat(y[:, :1], g, axis=1)
    trend = np.repeat((y[:, first : first + 1] - y[:, :1]) / first, g, axis=1)
    sse = np.zeros((k, g))
    rows = np.arange(k)
    held = np.empty((k, len(cuts), ahead))
    # The recursion's working arrays, written in place: the same operations in the same order
    # as `level + phi * trend` and so on, without a fresh (k, grid) array for each.
    predicted = np.empty((k, g))
    error = np.empty((k, g))
    scratch = np.empty((k, g))
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, n):
            if t in cuts:
                best = np.argmin(np.where(np.isfinite(sse), sse, np.inf), axis=1)
                damp = _cumulative_powers(phi[best], np.arange(1, ahead + 1))
                held[:, cuts.index(t)] = (
                    level[rows, best][:, None] + damp * trend[rows, best][:, None]
                )
            np.multiply(phi, trend, out=trend)  # phi * trend: used twice below
            np.add(level, trend, out=predicted)  # level + phi * trend
            np.subtract(y[:, t : t + 1], predicted, out=error)
            np.multiply(error, error, out=scratch)
            sse += scratch
            np.multiply(alpha, error, out=scratch)
            np.add(predicted, scratch, out=level)  # predicted + alpha * error
            np.multiply(beta, error, out=scratch)
            trend += scratch  # phi * trend + beta * error
        sse = np.where(np.isfinite(sse), sse, np.inf)
        best = np.argmin(sse, axis=1)
        a, b, p = alpha[best], beta[best], phi[best]
        lvl, trd = level[rows, best], trend[rows, best]
        # Three parameters and two starting values spent on n - 1 errors, but never below 1.
        sigma = np.sqrt(sse[rows, best] / max(1, n - 3))
        steps = np.arange(1, horizon + 1)
        damp = _cumulative_powers(p, steps)  # phi + ... + phi^h, (k, h)
        mean = lvl[:, None] + damp * trd[:, None]
        c = a[:, None] + b[:, None] * damp  # c_j for j = 1..h
        spread = np.concatenate([np.zeros((k, 1)), np.cumsum(c * c, axis=1)[:, :-1]], axis=1)
        sd = sigma[:, None] * np.sqrt(1.0 + spread)
    return mean, sd, held


# The 90% quantile of the standard normal (the end of an 80% interval).
_Z90 = 1.2815515655446004


def few_values(y: Array, sd: Array) -> Array:
    """The damped trend's `sd` (k, h) of the rows of `y` (k, n) widened for a short series:
    the Student-t quantile of its residual degrees of freedom, and below `_MIN_FIT` values
    at least the random walk with drift's (the module's docstring says why)."""
    n = y.shape[1]
    widened: Array = sd * (_t90(max(1, n - 3)) / _Z90)
    if n >= _MIN_FIT:
        return widened
    with np.errstate(over="ignore", invalid="ignore"):
        changes = y[:, 1:] - y[:, :-1]  # n - 1 >= 2 of them
        m = changes.shape[1]
        # Sums one change after another (fewer than 8: as numpy adds a row, alone or not).
        total = changes[:, 0]
        for j in range(1, m):
            total = total + changes[:, j]
        centred = changes - (total / m)[:, None]
        squares = centred[:, 0] * centred[:, 0]
        for j in range(1, m):
            squares = squares + centred[:, j] * centred[:, j]
        s = np.sqrt(squares / (m - 1))
        h = np.arange(1, sd.shape[1] + 1, dtype=np.float64)
        drift = s[:, None] * np.sqrt(h * (1.0 + h / m)) * (_t90(m - 1) / _Z90)
        # The larger of the two. Changes that overflow (values near the largest float) give
        # a NaN, kept: the caller makes no forecast of a spread it cannot bound.
        floored: Array = np.where(drift <= widened, widened, drift)
    return floored


@lru_cache(maxsize=128)
def _t90(df: int) -> float:
    """The 90% quantile of Student's t with `df` (whole, >= 1) degrees of freedom: the t
    whose two-sided probability P(|T| <= t) is 0.8, by bisection on that probability."""
    low, high = _Z90, 4.0  # t_0.9 falls from 3.08 (df 1) towards z_0.9
    for _ in range(100):
        middle = (low + high) / 2
        if _within(middle, df) < 0.8:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _within(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with whole `df`, in closed form (a finite series in
    theta = atan(t / sqrt(df)): Abramowitz and Stegun 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2:
        term = total = math.cos(theta) if df > 1 else 0.0
        for k in range(3, df - 1, 2):
            term *= (k - 1) / k * c2
            total += term
        return 2 / math.pi * (theta + math.sin(theta) * total)
    term = total = 1.0
    for k in range(2, df - 1, 2):
        term *= (k - 1) / k * c2
        total += term
    return math.sin(theta) * total


Fit = tuple[Array, Array, npt.NDArray[np.bool_]]


def autoregression(y: Array, order: int, changes: bool, horizon: int) -> Fit:
    """An AR(order) with a constant fitted by least squares to each row of `y` (or to its
    changes): (mean, sd) for the next `horizon` periods, and whether the fit is usable
    (enough values, stationary roots, finite)."""
    (fit,) = _autoregressions(y, [(order, changes, y.shape[1], horizon)])
    return fit


def _autoregressions(y: Array, asked: Sequence[tuple[int, bool, int, int]]) -> list[Fit]:
    """`autoregression` of the rows of `y` for each (order, changes, the first `length`
    values, horizon) asked. A single row is fitted on Python floats, its normal equations
    all solved in one call (`_one_row_fits`): a KPI page fits a dozen autoregressions to one
    series, and an array operation per step of each cost more than the arithmetic."""
    if y.shape[0] == 1:
        return [
            (np.array([path]), np.array([sd]), np.array([usable]))
            for path, sd, usable in _one_row_fits(y[0].tolist(), asked)
        ]
    return [
        _autoregression_rows(y[:, :length], order, changes, horizon)
        for order, changes, length, horizon in asked
    ]


def _autoregression_rows(y: Array, order: int, changes: bool, horizon: int) -> Fit:
    """`autoregression` on arrays (any number of rows)."""
    k = y.shape[0]
    x = y[:, 1:] - y[:, :-1] if changes else y  # np.diff's own subtraction
    n = x.shape[1]
    rows = n - order
    if rows < order + 3:
        nothing = np.full((k, horizon), np.nan)
        return nothing, nothing, np.zeros(k, dtype=bool)
    total = np.add.reduce  # a sum along a row, as `ndarray.sum` makes it, without its wrapper
    with np.errstate(over="ignore", invalid="ignore"):
        # Centred on each row's mean (its sum over n, as `mean` makes it): the normal
        # equations stay well conditioned.
        centre = total(x, axis=1, keepdims=True) / n
        z = x - centre
        finite = np.isfinite(z).all(axis=1)
        z = np.where(finite[:, None], z, 0.0)
        # The regressors: a constant and the `order` previous values, (k, rows) each.
        lags = [z[:, order - j - 1 : n - j - 1] for j in range(order)]
        target = z[:, order:]
        # The normal equations, entry by entry (einsum over many small matrices is slow);
        # the constant's entries are plain sums (1 * v is v) and a count (a sum of ones).
        gram = np.empty((k, order + 1, order + 1))
        moment = np.empty((k, order + 1, 1))
        gram[:, 0, 0] = rows
        moment[:, 0, 0] = total(target, axis=1)
        for i, lag in enumerate(lags, start=1):
            gram[:, 0, i] = gram[:, i, 0] = total(lag, axis=1)
            for j in range(i, order + 1):
                gram[:, i, j] = gram[:, j, i] = total(lag * lags[j - 1], axis=1)
            moment[:, i, 0] = total(lag * target, axis=1)
        scale = np.trace(gram, axis1=1, axis2=2)[:, None, None] / (order + 1)
        gram = gram + (1e-10 * scale + 1e-300) * _eye(order + 1)
        coef = np.linalg.solve(gram, moment)[..., 0]  # (k, 1 + order)
        # The constant's column times its coefficient is the coefficient (the sign of a zero
        # aside, which the squares below do not see).
        fitted = coef[:, :1] + lags[0] * coef[:, 1:2]
        for j in range(1, order):
            fitted = fitted + lags[j] * coef[:, j + 1 : j + 2]
        residual = target - fitted
        sigma = np.sqrt(total(residual * residual, axis=1) / max(1, rows - order - 1))
        phi = coef[:, 1:]
        if order == 1:
            stationary = np.abs(phi[:, 0]) < 1
        else:
            stationary = (
                (np.abs(phi[:, 1]) < 1) & (phi[:, 0] + phi[:, 1] < 1) & (phi[:, 1] - phi[:, 0] < 1)
            )
        path, psis = _recursion(coef, z, order, horizon)
        path = path + centre
        if changes:
            # A level is the last value plus the changes; its errors add up the same way.
            path = y[:, -1:] + np.cumsum(path, axis=1)
            psis = np.cumsum(psis, axis=1)
        sd = sigma[:, None] * np.sqrt(np.cumsum(psis * psis, axis=1))
        usable = finite & stationary & np.isfinite(path).all(axis=1) & np.isfinite(sd).all(axis=1)
    return path, sd, usable


@lru_cache(maxsize=8)
def _eye(size: int) -> Array:
    """The identity matrix of `size` (made once: each fit adds a ridge along it)."""
    return np.eye(size)


# The identity matrices of the normal equations' sizes, as lists (a single row's fits).
_EYES = {size: _eye(size).tolist() for size in (2, 3)}


def _recursion(coef: Array, z: Array, order: int, horizon: int) -> tuple[Array, Array]:
    """The projections of the centred rows `z` (k, n) by their fitted `coef` (constant, then
    phi_1..phi_order) for `horizon` periods, and the impulse response psi_0..psi_{h-1}."""
    k, n = z.shape
    phi = coef[:, 1:]
    recent = [z[:, n - 1 - j] for j in range(order)]  # newest first
    psi = [np.ones(k)] + [np.zeros(k)] * (order - 1)  # psi_0, then zeros before it
    steps, weights = [], []
    for _ in range(horizon):
        step = coef[:, 0] + _weighted(phi, recent)
        steps.append(step)
        recent = [step, *recent[:-1]]
        weights.append(psi[0])
        psi = [_weighted(phi, psi), *psi[:-1]]
    return np.stack(steps, axis=1), np.stack(weights, axis=1)


@dataclass(slots=True)
class _Equations:
    """One row's autoregression up to its solve: the centred values (`z`, all zeros when
    not finite), its regressors and target, its normal equations."""

    order: int
    changes: bool
    horizon: int
    last: float  # the last value fitted (the level a fit on the changes starts from)
    centre: float
    finite: bool
    z: list[float]
    lags: list[list[float]]
    target: list[float]
    gram: list[list[float]]
    moment: list[float]


def _one_row_fits(
    y: list[float], asked: Sequence[tuple[int, bool, int, int]]
) -> list[tuple[list[float], list[float], bool]]:
    """`_autoregression_rows` of a single row for each fit asked, on Python floats: the same
    IEEE operations in the same order (sums added as numpy adds a row, `_row_sum`), so the
    same numbers; the normal equations of one size solved by numpy in one call, as there
    (each system's answer is the same alone or in a stack). Python's float arithmetic never
    raises on an overflow or a NaN, and nothing here divides by a value that can be zero."""
    equations = [_equations_of_one(y[:length], o, c, h) for o, c, length, h in asked]
    coefs: list[list[float]] = [[] for _ in asked]
    ready = [(i, e) for i, e in enumerate(equations) if e is not None]
    for size in {len(e.moment) for _, e in ready}:
        of_size = [(i, e) for i, e in ready if len(e.moment) == size]
        grams = np.array([e.gram for _, e in of_size])
        moments = np.array([e.moment for _, e in of_size])[..., None]
        solved = np.linalg.solve(grams, moments)[..., 0].tolist()
        for (i, _), coef in zip(of_size, solved, strict=True):
            coefs[i] = coef
    return [
        _fitted_one(e, coef) if e is not None else _no_fit(h)
        for e, coef, (_, _, _, h) in zip(equations, coefs, asked, strict=True)
    ]


def _no_fit(horizon: int) -> tuple[list[float], list[float], bool]:
    """A fit with too few values: NaN means and sds, not usable."""
    return [math.nan] * horizon, [math.nan] * horizon, False


def _equations_of_one(y: list[float], order: int, changes: bool, horizon: int) -> _Equations | None:
    """The normal equations of an autoregression of one row, as `_autoregression_rows` makes
    them (None: too few values for its parameters)."""
    x = list(map(sub, y[1:], y[:-1])) if changes else y
    n = len(x)
    rows = n - order
    if rows < order + 3:
        return None
    centre = _row_sum(x) / n
    z = list(map(sub, x, repeat(centre, n)))
    finite = all(map(math.isfinite, z))
    if not finite:
        z = [0.0] * n
    lags = [z[order - j - 1 : n - j - 1] for j in range(order)]
    target = z[order:]
    size = order + 1
    gram = [[0.0] * size for _ in range(size)]
    moment = [0.0] * size
    gram[0][0] = float(rows)
    moment[0] = _row_sum(target)
    for i, lag in enumerate(lags, start=1):
        gram[0][i] = gram[i][0] = _row_sum(lag)
        for j in range(i, size):
            gram[i][j] = gram[j][i] = _row_sum(list(map(mul, lag, lags[j - 1])))
        moment[i] = _row_sum(list(map(mul, lag, target)))
    trace = 0.0
    for i in range(size):
        trace += gram[i][i]
    ridge = 1e-10 * (trace / size) + 1e-300
    for i in range(size):
        gram[i] = [g + ridge * e for g, e in zip(gram[i], _EYES[size][i], strict=True)]
    return _Equations(order, changes, horizon, y[-1], centre, finite, z, lags, target, gram, moment)


def _fitted_one(e: _Equations, coef: list[float]) -> tuple[list[float], list[float], bool]:
    """The rest of `_autoregression_rows` for one row, from its solved coefficients."""
    order = e.order
    constant, *phi = coef
    fitted = [constant + v for v in map(mul, e.lags[0], repeat(phi[0]))]
    for j in range(1, order):
        fitted = list(map(add, fitted, map(mul, e.lags[j], repeat(phi[j]))))
    residual = list(map(sub, e.target, fitted))
    rows = len(e.target)
    sigma = math.sqrt(_row_sum(list(map(mul, residual, residual))) / max(1, rows - order - 1))
    if order == 1:
        stationary = abs(phi[0]) < 1
    else:
        stationary = abs(phi[1]) < 1 and phi[0] + phi[1] < 1 and phi[1] - phi[0] < 1
    path, psis = _recursion_one(constant, phi, e.z, e.horizon)
    path = [step + e.centre for step in path]
    if e.changes:
        # A level is the last value plus the changes; its errors add up the same way.
        path = [e.last + change for change in accumulate(path)]
        psis = list(accumulate(psis))
    sd = [sigma * math.sqrt(spread) for spread in accumulate(map(mul, psis, psis))]
    usable = (
        e.finite and stationary and all(map(math.isfinite, path)) and all(map(math.isfinite, sd))
    )
    return path, sd, usable


def _recursion_one(
    constant: float, phi: list[float], z: list[float], horizon: int
) -> tuple[list[float], list[float]]:
    """`_recursion` of one row of centred values `z` (order 1 or 2), step by step."""
    steps, weights = [], []
    if len(phi) == 1:
        (phi_1,) = phi
        recent, psi = z[-1], 1.0
        for _ in range(horizon):
            recent = constant + phi_1 * recent
            steps.append(recent)
            weights.append(psi)
            psi = phi_1 * psi
        return steps, weights
    phi_1, phi_2 = phi
    recent, before = z[-1], z[-2]  # the newest value, the one before it
    psi, psi_before = 1.0, 0.0
    for _ in range(horizon):
        step = constant + (phi_1 * recent + phi_2 * before)
        steps.append(step)
        recent, before = step, recent
        weights.append(psi)
        psi, psi_before = phi_1 * psi + phi_2 * psi_before, psi
    return steps, weights


def _row_sum(values: list[float]) -> float:
    """A row's sum as `np.add.reduce` adds a contiguous row of float64: 0.0 plus numpy's
    pairwise sum (fewer than 8 values one after the other; up to 128 in 8 running sums
    combined pairwise, then the rest one after the other; more split in two halves, the
    first a multiple of 8)."""
    return 0.0 + _pairwise(values, 0, len(values))


def _pairwise(values: list[float], start: int, count: int) -> float:
    if count < 8:
        total = 0.0
        for value in values[start : start + count]:
            total += value
        return total
    if count <= 128:
        r0, r1, r2, r3, r4, r5, r6, r7 = values[start : start + 8]
        stop = start + count - count % 8
        for i in range(start + 8, stop, 8):
            r0 += values[i]
            r1 += values[i + 1]
            r2 += values[i + 2]
            r3 += values[i + 3]
            r4 += values[i + 4]
            r5 += values[i + 5]
            r6 += values[i + 6]
            r7 += values[i + 7]
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for value in values[stop : start + count]:
            total += value
        return total
    half = count // 2
    half -= half % 8
    return _pairwise(values, start, half) + _pairwise(values, start + half, count - half)


def _weighted(phi: Array, lagged: list[Array]) -> Array:
    """phi_1 * lagged[0] + ... + phi_p * lagged[p - 1], row by row."""
    total = phi[:, 0] * lagged[0]
    for j in range(1, phi.shape[1]):
        total = total + phi[:, j] * lagged[j]
    return total


def _cumulative_powers(phi: Array, steps: npt.NDArray[np.int64]) -> Array:
    """phi + phi^2 + ... + phi^h for each row's phi and each h in `steps`: (k, len(steps))."""
    powers = phi[:, None] ** steps[None, :]
    return np.cumsum(powers, axis=1)
