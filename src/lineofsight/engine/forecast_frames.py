"""The histories that forecasts read, computed on data frames for large organisations.

`los forecast` for 100,000 KPIs cannot afford a value table (engine/values.py builds a Python
dict entry per value and period). For a measured KPI at a unit whose value is its own
measurements (no formula, no unit below it with values of that KPI), the history is a
group-by over the measurements, with the same period rules and aggregations as the value table
(`period_aggregates`, `period_value`); the caller forecasts every other KPI from a value table.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period, grain_of, period_of
from lineofsight.engine.calendar import evaluation_period, uses_fiscal
from lineofsight.engine.forecast import History
from lineofsight.engine.values import period_aggregates, period_value

__all__ = ["measured_histories", "own_only"]

_MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}
_EPOCH = dt.date(1970, 1, 1)
# Measurements grouped in one go, at most (see measured_histories), and the hash's seed.
_PART_ROWS = 400_000
_PARTS = 16
_SEED = 0


def own_only(org: m.Organization, measured_units: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The (KPI, unit) pairs whose values are the unit's own measurements only: a measured KPI
    at a unit none of whose descendants has measurements of it."""
    parents = {u.id: u.parent for u in org.units}
    found: set[tuple[str, str]] = set()
    for kpi in org.kpis:
        if kpi.formula is not None:
            continue
        units = measured_units.get(kpi.id, set())
        below: set[str] = set()
        for unit in units:
            parent = parents.get(unit)
            while parent is not None and parent not in below:
                below.add(parent)
                parent = parents.get(parent)
        found.update((kpi.id, u) for u in units if u not in below)
        if kpi.unit not in below:
            found.add((kpi.id, kpi.unit))
    return found


def measured_histories(
    org: m.Organization, measurements: pl.DataFrame, as_of: dt.date
) -> dict[tuple[str, str], History]:
    """The history of every measured KPI at every unit with measurements of it, from its
    own measurements, up to the KPI's evaluation period for `as_of`.

    Each measurement's period of the KPI's grain is an integer, its `step` (months since
    year 0 over the months in the period, fiscal years shifted; days or weeks since 1970),
    so that the group-by runs on integers rather than on dates made row by row."""
    calendar = org.calendar
    fiscal = uses_fiscal(calendar)
    shift = calendar.fiscal_year_start - 1 if fiscal else 0
    rows = []
    for kpi in org.kpis:
        if kpi.formula is not None:
            continue
        grain = grain_of(kpi.frequency)
        shifted = shift if fiscal and grain in (Grain.QUARTER, Grain.YEAR) else 0
        months = _MONTHS.get(grain, 0)
        days = 7 if grain is Grain.WEEK else 1
        last = evaluation_period(kpi.frequency, as_of, calendar).start
        rows.append(
            (
                kpi.id,
                int(grain),
                shifted,
                kpi.effective_aggregation.value,
                kpi.ratio.scale if kpi.ratio is not None else None,
                _step_of(last, months, days, shifted),
                months,
                days,
            )
        )
    info = pl.DataFrame(
        rows,
        schema={
            "kpi_id": pl.String,
            "grain": pl.Int8,
            "shift": pl.Int32,
            "agg": pl.String,
            "scale": pl.Float64,
            "last_step": pl.Int64,
            "months": pl.Int32,
            "days": pl.Int32,
        },
        orient="row",
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
    # Only small integers travel with every measurement; the aggregation and the ratio's
    # scale join the (far fewer) periods after the group-by.
    per_row = info.lazy().select("kpi_id", "shift", "last_step", "months", "days")
    per_kpi = info.lazy().select("kpi_id", "agg", "scale", "grain")
    result: dict[tuple[str, str], History] = {}
    # A few KPIs at a time (split by a hash of their id: every series stays whole): the sort
    # and group-by of 3 million measurements would otherwise need over a gigabyte at once.
    count = max(1, min(_PARTS, measurements.height // _PART_ROWS))
    if count > 1:
        part = (pl.col("kpi_id").hash(_SEED) % count).alias("part")
        parts = measurements.with_columns(part).partition_by("part", include_key=False)
    else:
        parts = [measurements]
    while parts:
        rows_of_part = parts.pop().lazy()
        joined = (
            rows_of_part.select(
                "kpi_id",
                "unit_id",
                "period_start",
                "period_end",
                "value",
                "numerator",
                "denominator",
            )
            .join(per_row, on="kpi_id", how="inner")
            .with_columns(step=step)
            .filter(pl.col("step") <= pl.col("last_step"))
        )
        grouped = (
            period_aggregates(joined, ("kpi_id", "unit_id", "step"), "shift", "months", "days")
            .lazy()
            .join(per_kpi, on="kpi_id", how="inner")
            .with_columns(value=period_value("scale"))
            .filter(pl.col("value").is_not_null())
            .select("kpi_id", "unit_id", "step", "grain", "shift", "months", "days", "value")
            .sort("kpi_id", "unit_id", "step")
            .collect()
        )
        result.update(_histories(grouped, calendar, fiscal))
    return result


def _histories(
    grouped: pl.DataFrame, calendar: m.Calendar, fiscal: bool
) -> dict[tuple[str, str], History]:
    """Histories from periods sorted by KPI, unit and step."""
    if grouped.is_empty():
        return {}
    heads = grouped.group_by("kpi_id", "unit_id", maintain_order=True).agg(
        pl.len().alias("count"),
        pl.first("step").alias("first"),
        pl.last("step").alias("last"),
        pl.first("grain"),
        pl.first("shift"),
        pl.first("months"),
        pl.first("days"),
    )
    values = grouped["value"].to_numpy()
    steps = grouped["step"].to_numpy().astype(np.int64)
    result: dict[tuple[str, str], History] = {}
    offset = 0
    for kpi_id, unit_id, count, first, last, grain, shifted, months, days in heads.iter_rows():
        end = offset + count
        span = steps[offset:end]
        result[(kpi_id, unit_id)] = History(
            _period(first, grain, shifted, months, days, calendar, fiscal),
            _period(last, grain, shifted, months, days, calendar, fiscal),
            span - span[0],
            values[offset:end],
        )
        offset = end
    return result


def _step_of(start: dt.date, months: int, days: int, shift: int) -> int:
    """The step (see `measured_histories`) of the period that starts on `start`."""
    if months:
        return (start.year * 12 + start.month - 1 - shift) // months
    index = (start - _EPOCH).days
    return (index + 3) // 7 if days == 7 else index


@lru_cache(maxsize=65536)
def _period(
    step: int, grain: int, shift: int, months: int, days: int, calendar: m.Calendar, fiscal: bool
) -> Period:
    """The period of a step (see `measured_histories`)."""
    if months:
        index = step * months + shift
        start = dt.date(index // 12, index % 12 + 1, 1)
    elif days == 7:
        start = _EPOCH + dt.timedelta(days=step * 7 - 3)
    else:
        start = _EPOCH + dt.timedelta(days=step)
    g = Grain(grain)
    return period_of(start, g, calendar, fiscal and g in (Grain.QUARTER, Grain.YEAR))
