"""What a load reads of the definitions to check measurements against, inside the load's own
transaction: each KPI's columns that the checks need, the unit ids and the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from lineofsight.store.loading import LoadSession

# Every column without missing values, a flag beside each that may be missing (a result
# column that starts with missing values would read as integers through ADBC).
_RULES_SQL = (
    "SELECT id, unit_id, frequency, COALESCE(formula, ''), formula IS NULL, "
    "ratio_numerator IS NULL, COALESCE(ratio_scale, 0.0), bounds_min IS NULL, "
    "COALESCE(bounds_min, 0.0), bounds_max IS NULL, COALESCE(bounds_max, 0.0) FROM kpis"
)
_RULES_SCHEMA = {
    "id": pl.String,
    "unit_id": pl.String,
    "frequency": pl.String,
    "formula": pl.String,
    "no_formula": pl.Boolean,
    "no_ratio": pl.Boolean,
    "ratio_scale": pl.Float64,
    "no_min": pl.Boolean,
    "bounds_min": pl.Float64,
    "no_max": pl.Boolean,
    "bounds_max": pl.Float64,
}


@dataclass(frozen=True)
class RuleRows:
    """The definitions a load checks against, as stored.

    `kpis`: one tuple per KPI of id, unit_id, frequency, formula, ratio_numerator (an empty
    text when the KPI is a ratio, else None), ratio_scale, bounds_min, bounds_max.
    """

    fiscal_year_start: int
    kpis: list[tuple[Any, ...]]
    units: list[str]
    measures: dict[str, str]  # KPI id: its unit of measure, for the KPIs that have one
    sources: dict[str, str]  # KPI id: its `source` as JSON text, for the KPIs that have one


def read_rule_rows(session: LoadSession) -> RuleRows | None:
    """The rows a load checks against, or None before any apply."""
    fiscal = session.query("SELECT fiscal_year_start FROM organization", {"fiscal": pl.Int64})
    if fiscal.is_empty():
        return None

    def unless(flag: str, column: str | pl.Expr) -> pl.Expr:
        value = pl.col(column) if isinstance(column, str) else column
        return pl.when(pl.col(flag)).then(None).otherwise(value)

    kpis = (
        session.query(_RULES_SQL, _RULES_SCHEMA)
        .select(
            "id",
            "unit_id",
            "frequency",
            unless("no_formula", "formula").alias("formula"),
            unless("no_ratio", pl.lit("")).alias("ratio_numerator"),
            "ratio_scale",
            unless("no_min", "bounds_min").alias("bounds_min"),
            unless("no_max", "bounds_max").alias("bounds_max"),
        )
        .rows()
    )
    units = session.query("SELECT id FROM units", {"id": pl.String}).get_column("id")
    measures = session.query(
        "SELECT id, unit_of_measure FROM kpis WHERE unit_of_measure IS NOT NULL",
        {"id": pl.String, "unit_of_measure": pl.String},
    ).rows()
    sources = session.query(
        "SELECT id, CAST(source AS TEXT) FROM kpis WHERE source IS NOT NULL",
        {"id": pl.String, "source": pl.String},
    ).rows()
    return RuleRows(int(fiscal.item()), kpis, units.to_list(), dict(measures), dict(sources))
