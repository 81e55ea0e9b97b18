"""The targets and scores of the scorecard's KPI rows (SPEC section 3), column-wise.

`kpi_targets` gives each KPI row's target for its period (an explicit period target, else the
glide path, else the final target; unit targets alike); `score_rows` its miss, score, status,
achievement and data state. The maths shared with single values is in `engine.scoring`.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import period_named
from lineofsight.engine.lag import AWAITING, OVERDUE, REPORTED
from lineofsight.engine.scoring import Columns, glide, tie_rounded
from lineofsight.engine.scoring import miss as miss_of_rows

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames


def _spans(labels: pl.Series, calendar: m.Calendar) -> pl.DataFrame:
    """Start and end of each distinct period name (few distinct names: parse each once)."""
    rows = []
    for label in labels.unique().drop_nulls().to_list():
        p: Period = period_named(label, calendar)
        rows.append((label, p.start, p.end))
    return pl.DataFrame(
        rows, schema={"label": pl.String, "start": pl.Date, "end": pl.Date}, orient="row"
    )


def _glide(
    target: pl.Expr, by: pl.Expr, base_value: pl.Expr, base_end: pl.Expr, end: pl.Expr
) -> pl.Expr:
    """SPEC section 3's targets, column-wise: no final target, none; no baseline, the final
    target; else its glide path (`scoring.glide`)."""
    return (
        pl.when(target.is_null())
        .then(None)
        .when(base_value.is_null())
        .then(target)
        .otherwise(glide(Columns, target, by, base_value, base_end, end))
    )


def kpi_targets(defs: DefinitionFrames, kpis: pl.DataFrame) -> pl.DataFrame:
    """The target of every KPI row at its period (`kpis` has each KPI's chosen period):
    kpi_id, unit_id, target."""
    spans = _spans_of(defs, kpis)
    own = kpis.select(
        pl.col("id").alias("kpi_id"),
        "unit_id",
        own_targets(defs, kpis, spans).alias("target"),
    )
    return pl.concat([own, unit_row_targets(defs, kpis, spans)])


def _spans_of(defs: DefinitionFrames, kpis: pl.DataFrame) -> pl.DataFrame:
    """Start and end of every period a target names (period targets, baselines)."""
    return _spans(
        pl.concat(
            [
                defs.period_targets["period"],
                kpis["baseline_period"],
                defs.unit_targets["baseline_period"],
            ]
        ),
        defs.calendar,
    )


def _overrides(defs: DefinitionFrames, kpis: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """The explicit period targets of the KPIs' chosen periods: kpi_id, scope ("" for the
    KPI's own unit, else the unit), override (the first of each KPI and scope), and row (the
    KPI's row in `kpis`)."""
    return (
        defs.period_targets.join(spans, left_on="period", right_on="label")
        .join(
            kpis.select(pl.col("id").alias("kpi_id"), "p_start", "p_end").with_row_index("row"),
            on="kpi_id",
        )
        .filter((pl.col("start") == pl.col("p_start")) & (pl.col("end") == pl.col("p_end")))
        .select(
            "kpi_id",
            pl.col("unit_id").alias("scope"),
            pl.col("value").alias("override"),
            "row",
        )
        .unique(subset=["kpi_id", "scope"], keep="first", maintain_order=True)
    )


def _base_end(label: pl.Expr, spans: pl.DataFrame) -> pl.Expr:
    """The last day of the period named `label` (a baseline's)."""
    return label.replace_strict(spans["label"], spans["end"], default=None, return_dtype=pl.Date)


def own_targets(
    defs: DefinitionFrames, kpis: pl.DataFrame, spans: pl.DataFrame | None = None
) -> pl.Series:
    """Each KPI's target at its own unit and chosen period, in the order of `kpis` (id,
    p_start, p_end, target_value, target_by, baseline_value, baseline_period)."""
    if spans is None:
        spans = _spans_of(defs, kpis)
    overrides = _overrides(defs, kpis, spans).filter(pl.col("scope") == "")
    target = _glide(
        pl.col("target_value"),
        pl.col("target_by"),
        pl.col("baseline_value"),
        _base_end(pl.col("baseline_period"), spans),
        pl.col("p_end"),
    )
    if overrides.is_empty():
        return kpis.select(target.alias("target")).to_series()
    # Each KPI's override put at its row (a KPI has one row), not joined by id.
    override = pl.repeat(None, kpis.height, dtype=overrides.schema["override"], eager=True).scatter(
        overrides["row"], overrides["override"]
    )
    return kpis.select(pl.coalesce(pl.lit(override), target).alias("target")).to_series()


def unit_row_targets(
    defs: DefinitionFrames, kpis: pl.DataFrame, spans: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The targets of the KPIs' rows at units with a target of their own (not the KPI's own
    unit), at the KPI's chosen period: kpi_id, unit_id, target."""
    at = defs.unit_targets.select("kpi_id", "unit_id").join(
        kpis.select(
            pl.col("id").alias("kpi_id"), "p_start", "p_end", pl.col("unit_id").alias("own_unit")
        ),
        on="kpi_id",
    )
    at = at.filter(pl.col("unit_id") != pl.col("own_unit")).drop("own_unit")
    return at.select("kpi_id", "unit_id", target=row_targets(defs, at, kpis, spans))


def row_targets(
    defs: DefinitionFrames,
    at: pl.DataFrame,
    kpis: pl.DataFrame,
    spans: pl.DataFrame | None = None,
) -> pl.Series:
    """The target of each row `at` a unit other than its KPI's own (kpi_id, unit_id, and the
    row's period: p_start, p_end), in the order of `at`: the unit's target at that period
    (an explicit period target of the unit first), none without a unit target. `kpis`: the
    KPIs whose targets' periods are named (baseline_period)."""
    if defs.unit_targets.is_empty() or at.is_empty():
        return pl.repeat(None, at.height, dtype=pl.Float64, eager=True).alias("target")
    if spans is None:
        spans = _spans_of(defs, kpis)
    overrides = (
        defs.period_targets.filter(pl.col("unit_id") != "")
        .join(spans, left_on="period", right_on="label")
        .select(
            "kpi_id",
            "unit_id",
            pl.col("start").alias("p_start"),
            pl.col("end").alias("p_end"),
            pl.col("value").alias("override"),
        )
        .unique(subset=["kpi_id", "unit_id", "p_start", "p_end"], keep="first", maintain_order=True)
    )
    keys = ["kpi_id", "unit_id"]
    return (
        at.select(*keys, "p_start", "p_end")
        .join(
            defs.unit_targets.unique(subset=keys, keep="first", maintain_order=True).with_columns(
                has_target=pl.lit(True)
            ),
            on=keys,
            how="left",
            maintain_order="left",
        )
        .join(overrides, on=[*keys, "p_start", "p_end"], how="left", maintain_order="left")
        .select(
            pl.when(pl.col("has_target"))
            .then(
                pl.coalesce(
                    "override",
                    _glide(
                        pl.col("value"),
                        pl.col("by_date"),
                        pl.col("baseline_value"),
                        _base_end(pl.col("baseline_period"), spans),
                        pl.col("p_end"),
                    ),
                )
            )
            .alias("target")
        )
        .to_series()
    )


def score_rows(rows: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Each KPI row's miss, score, status, achievement and data state, in the scorecard's
    order and columns."""
    is_range = pl.col("direction") == "range"
    target = (
        pl.when(is_range)
        .then((pl.col("range_low") + pl.col("range_high")) / 2)
        .otherwise(pl.col("target"))
    )
    # Rows in the scorecard's order already (each KPI's own row, by position: a scorecard
    # of no other unit's rows) need no sort.
    position = rows["position"]
    ordered = (
        bool(rows["own_unit"].all())
        and position.null_count() == 0
        and bool((position.diff().slice(1) > 0).all())
    )
    # One query: nothing infinite or NaN goes into a score (SPEC: never NaN or infinite).
    lazy = rows.lazy().with_columns(
        target=pl.when(target.is_finite()).then(target),
        actual=pl.when(pl.col("actual").is_finite()).then(pl.col("actual")),
    )
    actual, target = pl.col("actual"), pl.col("target")
    miss = miss_of_rows(
        Columns, pl.col("direction"), actual, target, pl.col("range_low"), pl.col("range_high")
    ).clip(upper_bound=sys.float_info.max)
    tol = pl.coalesce(
        "tolerance_abs", pl.col("tolerance").fill_null(m.DEFAULT_TOLERANCE) * target.abs()
    )
    lazy = lazy.with_columns(miss=miss, tol=tol)
    lazy = lazy.with_columns(miss=tie_rounded(Columns, pl.col("miss"), pl.col("tol"), target))
    miss, tol = pl.col("miss"), pl.col("tol")
    score = (
        pl.when(tol == 0)
        .then(pl.when(miss == 0).then(100.0).otherwise(0.0))
        .otherwise((100.0 - 50.0 * (miss / tol)).clip(0.0, 100.0))  # as scoring.score_of
    )
    status = (
        pl.when(actual.is_null())
        .then(pl.lit("no_data"))
        .when(target.is_null())
        .then(pl.lit("no_target"))
        .when(miss == 0)
        .then(pl.lit("green"))
        .when(miss <= tol)
        .then(pl.lit("amber"))
        .otherwise(pl.lit("red"))
    )
    known = actual.is_not_null() & target.is_not_null()
    achievement = (
        pl.when(pl.col("direction") == "decrease")
        .then(pl.when(actual != 0).then(target / actual))
        .otherwise(pl.when(target != 0).then(actual / target))
    )
    achievement = pl.when(achievement.is_finite()).then(achievement)
    lazy = lazy.with_columns(
        status=status,
        score=pl.when(known).then(score),
        miss=pl.when(known).then(miss),
        achievement=pl.when(known).then(achievement),
        data=pl.when(actual.is_not_null())
        .then(pl.lit(REPORTED))
        .when(pl.col("due") <= as_of)
        .then(pl.lit(OVERDUE))
        .otherwise(pl.lit(AWAITING)),
    )
    if not ordered:
        lazy = lazy.sort("position", pl.col("own_unit").not_(), "unit_id")
    return lazy.select(
        pl.col("kpi_id").alias("id"),
        pl.col("unit_id").alias("unit"),
        "period",
        "actual",
        "target",
        "miss",
        "score",
        "status",
        "achievement",
        "own_unit",
        "due",
        "data",
        "last_value",
        "last_period",
    ).collect()
