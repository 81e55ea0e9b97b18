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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period, grain_of, period_of, start_of
from lineofsight.engine.calendar import evaluation_period, uses_fiscal
from lineofsight.engine.forecast import season_of
from lineofsight.engine.forecast_methods import max_history
from lineofsight.engine.values import period_aggregates, period_value, unsigned

__all__ = [
    "REQUEST_SCHEMA",
    "GrainSteps",
    "Histories",
    "grain_steps",
    "measured_pairs",
    "merged_histories",
    "own_only",
    "period_at",
    "rolled_up",
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
# A series' number times _SERIES plus its step and _STEP_OFFSET: one sortable integer (steps,
# months since year 0 or days since 1970, stay well within +-_STEP_OFFSET).
_SERIES = 1 << 32
_STEP_OFFSET = 1 << 31
_EPOCH = dt.date(1970, 1, 1)


def measured_pairs(measurements: pl.DataFrame) -> pl.DataFrame:
    """Each KPI and unit with measurements (`kpi_id`, `unit_id`)."""
    return measurements.lazy().select("kpi_id", "unit_id").unique().collect()


def rolled_up(measured: pl.DataFrame, parents: Mapping[str, str | None]) -> pl.DataFrame:
    """Each KPI at the units above a unit with measurements of it (`kpi_id`, `unit_id`):
    where its value is rolled up from below. `measured`: `measured_pairs`."""
    above: list[tuple[str, str]] = []
    for unit in parents:
        parent = parents.get(unit)
        while parent is not None:
            above.append((unit, parent))
            parent = parents.get(parent)
    ancestors = pl.DataFrame(above, schema={"unit_id": pl.String, "above": pl.String}, orient="row")
    return (
        measured.lazy()
        .join(ancestors.lazy(), on="unit_id", how="inner")
        .select("kpi_id", pl.col("above").alias("unit_id"))
        .unique()
        .collect()
    )


def own_only(
    requests: pl.DataFrame,
    own_units: pl.DataFrame,
    measured: pl.DataFrame,
    rolled: pl.DataFrame,
) -> list[bool]:
    """Which rows of `requests` (`REQUEST_SCHEMA`) ask for values that are the unit's own
    measurements only: a measured KPI at a unit with measurements of it or at its own unit,
    none of whose descendants has measurements of it. `own_units`: each KPI's (`kpi_id`)
    `own_unit`; `measured`: `measured_pairs`; `rolled`: `rolled_up`."""
    keys = ["kpi_id", "unit_id"]
    flags = (
        requests.lazy()
        .select(*keys, "formula")
        .join(own_units.lazy(), on="kpi_id", how="left", maintain_order="left")
        .join(
            measured.lazy().with_columns(measured=pl.lit(True)),
            on=keys,
            how="left",
            maintain_order="left",
        )
        .join(
            rolled.lazy().with_columns(rolled=pl.lit(True)),
            on=keys,
            how="left",
            maintain_order="left",
        )
        .select(
            ~pl.col("formula")
            & pl.col("rolled").is_null()
            & (pl.col("measured").fill_null(False) | (pl.col("unit_id") == pl.col("own_unit")))
        )
        .collect()
        .to_series()
    )
    return flags.fill_null(False).to_list()


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
    are aggregated as the value table does (`period_aggregates`).

    `measurements` has each period's first day (`period_start`), its label (`period`) or
    neither: the labels are needed only where two measurements of a period end on one day
    (else `LabelsNeeded` is raised), and reading them for millions of rows costs time."""
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
    # Only the keys, the row's place and its value as a period of one measurement go through
    # the join and the sort; the few periods of several measurements gather the rest after.
    rows = (
        measurements.lazy()
        .select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("at"),
            "kpi_id",
            "unit_id",
            "period_end",
            "value",
            "numerator",
            "denominator",
        )
        .join(info.lazy(), on=["kpi_id", "unit_id"], how="inner")
        .with_columns(step=step)
        .filter(pl.col("step") <= pl.col("last_step"))
        .select(
            # Series and step in one integer, the order of the sort: a sort on one key
            # costs a third of one on two.
            key=pl.col("series") * _SERIES + pl.col("step") + _STEP_OFFSET,
            at="at",
            # The value of a period of this one measurement: every aggregate is the
            # measurement (a sum of nothing is 0, as in the group-by), picked by the rule of
            # `period_value`; periods of several measurements are aggregated apart.
            single=pl.when(scale.is_not_null())
            .then(
                pl.when(denominator.fill_null(0.0) != 0).then(
                    unsigned(scale * numerator.fill_null(0.0) / denominator.fill_null(0.0))
                )
            )
            .when(pl.col("summed"))
            .then(value.fill_null(0.0))
            .otherwise(value),
        )
        .sort("key")
        .collect()
    )
    key = rows["key"].to_numpy()
    series = key // _SERIES
    steps = key % _SERIES - _STEP_OFFSET
    new = np.ones(len(series), dtype=bool)
    new[1:] = (series[1:] != series[:-1]) | (steps[1:] != steps[:-1])
    single = rows["single"].to_numpy()  # NaN: no value
    if new.all():  # the common case: one measurement in every period
        return _windowed(series, steps, single, requests, shapes, k, windowed)
    heads = np.flatnonzero(new)
    sizes = np.diff(np.append(heads, len(series)))
    alone = np.repeat(sizes == 1, sizes)
    parts = [(series[alone], steps[alone], single[alone])]
    several = pl.DataFrame(
        {"series": series[~alone], "step": steps[~alone], "at": rows["at"].to_numpy()[~alone]}
    )
    dated = next((c for c in ("period_start", "period") if c in measurements.columns), None)
    gathered = measurements.select(
        *([] if dated is None else [dated]), "period_end", "value", "numerator", "denominator"
    )[several["at"].to_numpy()]
    several = pl.concat([several.select("series", "step"), gathered], how="horizontal")
    if dated == "period":
        several = _with_starts(several)
    elif dated is None:
        several = _unlabelled(several)
    per_series = requests.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("series"),
        pl.col("aggregation").alias("agg"),
        pl.col("ratio_scale").alias("scale"),
    )
    grouped = (
        period_aggregates(several.lazy(), ("series", "step"))
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


class LabelsNeeded(Exception):
    """Measurements read without their periods' labels (see `series_histories`) hold two of
    one KPI, unit and period end: their order within the period needs the labels."""


def _unlabelled(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` (of periods of several measurements, read without their labels) with a first
    day that orders them as the labels would: a period's rows are taken in the order of their
    ends, and of their first days only where two end on one day (`period_aggregates`), which
    cannot be told without the labels (`LabelsNeeded`)."""
    if rows.select(pl.struct("series", "period_end").is_duplicated().any()).item():
        raise LabelsNeeded
    return rows.with_columns(period_start=pl.col("period_end"))


def _with_starts(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` (with `period`, its label, and `period_end`) with each period's first day,
    `period_start`, as the store reads it (`store.measurements.with_starts`): worked out once
    for each distinct period."""
    periods = rows.select("period", "period_end").unique()
    starts = periods.with_columns(
        period_start=pl.Series(
            [start_of(label, end) for label, end in periods.iter_rows()], dtype=pl.Date
        )
    )
    return rows.join(starts, on=["period", "period_end"], how="left", maintain_order="left")


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
        size = int(part.count.sum())
        where = np.repeat(start[rows] - part.start, part.count) + np.arange(size)
        steps[where] = part.steps[:size]
        values[where] = part.values[:size]
    return Histories(start, count, steps, values)
