"""The status each KPI had in the period before the one it is evaluated at, scored as the
scorecard scores (targets of `frame_scores.kpi_targets`, statuses of `frame_scores.score_rows`).

A scorecard row carries the latest value before its own period (`last_value`, `last_period`),
which is the period before's value when that period has one, so telling whether a KPI
*turned* red needs no second scorecard: only that value scored against that period's target.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, previous_period
from lineofsight.engine.calendar import period_named
from lineofsight.engine.frame_scores import kpi_targets, score_rows
from lineofsight.engine.frames import DefinitionFrames

__all__ = ["previous_statuses"]


def _previous_periods(labels: pl.Series, calendar: m.Calendar) -> pl.DataFrame:
    """Each distinct period label, the label of the period before it, and its first and last
    day (a few dozen labels, whatever the rows)."""
    rows = []
    for label in labels.unique().drop_nulls().to_list():
        try:
            before = previous_period(period_named(label, calendar), calendar)
        except PeriodError:  # before the first supported date: nothing to compare with
            continue
        rows.append((label, before.label, before.start, before.end))
    return pl.DataFrame(
        rows,
        schema={
            "period": pl.String,
            "previous": pl.String,
            "p_start": pl.Date,
            "p_end": pl.Date,
        },
        orient="row",
    )


def previous_statuses(defs: DefinitionFrames, rows: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """For KPI rows at their own unit (`rows`: id, period, last_value, last_period), the
    period before each one's and its status there: id, previous, previous_status
    (`no_data` when that period has no value)."""
    spans = _previous_periods(rows["period"], defs.calendar)
    at = rows.select("id", "period", "last_value", "last_period").join(spans, on="period")
    kpis = (
        defs.kpis.join(at.select("id", "p_start", "p_end", "previous"), on="id")
        .drop("period", strict=False)
        .rename({"previous": "period"})
    )
    targets = kpi_targets(defs, kpis)
    scored = (
        at.select(
            pl.col("id").alias("kpi_id"),
            # The last value is the previous period's when that period has one.
            pl.when(pl.col("last_period") == pl.col("previous"))
            .then(pl.col("last_value"))
            .alias("actual"),
        )
        .join(
            kpis.select(
                pl.col("id").alias("kpi_id"),
                "unit_id",
                "position",
                "period",
                "direction",
                "range_low",
                "range_high",
                "tolerance",
                "tolerance_abs",
            ),
            on="kpi_id",
        )
        .join(targets, on=["kpi_id", "unit_id"], how="left")
        .with_columns(
            own_unit=pl.lit(True),
            last_value=pl.lit(None, pl.Float64),
            last_period=pl.lit(None, pl.String),
            due=pl.lit(as_of, pl.Date),
        )
    )
    return score_rows(scored, as_of).select(
        "id", pl.col("period").alias("previous"), pl.col("status").alias("previous_status")
    )
