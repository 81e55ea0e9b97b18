"""The histories that forecasts read, computed on data frames for large organisations.

`los forecast` for 100,000 KPIs cannot afford a value table (engine/values.py builds a Python
dict entry per value and period). For a measured KPI at a unit whose value is its own
measurements (no formula, no unit below it with values of that KPI), the history is a
group-by over the measurements, with the same period rules and aggregations as the value table
(`PERIOD_AGGREGATES`, `period_value`); the caller forecasts every other KPI from a value table.
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
from lineofsight.engine.values import PERIOD_AGGREGATES, _period_start_expr, period_value

__all__ = ["measured_histories", "own_only"]

_MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


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
    own measurements, up to the KPI's evaluation period for `as_of`."""
    calendar = org.calendar
    fiscal = uses_fiscal(calendar)
    shift = calendar.fiscal_year_start - 1 if fiscal else 0
    rows = []
    for kpi in org.kpis:
        if kpi.formula is not None:
            continue
        grain = grain_of(kpi.frequency)
        shifted = fiscal and grain in (Grain.QUARTER, Grain.YEAR)
        rows.append(
            (
                kpi.id,
                int(grain),
                shift if shifted else 0,
                kpi.effective_aggregation.value,
                kpi.ratio.scale if kpi.ratio is not None else None,
                evaluation_period(kpi.frequency, as_of, calendar).start,
                _MONTHS.get(grain, 0),
                7 if grain is Grain.WEEK else 1,
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
            "last_start": pl.Date,
            "months": pl.Int32,
            "days": pl.Int32,
        },
        orient="row",
    )
    start = pl.col("p_start")
    month_index = start.dt.year().cast(pl.Int64) * 12 + start.dt.month().cast(pl.Int64) - 1
    day_index = start.cast(pl.Int64)  # days since 1970-01-01 (a Thursday; weeks differ by 7)
    grouped = (
        measurements.lazy()
        .join(info.lazy(), on="kpi_id", how="inner")
        .with_columns(
            p_start=_period_start_expr(pl.col("grain"), pl.col("shift"), pl.col("period_end"))
        )
        .filter(pl.col("p_start") <= pl.col("last_start"))
        .sort("period_end", "period_start")
        .group_by("kpi_id", "unit_id", "p_start")
        .agg(
            pl.first("agg"),
            pl.first("scale"),
            pl.first("grain"),
            pl.first("shift"),
            pl.first("months"),
            pl.first("days"),
            *PERIOD_AGGREGATES,
        )
        .with_columns(value=period_value("scale"))
        .filter(pl.col("value").is_not_null())
        .with_columns(
            step=pl.when(pl.col("months") > 0)
            .then((month_index - pl.col("shift")) // pl.col("months"))
            .otherwise(day_index // pl.col("days"))
        )
        .sort("kpi_id", "unit_id", "p_start")
        .select("kpi_id", "unit_id", "p_start", "grain", "value", "step")
        .collect()
    )
    if grouped.is_empty():
        return {}
    heads = grouped.group_by("kpi_id", "unit_id", maintain_order=True).agg(
        pl.len().alias("count"),
        pl.first("p_start").alias("first"),
        pl.last("p_start").alias("last"),
        pl.first("grain"),
    )
    values = grouped["value"].to_numpy()
    steps = grouped["step"].to_numpy().astype(np.int64)
    result: dict[tuple[str, str], History] = {}
    offset = 0
    for kpi_id, unit_id, count, first, last, grain in heads.iter_rows():
        end = offset + count
        span = steps[offset:end]
        result[(kpi_id, unit_id)] = History(
            _period(first, grain, calendar, fiscal),
            _period(last, grain, calendar, fiscal),
            span - span[0],
            values[offset:end],
        )
        offset = end
    return result


@lru_cache(maxsize=65536)
def _period(start: dt.date, grain: int, calendar: m.Calendar, fiscal: bool) -> Period:
    g = Grain(grain)
    return period_of(start, g, calendar, fiscal and g in (Grain.QUARTER, Grain.YEAR))
