"""What a load checks measurements against: each KPI's rules, the unit ids and the calendar,
read from the store inside the load's own transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import grain_of
from lineofsight.domain.sources import feeding_source
from lineofsight.store.definition_rows import source_of
from lineofsight.store.load_rules import read_rule_rows
from lineofsight.store.loading import LoadSession

# Units of measure that mean "percent": a cell shown as 89.3% loads as 89.3 for such a KPI.
_PERCENT_UNITS = frozenset({"%", "percent", "percentage", "pct", "per cent", "percentage points"})


def is_percent_unit(unit_of_measure: str | None) -> bool:
    """Whether a KPI's unit of measure is a percentage."""
    text = (unit_of_measure or "").strip().lower()
    return text in _PERCENT_UNITS or text.startswith("%") or text.endswith("%")


@dataclass(frozen=True, slots=True)
class KpiRules:
    """What a load checks a KPI's values against."""

    id: str
    unit: str
    frequency: m.Frequency
    formula: str | None = None
    ratio_scale: float | None = None  # None: not a ratio KPI
    bounds: m.Bounds | None = None
    measure: str | None = None  # unit_of_measure


_RULE_COLUMNS = (
    "id", "unit_id", "frequency", "formula", "ratio_numerator", "ratio_scale", "bounds_min",
    "bounds_max",
)  # fmt: skip


_RULE_NUMBERS = ("ratio_scale", "bounds_min", "bounds_max")


@dataclass(frozen=True)
class LoadRules:
    """The organisation as a load needs it: its KPIs' rules, unit ids and the calendar.

    `rows` are the KPIs' columns a load reads (`_RULE_COLUMNS`); the checks use them as a
    frame, and as `KpiRules` objects for the rows they look at one by one.
    """

    rows: list[tuple[Any, ...]]
    units: frozenset[str]
    calendar: m.Calendar
    measures: dict[str, str] = field(default_factory=dict)  # KPI id: its unit_of_measure
    last_day: dt.date | None = None  # periods ending after it take no value (None: any)
    fed: dict[str, str] = field(default_factory=dict)  # KPI id: the source its values come from

    def until(self, last_day: dt.date | None) -> LoadRules:
        """These rules, taking values only for periods that end on or before `last_day`."""
        return replace(self, last_day=last_day)

    @cached_property
    def kpis(self) -> dict[str, KpiRules]:
        kpis = {}
        for kpi_id, unit, frequency, formula, numerator, scale, low, high in self.rows:
            bounds = m.Bounds(low, high) if low is not None or high is not None else None
            ratio_scale = scale if numerator is not None else None
            kpis[kpi_id] = KpiRules(
                kpi_id,
                unit,
                m.Frequency(frequency),
                formula,
                ratio_scale,
                bounds,
                self.measures.get(kpi_id),
            )
        return kpis

    @cached_property
    def frame(self) -> pl.DataFrame:
        """One row per KPI: kpi, kpi_unit, kpi_grain, measured, scale, low, high."""
        grains = {f.value: int(grain_of(f)) for f in m.Frequency}
        rows = pl.DataFrame(
            self.rows,
            schema={
                name: pl.Float64 if name in _RULE_NUMBERS else pl.String for name in _RULE_COLUMNS
            },
            orient="row",
            strict=False,
        )
        return rows.select(
            pl.col("id").alias("kpi"),
            pl.col("unit_id").alias("kpi_unit"),
            pl.col("frequency").replace_strict(grains, return_dtype=pl.Int64).alias("kpi_grain"),
            pl.col("formula").is_null().alias("measured"),
            pl.when(pl.col("ratio_numerator").is_not_null())
            .then(pl.col("ratio_scale"))
            .alias("scale"),
            pl.col("bounds_min").alias("low"),
            pl.col("bounds_max").alias("high"),
        )


def read_load_rules(session: LoadSession) -> LoadRules | None:
    """The rules from the store (only the columns a load needs), or None before any apply.

    Read inside the load's own transaction, so that they are what the load writes against.
    """
    rows = read_rule_rows(session)
    if rows is None:
        return None
    formulas = {row[0] for row in rows.kpis if row[3] is not None}
    fed = {
        kpi_id: name
        for kpi_id, text in rows.sources.items()
        if (name := feeding_source(kpi_id, source_of(text), kpi_id in formulas)) is not None
    }
    return LoadRules(
        rows.kpis,
        frozenset(rows.units),
        m.Calendar(rows.fiscal_year_start),
        rows.measures,
        fed=fed,
    )
