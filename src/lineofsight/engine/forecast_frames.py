"""The histories that forecasts read, computed on data frames for large organisations.

`los forecast` for 100,000 KPIs cannot afford a value table (engine/values.py builds a Python
dict entry per value and period). For a measured KPI at a unit whose value is its own
measurements (no formula, no unit below it with values of that KPI), the history is a
group-by over the measurements, with the same period rules and aggregations as the value table
(`period_aggregates`, `period_value`); the caller forecasts every other KPI from a value table.

The histories of all series are kept as flat arrays (`Histories`), not one object each: the
forecasts of 100,000 KPIs then gather their fixed-shape batches with array indexing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period, grain_of, period_of
from lineofsight.engine.calendar import evaluation_period, uses_fiscal
from lineofsight.engine.forecast import season_of
from lineofsight.engine.forecast_methods import max_history
from lineofsight.engine.values import period_aggregates, period_value

__all__ = [
    "REQUEST_SCHEMA",
    "GrainSteps",
    "Histories",
    "grain_steps",
    "measured_below",
    "merged_histories",
    "own_only",
    "period_at",
    "series_histories",
    "step_of",
]

Ints = npt.NDArray[np.int64]

# One row per forecast to make (a KPI at a unit against a final target by a date), with what
# the histories and the fits read of the KPI.
REQUEST_SCHEMA: dict[str, Any] = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "target": pl.Float64,
    "deadline": pl.Date,
    "frequency": pl.String,
    "direction": pl.String,
    "range_low": pl.Float64,
    "range_high": pl.Float64,
    "bounds_min": pl.Float64,
    "bounds_max": pl.Float64,
    "aggregation": pl.String,  # as the KPI takes it (`mean` when not written)
    "ratio_scale": pl.Float64,
    "formula": pl.Boolean,
}

_MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}
_EPOCH = dt.date(1970, 1, 1)


def own_only(
    kpis: Iterable[tuple[str, str, bool]],
    below: Mapping[str, set[str]],
    measured_units: Mapping[str, set[str]],
) -> set[tuple[str, str]]:
    """The (KPI, unit) pairs whose values are the unit's own measurements only: a measured KPI
    at a unit none of whose descendants has measurements of it. `kpis`: (id, its unit,
    whether it is a formula); `below`: `measured_below`."""
    found: set[tuple[str, str]] = set()
    nothing: set[str] = set()
    for kpi_id, own_unit, formula in kpis:
        if formula:
            continue
        units = measured_units.get(kpi_id, nothing)
        above = below.get(kpi_id, nothing)
        found.update((kpi_id, u) for u in units if u not in above)
        if own_unit not in above:
            found.add((kpi_id, own_unit))
    return found


def measured_below(
    parents: Mapping[str, str | None], measured_units: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """For each measured KPI, the units above a unit with measurements of it: their values
    are rolled up from below."""
    found: dict[str, set[str]] = {}
    for kpi_id, units in measured_units.items():
        above: set[str] = set()
        for unit in units:
            parent = parents.get(unit)
            while parent is not None and parent not in above:
                above.add(parent)
                parent = parents.get(parent)
        found[kpi_id] = above
    return found


@dataclass(frozen=True, slots=True)
class GrainSteps:
    """How the periods of one frequency are numbered (`step_of`), and where its series end
    for the as-of date: the evaluation period and its step."""

    frequency: m.Frequency
    grain: Grain
    shift: int
    months: int
    days: int
    last_allowed: Period
    last_step: int
    season: int
    window: int  # the most recent periods a forecast reads


def grain_steps(frequency: m.Frequency, calendar: m.Calendar, as_of: dt.date) -> GrainSteps:
    """The numbering of `frequency`'s periods (fiscal quarters and years shifted)."""
    grain = grain_of(frequency)
    fiscal = uses_fiscal(calendar)
    shift = calendar.fiscal_year_start - 1 if fiscal and grain in (Grain.QUARTER, Grain.YEAR) else 0
    months = _MONTHS.get(grain, 0)
    days = 7 if grain is Grain.WEEK else 1
    last = evaluation_period(frequency, as_of, calendar)
    season = season_of(grain)
    return GrainSteps(
        frequency,
        grain,
        shift,
        months,
        days,
        last,
        step_of(last.start, months, days, shift),
        season,
        max_history(season),
    )


def step_of(start: dt.date, months: int, days: int, shift: int) -> int:
    """The step of the period that starts on `start`: months since year 0 over the months in
    the period (fiscal years shifted), or days or weeks since 1970."""
    if months:
        return (start.year * 12 + start.month - 1 - shift) // months
    index = (start - _EPOCH).days
    return (index + 3) // 7 if days == 7 else index


def period_at(step: int, steps: GrainSteps, calendar: m.Calendar) -> Period:
    """The period of a step (see `step_of`)."""
    return _period(step, int(steps.grain), steps.shift, steps.months, steps.days, calendar)


@lru_cache(maxsize=65536)
def _period(
    step: int, grain: int, shift: int, months: int, days: int, calendar: m.Calendar
) -> Period:
    if months:
        index = step * months + shift
        start = dt.date(index // 12, index % 12 + 1, 1)
    elif days == 7:
        start = _EPOCH + dt.timedelta(days=step * 7 - 3)
    else:
        start = _EPOCH + dt.timedelta(days=step)
    g = Grain(grain)
    return period_of(start, g, calendar, uses_fiscal(calendar) and g in (Grain.QUARTER, Grain.YEAR))


@dataclass(frozen=True, slots=True)
class Histories:
    """The known values of many series, each up to its evaluation period and within its last
    `window` periods: series i holds `steps[start[i]:start[i] + count[i]]` (the periods'
    steps, ascending) and the `values` there; `count[i]` is 0 for a series without values."""

    start: Ints
    count: Ints
    steps: Ints
    values: npt.NDArray[np.float64]


def series_histories(
    requests: pl.DataFrame,
    measurements: pl.DataFrame,
    shapes: Mapping[str, GrainSteps],
    *,
    windowed: bool = True,
) -> Histories:
    """The history of each row of `requests` (`REQUEST_SCHEMA`; each row a distinct KPI and
    unit) from the measurements of that KPI at that unit; `shapes` by frequency; cut to the
    last `window` periods unless not `windowed`.

    A measurement's period of the KPI's grain is an integer, its step, so that the group-by
    runs on integers rather than on dates made row by row. Most periods hold one measurement
    (a monthly value of a monthly KPI): its value is taken as it is; the periods with several
    are aggregated as the value table does (`period_aggregates`)."""
    k = requests.height
    info = requests.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("series"),
        "kpi_id",
        "unit_id",
        *(
            pl.col("frequency")
            .replace_strict({f: getattr(s, name) for f, s in shapes.items()}, return_dtype=pl.Int64)
            .alias(name)
            for name in ("shift", "months", "days", "last_step")
        ),
        pl.col("ratio_scale").alias("scale"),
        (pl.col("aggregation") == "sum").alias("summed"),
    )
    end = pl.col("period_end")
    month_index = end.dt.year().cast(pl.Int64) * 12 + end.dt.month().cast(pl.Int64) - 1
    day_index = end.cast(pl.Int64)  # days since 1970-01-01, a Thursday
    # A week runs from Monday: 1969-12-29 is day -3.
    step = (
        pl.when(pl.col("months") > 0)
        .then((month_index - pl.col("shift")) // pl.col("months"))
        .when(pl.col("days") == 7)
        .then((day_index + 3) // 7)
        .otherwise(day_index)
    )
    value, numerator, denominator = pl.col("value"), pl.col("numerator"), pl.col("denominator")
    scale = pl.col("scale")
    rows = (
        measurements.lazy()
        .select(
            "kpi_id", "unit_id", "period_start", "period_end", "value", "numerator", "denominator"
        )
        .join(info.lazy(), on=["kpi_id", "unit_id"], how="inner")
        .with_columns(step=step)
        .filter(pl.col("step") <= pl.col("last_step"))
        .select(
            "series",
            "step",
            "period_start",
            "period_end",
            "value",
            "numerator",
            "denominator",
            # The value of a period of this one measurement: every aggregate is the
            # measurement (a sum of nothing is 0, as in the group-by), picked by the rule of
            # `period_value`; periods of several measurements are aggregated apart.
            single=pl.when(scale.is_not_null())
            .then(
                pl.when(denominator.fill_null(0.0) != 0).then(
                    scale * numerator.fill_null(0.0) / denominator.fill_null(0.0)
                )
            )
            .when(pl.col("summed"))
            .then(value.fill_null(0.0))
            .otherwise(value),
        )
        .sort("series", "step")
        .collect()
    )
    series = rows["series"].to_numpy()
    steps = rows["step"].to_numpy()
    new = np.ones(len(series), dtype=bool)
    new[1:] = (series[1:] != series[:-1]) | (steps[1:] != steps[:-1])
    single = rows["single"].to_numpy()  # NaN: no value
    if new.all():  # the common case: one measurement in every period
        return _windowed(series, steps, single, requests, shapes, k, windowed)
    heads = np.flatnonzero(new)
    sizes = np.diff(np.append(heads, len(series)))
    alone = np.repeat(sizes == 1, sizes)
    parts = [(series[alone], steps[alone], single[alone])]
    per_series = requests.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("series"),
        pl.col("aggregation").alias("agg"),
        pl.col("ratio_scale").alias("scale"),
    )
    grouped = (
        period_aggregates(rows.filter(pl.Series(~alone)).lazy(), ("series", "step"))
        .join(per_series, on="series", how="left")
        .select("series", "step", value=period_value("scale").fill_null(np.nan))
    )
    parts.append(
        (
            grouped["series"].to_numpy().astype(np.int64),
            grouped["step"].to_numpy().astype(np.int64),
            grouped["value"].to_numpy().astype(np.float64),
        )
    )
    series, steps, values = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.lexsort((steps, series))
    return _windowed(series[order], steps[order], values[order], requests, shapes, k, windowed)


def _windowed(
    series: Ints,
    steps: Ints,
    values: npt.NDArray[np.float64],
    requests: pl.DataFrame,
    shapes: Mapping[str, GrainSteps],
    k: int,
    windowed: bool,
) -> Histories:
    """Each series' periods (sorted by series and step) with a value, cut to its last
    `window` periods (when `windowed`)."""
    # No value where it is not finite (a sum past the largest float), as `period_value` says.
    known = np.isfinite(values)
    if not known.all():
        series, steps, values = series[known], steps[known], values[known]
    if not windowed:
        count, start = _bounds(series, k)
        return Histories(start, count, steps, values)
    windows = (
        requests.select(
            pl.col("frequency").replace_strict(
                {f: s.window for f, s in shapes.items()}, return_dtype=pl.Int64
            )
        )
        .to_series()
        .to_numpy()
    )
    count, start = _bounds(series, k)
    has = count > 0
    span = steps[start[has] + count[has] - 1] - steps[start[has]]
    if (span >= windows[has]).any():  # some series reach back further than they are read
        last = np.zeros(k, dtype=np.int64)
        last[has] = steps[start[has] + count[has] - 1]
        keep = steps > last[series] - windows[series]
        series, steps, values = series[keep], steps[keep], values[keep]
        count, start = _bounds(series, k)
    return Histories(start, count, steps, values)


def _bounds(series: Ints, k: int) -> tuple[Ints, Ints]:
    """How many periods each of the k series has, and where its first one is (`series`
    sorted)."""
    count = np.bincount(series, minlength=k).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return count, start


def merged_histories(parts: list[tuple[Ints, Histories]], k: int) -> Histories:
    """One `Histories` of k series from parts, each the histories of the series at its rows
    (every row in one part)."""
    count = np.zeros(k, dtype=np.int64)
    for rows, part in parts:
        count[rows] = part.count
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    total = int(count.sum())
    steps = np.empty(total, dtype=np.int64)
    values = np.empty(total, dtype=np.float64)
    for rows, part in parts:
        if not len(rows):
            continue
        # Each value of the part goes to its series' place, in order within the series.
        owner = np.repeat(np.arange(len(rows)), part.count)
        within = np.arange(len(owner)) - np.repeat(part.start, part.count)
        where = start[rows][owner] + within
        steps[where] = part.steps[: len(owner)]
        values[where] = part.values[: len(owner)]
    return Histories(start, count, steps, values)
