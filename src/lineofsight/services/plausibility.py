"""Warnings for values that look like a typing slip, once they are stored (see
`engine.plausibility` for the rule): the same for every surface that writes values."""

from __future__ import annotations

import datetime as dt

import polars as pl

from lineofsight.engine.plausibility import KEYS, SERIES, implausible
from lineofsight.services.load_rules import LoadRules
from lineofsight.store.database import Store

WARNED = {**SERIES, "period": pl.String, "reason": pl.String}


def value_warnings(store: Store, rules: LoadRules, written: pl.DataFrame) -> pl.DataFrame:
    """The rows of `written` (kpi_id, unit_id, period, period_end, and any other column, kept)
    whose stored value looks like a slip against the KPI's earlier values at the unit, with
    the `reason`; read after the write (a warning, never a refusal)."""
    from lineofsight.store.scorecard_reads import read_older_measurement_rows

    if written.is_empty():
        return written.with_columns(reason=pl.lit(None, pl.String)).clear()
    pairs = written.select("kpi_id", "unit_id").unique()
    stored = read_older_measurement_rows(
        store, pairs["kpi_id"].unique().to_list(), dt.date.max
    ).join(pairs, on=["kpi_id", "unit_id"], how="semi")
    scales = rules.frame.select(kpi_id="kpi", scale="scale")
    # A ratio's value as the scorecard divides it (none for a zero denominator).
    ratio = pl.col("scale") * pl.col("numerator") / pl.col("denominator")
    series = stored.join(scales, on="kpi_id", how="left").select(
        "kpi_id",
        "unit_id",
        "period_end",
        value=pl.coalesce(
            "value", pl.when(pl.col("denominator") != 0).then(ratio.fill_null(pl.col("numerator")))
        ),
    )
    flagged = implausible(series, written)
    return written.join(flagged.select(*KEYS, "reason"), on=KEYS, how="left", maintain_order="left")
