"""Benchmark the forecast's quality: a rolling-origin backtest on real public series (goal: the
on/off-track call right >= 0.88 of the time to this year-end and >= 0.80 to next year-end, and
a MASE below seasonal naive's).

The series ship inside installable packages (pmdarima and statsmodels, the `bench` extra), so
nothing is downloaded: monthly and quarterly, seasonal and not. From every origin in the last
years of each series, each method forecasts to the last period of the origin's year ("this
year-end") and of the next year; targets are the trailing-year mean times 0.90 ... 1.10 (an
"increase" KPI); a call is right when "projected >= target" agrees with the actual value at
that period. Printed side by side, measured in the same run:
- Line of Sight (engine/forecast_methods.py, the product's own code: per series, the season,
  then the two of its candidate models with the least error over the series' own last three
  seasons, averaged), and the straight line over the last 8 periods that it replaced;
- naive (the last value), seasonal naive (the value a year before), and ETS (statsmodels'
  ETSModel: additive errors, damped additive trend, additive or multiplicative season by AIC).
MASE is the mean absolute error over every horizon up to next year-end, scaled by the
in-sample mean absolute error of the seasonal naive forecast (the naive one for a series
without a season).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_forecast_quality.py
"""

from __future__ import annotations

import argparse
import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lineofsight.engine.forecast_methods import project

FACTORS = (0.90, 0.95, 0.98, 1.00, 1.02, 1.05, 1.10)


@dataclass
class Series:
    """One real series: name, values, season (periods in a year), the position in the year
    of its first value (0 = January or Q1), seasonal or not (for the table only)."""

    name: str
    values: np.ndarray
    season: int
    first_position: int
    kind: str


def load_series() -> list[Series]:
    """The real series, from the data that pmdarima and statsmodels ship."""
    import pmdarima.datasets as pm
    import statsmodels.api as sm

    found = [
        Series("airpassengers", pm.load_airpassengers(), 12, 0, "monthly, seasonal"),
        Series("wineind", pm.load_wineind(), 12, 0, "monthly, seasonal"),
        Series("ausbeer", pm.load_ausbeer(), 4, 0, "quarterly, seasonal"),
        Series("woolyrnq", pm.load_woolyrnq(), 4, 0, "quarterly, seasonal"),
        Series("austres", pm.load_austres(), 4, 1, "quarterly, trend"),
    ]
    # Monthly sunspot numbers: a cycle of about 11 years, no season; the last 30 years.
    sun = np.asarray(pm.load_sunspots(), dtype=float)
    found.append(Series("sunspots", sun[-360:], 12, (len(sun) - 360) % 12, "monthly, not"))
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    start = co2.index[0].month - 1
    found.append(Series("co2", co2.to_numpy(), 12, start, "monthly, seasonal"))
    elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()
    found.append(Series("elnino", elnino, 12, 0, "monthly, seasonal"))
    macro = sm.datasets.macrodata.load_pandas().data
    for column in ("realgdp", "cpi", "unemp"):
        found.append(Series(column, macro[column].to_numpy(), 4, 0, "quarterly, not"))
    result = []
    for s in found:
        values = np.asarray(s.values, dtype=float)
        result.append(
            Series(s.name, values[np.isfinite(values)], s.season, s.first_position, s.kind)
        )
    return result


Forecaster = Callable[[np.ndarray, int, int], np.ndarray]


def los(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    _, projection = project(history[None, :], season, horizon)
    value, _, _ = projection.interval()
    return value[0]


def straight_line(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    y = history[-8:]
    x = np.arange(len(y), dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    return intercept + slope * (len(y) - 1 + np.arange(1, horizon + 1))


def naive(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    return np.full(horizon, history[-1])


def seasonal_naive(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    last = history[-season:]
    return np.array([last[h % season] for h in range(horizon)])


def ets(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = history[-120:]
    choices: list[str | None] = [None]
    if len(y) >= 2 * season:
        choices = ["add", "mul"] if np.all(y > 0) else ["add"]
    best, best_aic = None, np.inf
    for seasonal in choices:
        model = ETSModel(
            y,
            error="add",
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=season if seasonal else None,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(disp=False)
        if fit.aic < best_aic:
            best, best_aic = fit, fit.aic
    assert best is not None
    return np.asarray(best.forecast(horizon), dtype=float)


METHODS: dict[str, Forecaster] = {
    "Line of Sight": los,
    "straight line (old)": straight_line,
    "naive": naive,
    "seasonal naive": seasonal_naive,
    "ETS (statsmodels)": ets,
}


@dataclass
class Score:
    """Running totals for one method."""

    right: dict[str, int] = field(default_factory=lambda: {"this": 0, "next": 0})
    calls: dict[str, int] = field(default_factory=lambda: {"this": 0, "next": 0})
    mase: list[float] = field(default_factory=list)
    seconds: float = 0.0


def backtest(
    series: list[Series], years: int, cache: dict[tuple[str, int], np.ndarray] | None
) -> tuple[dict[str, Score], int]:
    scores = {name: Score() for name in METHODS}
    origins = 0
    for s in series:
        y, m = s.values, s.season
        scale_lag = m
        scale = float(np.mean(np.abs(y[scale_lag:] - y[:-scale_lag])))
        positions = (s.first_position + np.arange(len(y))) % m
        for origin in range(len(y) - years * m - 2 * m, len(y)):
            # The origin is the last period known; "this year-end" is the next last period
            # of a year strictly after it, "next year-end" one year later.
            to_end = (m - 1 - positions[origin]) or m
            horizon = to_end + m
            if origin + horizon >= len(y) or origin < 3 * m:
                continue
            origins += 1
            history = y[: origin + 1]
            actual = y[origin + 1 : origin + 1 + horizon]
            level = float(np.mean(history[-m:]))
            for name, method in METHODS.items():
                started = time.perf_counter()
                if cache is not None and name.startswith("ETS"):
                    key = (s.name, origin)
                    if key not in cache:
                        cache[key] = method(history, m, horizon)
                    forecast = cache[key]
                else:
                    forecast = method(history, m, horizon)
                scores[name].seconds += time.perf_counter() - started
                score = scores[name]
                score.mase.append(float(np.mean(np.abs(forecast - actual))) / scale)
                for key, h in (("this", to_end), ("next", horizon)):
                    for factor in FACTORS:
                        target = level * factor
                        called = forecast[h - 1] >= target
                        truth = actual[h - 1] >= target
                        score.calls[key] += 1
                        score.right[key] += int(called == truth)
    return scores, origins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=4, help="years of origins per series")
    parser.add_argument(
        "--ets-cache",
        type=Path,
        help="keep ETS's forecasts in this file between runs (while tuning; slow otherwise)",
    )
    args = parser.parse_args()
    cache = None
    if args.ets_cache is not None:
        cache = pickle.loads(args.ets_cache.read_bytes()) if args.ets_cache.exists() else {}
    series = load_series()
    print(f"{len(series)} series:")
    for s in series:
        print(f"  {s.name:<14} {len(s.values):>5} values  {s.kind}")
    scores, origins = backtest(series, args.years, cache)
    if args.ets_cache is not None:
        args.ets_cache.write_bytes(pickle.dumps(cache))
    print(f"\n{origins} origins, targets = trailing-year mean x {', '.join(map(str, FACTORS))}\n")
    print(f"{'method':<22}{'MASE':>7}{'right, this y-e':>17}{'right, next y-e':>17}{'s':>8}")
    for name, score in scores.items():
        this = score.right["this"] / score.calls["this"]
        nxt = score.right["next"] / score.calls["next"]
        mase = float(np.mean(score.mase))
        print(f"{name:<22}{mase:>7.3f}{this:>17.3f}{nxt:>17.3f}{score.seconds:>8.1f}")
    ours = scores["Line of Sight"]
    this = ours.right["this"] / ours.calls["this"]
    nxt = ours.right["next"] / ours.calls["next"]
    mase = float(np.mean(ours.mase))
    reference = float(np.mean(scores["seasonal naive"].mase))
    print()
    for goal, met in (
        (f"on/off track right to this year-end >= 0.88 ({this:.3f})", this >= 0.88),
        (f"on/off track right to next year-end >= 0.80 ({nxt:.3f})", nxt >= 0.80),
        (f"MASE below seasonal naive's ({mase:.3f} < {reference:.3f})", mase < reference),
    ):
        print(f"goal: {goal}: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
