"""The package's fits give the oracle's numbers to the last bit (tests/engine/forecast_oracle.py:
the same fits written one array operation per entry and one fit per call), for one series as
a KPI page fits it and for many at once as `los forecast` does: shapes of every season and
length, values near the largest float, constant and exact lines, every direction and bound."""

from __future__ import annotations

import numpy as np
import pytest

from lineofsight.domain import model as m
from lineofsight.engine import forecast_fit, forecast_methods, forecast_models
from tests.engine import forecast_oracle as oracle

_DIRECTIONS = (m.Direction.INCREASE, m.Direction.DECREASE, m.Direction.RANGE)


def _rows(rng: np.random.Generator, k: int, n: int, season: int, kind: int) -> np.ndarray:
    t = np.arange(n)
    y = rng.normal(100, 50, (k, 1)) + rng.normal(0, 2, (k, 1)) * t + rng.normal(0, 5, (k, n))
    if season > 1:
        y = y + rng.normal(0, 20, (k, 1)) * np.sin(2 * np.pi * t / season)
    if kind == 1:
        y = np.abs(y) + 1  # positive: a multiplicative season
    elif kind == 2:
        y[:, :] = y[:, :1]  # constant
    elif kind == 3:
        y = y * 1e300  # overflows the fit
    elif kind == 4:
        y = np.round(y)  # whole numbers
    elif kind == 5:
        y = 2.0 * t + np.zeros((k, 1))  # an exact line
    return y


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.tobytes() == b.tobytes()


def _shapes() -> list[tuple[int, int, int, int]]:
    found = []
    for season in (4, 12, 52):
        lengths = {2 * season, 2 * season + 1, 3 * season, 3 * season + 5, 60, 61}
        if season == 4:
            lengths |= set(range(33, 61))  # 8 and more periods at a position of the season
        for n in sorted(lengths):
            if 2 * season <= n <= 3 * season + 10 or (season == 4 and n <= 60):
                found += [(season, n, k, h) for k in (1, 7) for h in (1, season + 2)]
    return found


def _lengths(season: int) -> list[int]:
    # Every length a forecast of this season fits differently: the damped trend below two
    # seasons, the seasonal fit above (up to what it reads of a series, and a little beyond).
    longest = {1: 60, 4: 60, 12: 72, 52: 2 * 52 + 3}[season]
    return list(range(3, max(longest, 2 * season + 3) + 1)) + (
        [120, 156, 157] if season == 52 else []
    )


@pytest.mark.parametrize("kind", range(6))
def test_the_models_give_the_oracles_numbers(kind: int) -> None:
    rng = np.random.default_rng(kind)
    for season, n, k, horizon in _shapes():
        y = _rows(rng, k, n, season, kind)
        for order, changes in forecast_models._AUTOREGRESSIONS:
            for cut in (n, n - season):
                made = forecast_models.autoregression(y[:, :cut], order, changes, horizon)
                expected = oracle.autoregression(y[:, :cut], order, changes, horizon)
                for a, b in zip(made, expected, strict=True):
                    _same(a, b)
        for a, b in zip(
            forecast_models.best_two(y, season, horizon),
            oracle.best_two(y, season, horizon),
            strict=True,
        ):
            _same(a, b)
        with np.errstate(all="ignore"):
            _same(forecast_methods._seasonal_profile(y, season), oracle.seasonal_profile(y, season))


@pytest.mark.parametrize("k", [1, 2, 50])
def test_the_chances_are_the_oracles(k: int) -> None:
    rng = np.random.default_rng(k)
    for _ in range(40):
        directions = [_DIRECTIONS[i] for i in rng.integers(0, 3, k)]
        targets = rng.normal(100, 30, k).tolist()
        bands = [
            m.Range(t - 5, t + 5) if d is m.Direction.RANGE else None
            for t, d in zip(targets, directions, strict=True)
        ]
        bounds = [m.Bounds(0.0, 150.0) if rng.random() < 0.3 else None for _ in range(k)]
        goals = forecast_fit.Goals.of(targets, directions, bands, bounds)
        mean = rng.normal(100, 40, k)
        sd = np.where(rng.random(k) < 0.1, 0.0, rng.uniform(0, 30, k))
        log = rng.random(k) < 0.3
        mean = np.where(log, np.log(np.abs(mean) + 1), mean)
        on_track = rng.random(k) < 0.5
        args = (goals.direction, goals.target, goals.low, goals.high, goals.floor)
        rest = (goals.ceiling, mean, sd, log, on_track)
        assert forecast_fit.chances(*args, *rest) == oracle.chances(*args, *rest)


def test_a_rows_sum_is_numpys_to_the_last_bit() -> None:
    # A single series' autoregressions add on Python floats in numpy's order (its pairwise
    # sum: below 8 values, 8 running sums up to 128, halves above): every length of each
    # branch, values of mixed magnitudes and signs, and zeros of both signs.
    rng = np.random.default_rng(11)
    for n in range(300):
        for scale in (1.0, 1e8, 1e-8):
            values = rng.normal(0, 1, n) * scale * 10.0 ** rng.integers(-6, 7, n)
            values[rng.random(n) < 0.1] = -0.0
            row = np.stack([values, values])[:1]  # a row of a batch, as the fits sum them
            expected = np.add.reduce(row, axis=1)[0]
            assert forecast_models._row_sum(values.tolist()) == expected
            assert np.float64(forecast_models._row_sum(values.tolist())).tobytes() == (
                expected.tobytes()
            )


@pytest.mark.parametrize("season", [1, 4, 12, 52])
def test_one_series_is_judged_as_in_a_batch(season: int) -> None:
    # A KPI page fits one series (its autoregressions and its chance on Python floats),
    # `los forecast` many at once: every row alone gives the batch's row (its seasonal
    # profile and its fit), to the last bit, whatever its length, kind, direction and bounds.
    rng = np.random.default_rng(season)
    for n in _lengths(season):
        rows = np.concatenate([_rows(rng, 2, n, season, kind) for kind in range(6)])
        _judged_alone_as_together(rng, rows, season)


def _judged_alone_as_together(rng: np.random.Generator, rows: np.ndarray, season: int) -> None:
    k, n = rows.shape
    if forecast_methods.method_for(n, season) == "seasonal":
        with np.errstate(all="ignore"):
            profiles = forecast_methods._seasonal_profile(rows, season)
            for i in range(k):
                alone = forecast_methods._seasonal_profile(rows[i : i + 1], season)
                _same(alone, profiles[i : i + 1])
    directions = [_DIRECTIONS[i] for i in rng.integers(0, 3, k)]
    targets = (rows[:, -1] + rng.normal(0, 30, k)).tolist()
    bands = [
        m.Range(t - 5, t + 5) if d is m.Direction.RANGE else None
        for t, d in zip(targets, directions, strict=True)
    ]
    bounds = [m.Bounds(0.0, None) if rng.random() < 0.3 else None for _ in range(k)]
    horizon = season + 3
    together = forecast_fit.fit_rows(
        rows, season, horizon, forecast_fit.Goals.of(targets, directions, bands, bounds)
    )
    for i in range(k):
        goals = forecast_fit.Goals.of([targets[i]], [directions[i]], [bands[i]], [bounds[i]])
        alone = forecast_fit.fit_rows(rows[i : i + 1], season, horizon, goals)
        assert alone.ok == together.ok[i : i + 1]
        if not alone.ok[0]:
            continue
        for field in ("values", "low", "high"):
            _same(np.array(getattr(alone, field)[0]), np.array(getattr(together, field)[i]))
        _same(np.array(alone.probability), np.array(together.probability[i : i + 1]))
        assert alone.on_track == together.on_track[i : i + 1]
        assert alone.clamped == together.clamped[i : i + 1]
        assert alone.models == (together.models[i : i + 1] if together.models else None)
