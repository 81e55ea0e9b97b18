"""A KPI's `across_units` on a frame of KPIs, for the engine and the checks alike."""

from __future__ import annotations

import polars as pl

from lineofsight.domain.model import ADDS_UP_ACROSS_UNITS, AcrossUnits


def across_units() -> pl.Expr:
    """A KPI's `across_units`, else what its aggregation implies (`ADDS_UP_ACROSS_UNITS`), as
    `Kpi.effective_across_units` says: over the columns `across_units` and `aggregation`
    (their values as written, null when not written)."""
    adds_up = sorted(a.value for a in ADDS_UP_ACROSS_UNITS)
    return pl.col("across_units").fill_null(
        pl.when(pl.col("aggregation").is_in(adds_up))
        .then(pl.lit(AcrossUnits.SUM.value))
        .otherwise(pl.lit(AcrossUnits.NONE.value))
    )
