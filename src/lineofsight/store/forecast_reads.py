"""What a forecast of the whole organisation reads of the definitions, as frames: each KPI's
target and what shapes its series, the unit targets and the units' tree (no domain objects:
building 100,000 KPIs as objects costs seconds)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import text

from lineofsight.store.arrow import read_frame
from lineofsight.store.database import Store

KPI_COLUMNS = {
    "id": pl.String,
    "position": pl.Int64,
    "unit_id": pl.String,
    "frequency": pl.String,
    "direction": pl.String,
    "aggregation": pl.String,
    "formula": pl.String,
    "ratio_scale": pl.Float64,
    "range_low": pl.Float64,
    "range_high": pl.Float64,
    "target_value": pl.Float64,
    "target_by": pl.Date,
    "bounds_min": pl.Float64,
    "bounds_max": pl.Float64,
}
UNIT_TARGET_COLUMNS = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "value": pl.Float64,
    "by_date": pl.Date,
}
UNIT_COLUMNS = {"id": pl.String, "parent_id": pl.String}


@dataclass(frozen=True, slots=True)
class ForecastDefinitions:
    """kpis: `KPI_COLUMNS`; unit_targets: `UNIT_TARGET_COLUMNS`; units: id, parent_id;
    the calendar's fiscal year start and due days."""

    kpis: pl.DataFrame
    unit_targets: pl.DataFrame
    units: pl.DataFrame
    fiscal_year_start: int
    due_days: int


def read_forecast_definitions(store: Store) -> ForecastDefinitions | None:
    """The definitions a forecast of every KPI reads; None before the first apply."""
    with store.reading() as conn:
        row = conn.execute(text("SELECT fiscal_year_start, due_days FROM organization")).first()
    if row is None:
        return None
    kpis, unit_targets, units = (
        read_frame(store, f"SELECT {', '.join(schema)} FROM {table}", [], schema)
        for table, schema in (
            ("kpis", KPI_COLUMNS),
            ("kpi_unit_targets", UNIT_TARGET_COLUMNS),
            ("units", UNIT_COLUMNS),
        )
    )
    return ForecastDefinitions(kpis, unit_targets, units, row[0], row[1])


# As stored: the period's label, not its first day (see `read_forecast_measurements`).
MEASUREMENT_COLUMNS = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "period_end": pl.Date,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


def read_forecast_measurements(store: Store, as_of: dt.date) -> pl.DataFrame:
    """Every measurement whose period ends by `as_of` (`MEASUREMENT_COLUMNS`). Without each
    period's first day (`measurements.with_starts`): the forecast needs it only for the
    periods of several measurements, and joining it onto millions of rows costs more than
    reading them."""
    query = f"SELECT {', '.join(MEASUREMENT_COLUMNS)} FROM measurements WHERE period_end <= {{}}"
    return read_frame(store, query, [as_of], MEASUREMENT_COLUMNS)
