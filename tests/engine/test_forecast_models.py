"""The models a seasonal forecast chooses from (engine/forecast_models.py): autoregressions on
values and on changes, and the choice of the two with the least error over the last seasons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lineofsight.engine.forecast_methods import seasonal
from lineofsight.engine.forecast_models import MODELS, _t90, autoregression, best_two, few_values


def _ar1(phi: float, mean: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = mean
    for t in range(1, n):
        x[t] = mean + phi * (x[t - 1] - mean) + rng.normal()
    return x


def test_an_autoregression_returns_towards_the_mean() -> None:
    y = _ar1(0.6, 50.0, 60, seed=1)
    y[-1] = 60.0  # far above the mean: the projection falls back towards it
    mean, sd, usable = autoregression(y[None, :], 1, False, 12)
    assert usable[0]
    assert 50 < mean[0, -1] < mean[0, 0] < 60
    assert np.all(np.diff(sd[0]) >= 0)  # the interval widens with the horizon


def test_an_autoregression_on_changes_keeps_the_drift() -> None:
    rng = np.random.default_rng(2)
    y = 100 + 2.0 * np.arange(48) + rng.normal(0, 0.5, 48)
    mean, _, usable = autoregression(y[None, :], 1, True, 6)
    assert usable[0]
    assert mean[0, -1] == pytest.approx(y[-1] + 12, abs=2)


def test_an_explosive_or_too_short_fit_is_not_a_candidate() -> None:
    explosive = 1.5 ** np.arange(20, dtype=float)
    _, _, usable = autoregression(explosive[None, :], 1, False, 3)
    assert not usable[0]
    _, _, usable = autoregression(np.array([[1.0, 2.0, 4.0, 3.0]]), 2, False, 3)
    assert not usable[0]


def test_best_two_prefers_what_forecast_each_series_best() -> None:
    rows = np.stack(
        [
            _ar1(0.5, 20.0, 60, seed=3),  # a level that keeps returning to its mean
            10 + 0.5 * np.arange(60.0),  # an exact line: the damped trend (phi 1) is exact
        ]
    )
    mean, sd, chosen = best_two(rows, 12, 12)
    assert mean.shape == sd.shape == (2, 12) and np.isfinite(mean).all()
    first = {MODELS[i] for i in chosen[0]}
    assert first & {"ar1", "ar2"}  # a stationary model is among the two best
    assert MODELS[chosen[1, 0]] == "damped_trend" or "ari" in MODELS[chosen[1, 0]]
    assert mean[1, -1] == pytest.approx(10 + 0.5 * 71, rel=1e-3)


def test_best_two_is_deterministic_and_row_independent() -> None:
    rows = np.stack([_ar1(0.3, 5.0, 48, seed=s) for s in range(4)])
    together = best_two(rows, 12, 6)
    for i in range(4):
        alone = best_two(rows[i : i + 1], 12, 6)
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_array_equal(a[i], b[0])


def test_a_seasonal_projection_names_its_models() -> None:
    months = np.arange(48)
    y = 100 + 10 * np.sin(2 * np.pi * months / 12) + 0.3 * months
    projection = seasonal(y[None, :], 12, 14)
    (names,) = projection.models()
    assert all(part in MODELS for part in names.split("+"))
    assert np.isfinite(projection.mean).all()


def test_chances_on_arrays_are_the_probabilities_row_by_row() -> None:
    # The chance of meeting the target, computed for many rows at once, is `probability` of
    # each row to the last bit: every direction, bounds that hold the value, log-normal rows
    # with targets at or below zero, no spread, and NaN where a range has no bound.
    from lineofsight.engine.forecast_fit import chances, probability

    rng = np.random.default_rng(7)
    k = 4000
    direction = rng.integers(0, 3, k).astype(np.int8)
    mean = rng.normal(5, 3, k)
    sd = np.where(rng.random(k) < 0.1, rng.choice([0.0, -1.0], k), rng.gamma(2, 1, k))
    target = np.where(rng.random(k) < 0.1, mean, mean + rng.normal(0, 4, k))
    target[rng.random(k) < 0.05] = 0.0
    low = target - rng.gamma(2, 1, k)
    high = target + rng.gamma(2, 1, k)
    low[rng.random(k) < 0.03] = np.nan
    floor = np.where(rng.random(k) < 0.2, target + rng.normal(0, 2, k), -np.inf)
    ceiling = np.where(rng.random(k) < 0.2, target + rng.normal(0, 2, k), np.inf)
    log = rng.random(k) < 0.4
    on_track = rng.random(k) < 0.5
    found = chances(direction, target, low, high, floor, ceiling, mean, sd, log, on_track)
    expected = [
        probability(*row)
        for row in zip(
            direction.tolist(), target.tolist(), low.tolist(), high.tolist(), floor.tolist(),
            ceiling.tolist(), mean.tolist(), sd.tolist(), log.tolist(), on_track.tolist(),
            strict=True,
        )
    ]  # fmt: skip
    assert np.array_equal(np.array(found), np.array(expected), equal_nan=True)
    assert [math.copysign(1, v) for v in found] == [math.copysign(1, v) for v in expected]
    assert 0 < sum(v in (0.0, 1.0, 0.5) for v in found) < k


def test_one_series_is_projected_as_in_a_batch_bit_for_bit() -> None:
    """A single row (a KPI page's forecast) takes its recursion on Python floats: the same
    numbers, to the last bit, as the same row fitted among many (`los forecast`)."""
    rng = np.random.default_rng(7)
    rows = [
        _ar1(0.6, 50.0, 36, seed=3),
        100 + 2.0 * np.arange(36) + rng.normal(0, 0.5, 36),
        rng.normal(0, 1e-3, 36),
        np.exp(rng.normal(0, 3, 36)),
        -rng.lognormal(5, 2, 36),
        np.full(36, 4.0),  # a constant: a singular fit
        np.linspace(-1e300, 1e300, 36),  # overflows: not finite, not usable
        np.where(np.arange(36) == 20, np.nan, rng.normal(10, 2, 36)),
    ]
    batch = np.stack(rows)
    for order, changes in ((1, False), (2, False), (1, True), (2, True)):
        for horizon in (1, 5, 12, 30):
            together = autoregression(batch, order, changes, horizon)
            for i, row in enumerate(rows):
                alone = autoregression(row[None, :], order, changes, horizon)
                for a, b in zip(alone, together, strict=True):
                    np.testing.assert_array_equal(a[0], b[i])
                    # -0.0 and 0.0 compare equal: compare the bits.
                    assert np.asarray(a[0]).tobytes() == np.asarray(b[i]).tobytes()
    mean, sd, chosen = best_two(batch[:5], 12, 13)
    for i in range(5):
        one = best_two(batch[i : i + 1], 12, 13)
        assert one[0].tobytes() == mean[i : i + 1].tobytes()
        assert one[1].tobytes() == sd[i : i + 1].tobytes()
        assert (one[2] == chosen[i : i + 1]).all()


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 3.0777), (2, 1.8856), (3, 1.6377), (4, 1.5332), (5, 1.4759), (10, 1.3722), (30, 1.3104)],
)
def test_the_t_quantile_is_the_tables(df: int, expected: float) -> None:
    assert _t90(df) == pytest.approx(expected, abs=1e-4)


def test_the_widening_for_a_short_series_fades_as_it_grows() -> None:
    rng = np.random.default_rng(3)
    sd = np.full((1, 4), 1.0)
    factors = []
    for n in (3, 4, 6, 10, 30, 60):
        y = (100 - 2.0 * np.arange(n) + rng.normal(0, 0.01, n))[None, :]
        factors.append(few_values(y, sd)[0, 0])
    # A series that is almost a line: no floor from its changes, only the t quantile.
    assert factors == pytest.approx(
        [_t90(max(1, n - 3)) / 1.2815515655446004 for n in (3, 4, 6, 10, 30, 60)]
    )
    assert factors == sorted(factors, reverse=True) and factors[-1] < 1.02


def test_a_few_values_that_jump_get_at_least_a_random_walks_spread() -> None:
    # Two changes of -0.6 and -1.8: their sd 0.85; h steps of a random walk with a drift
    # estimated from two changes spread as 0.85 * sqrt(h * (1 + h / 2)), times t_0.9(1) / z_0.9.
    y = np.array([[7.5, 6.9, 5.1]])
    widened = few_values(y, np.full((1, 5), 0.01))
    s = math.sqrt(0.72)
    h = np.arange(1, 6)
    expected = s * np.sqrt(h * (1 + h / 2)) * _t90(1) / 1.2815515655446004
    assert widened[0] == pytest.approx(expected)
    # From six values on, the floor is gone: only the t quantile.
    y6 = np.array([[7.5, 6.9, 5.1, 7.5, 6.9, 5.1]])
    assert few_values(y6, np.full((1, 5), 0.01))[0] == pytest.approx(
        0.01 * _t90(3) / 1.2815515655446004
    )
