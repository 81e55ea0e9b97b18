from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Option, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m
from lineofsight.domain.graph import reachable_in
from lineofsight.engine.calendar import evaluation_period
from lineofsight.engine.frame_values import across_units


class StaleData(Rule):
    """A KPI with no value for its latest period that is due (ended `grace_days` ago or more).

    A period is due when its end plus `grace_days` is on or before the as-of date; without the
    option, `grace_days` is each KPI's `due_days` (else the calendar's, default 30), the
    reporting lag that `los status` uses. A value counts when it lies within that period, at the
    KPI's unit or, for a KPI derived across units, at a unit below it. A formula KPI is checked
    through its inputs. This rule needs the store's measurements; checking a bare strategy file
    skips it.

    Why it matters:
        A scorecard is only as good as its latest numbers. A KPI that stopped being updated
        still shows its old status, and decisions get made on last quarter's news.

    Bad:
        # hand_hygiene_pct (monthly) was last measured for 2026-05; as of 2026-11-22 the
        # periods up to 2026-10 are due

    Good:
        # hand_hygiene_pct has a value for 2026-10, its latest due period
    """

    severity = Severity.WARNING
    needs_data = True
    options = (
        Option(
            "grace_days",
            30,
            "Days after a period ends before its value is due; when not set, each KPI's"
            " `due_days` (else the calendar's).",
        ),
    )
    item_defaults = frozenset({"grace_days"})

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        if ctx.measurements is None:
            return
        given = options.get("grace_days")
        grace = (
            pl.lit(int(given), pl.Int64)
            if given is not None
            else pl.col("due_days").fill_null(ctx.calendar.due_days)
        )
        kpis = ctx.data.kpis.select(
            "id", "unit", "frequency", "formula", across=across_units(), grace=grace
        )
        # A handful of (frequency, grace) pairs among many KPIs: each period is worked out once.
        pairs = kpis.select("frequency", "grace").unique(maintain_order=True)
        made = [
            evaluation_period(
                m.Frequency(frequency), ctx.as_of - dt.timedelta(days=days), ctx.calendar
            )
            for frequency, days in pairs.iter_rows()
        ]
        periods = pairs.with_columns(
            start=pl.Series([p.start for p in made], dtype=pl.Date),
            end=pl.Series([p.end for p in made], dtype=pl.Date),
            label=pl.Series([p.label for p in made], dtype=pl.String),
        )
        kpis = kpis.join(periods, on=["frequency", "grace"], how="left", maintain_order="left")
        # What is asked: each KPI's own value for its period, or a formula KPI's measured
        # inputs' values for the formula's period.
        measured = kpis.filter(pl.col("formula").is_null()).select(
            "id", "start", "end", "label", leaf="id"
        )
        computed = kpis.filter(pl.col("formula").is_not_null())
        leaves = [
            (kpi_id, leaf)
            for kpi_id in computed["id"].to_list()
            for leaf in ctx.measured_inputs(kpi_id)
        ]
        through = pl.DataFrame(
            {"id": [p[0] for p in leaves], "leaf": [p[1] for p in leaves]},
            schema={"id": pl.String, "leaf": pl.String},
        ).join(computed.select("id", "start", "end", "label"), on="id")
        asked = pl.concat([measured, through.select(measured.columns)]).join(
            kpis.select("id", "unit", "across"), left_on="leaf", right_on="id", suffix="_leaf"
        )
        found = _answered(ctx, asked)
        for kpi_id, label in (
            measured.join(found, on=["id", "leaf"], how="anti").select("id", "label").iter_rows()
        ):
            yield ctx.finding(
                self, SubjectKind.KPI, kpi_id, f"KPI '{kpi_id}' has no value for {label}"
            )
        missing = (
            through.join(found, on=["id", "leaf"], how="anti")
            .group_by("id", "label", maintain_order=True)
            .agg(pl.col("leaf").sort())
        )
        for kpi_id, label, absent in missing.iter_rows():
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' cannot be computed for {label}: no value of " + ", ".join(absent),
            )


def _answered(ctx: CheckContext, asked: pl.DataFrame) -> pl.DataFrame:
    """The (id, leaf) pairs asked that have a value within their period: at the leaf's unit,
    or, for a KPI derived across units, at a unit below it."""
    assert ctx.measurements is not None
    hits = asked.join(
        ctx.measurements.frame.select("kpi_id", "unit_id", "period_start", "period_end"),
        left_on="leaf",
        right_on="kpi_id",
    ).filter((pl.col("period_start") >= pl.col("start")) & (pl.col("period_end") <= pl.col("end")))
    own = hits.filter(pl.col("unit_id") == pl.col("unit")).select("id", "leaf")
    below = hits.filter(
        (pl.col("across") != m.AcrossUnits.NONE.value) & (pl.col("unit_id") != pl.col("unit"))
    )
    if below.is_empty():
        return own.unique()
    # A unit is below another when that one is among its ancestors (itself included).
    units = ctx.data.units.filter(pl.col("parent").is_not_null())
    up = {unit: [parent] for unit, parent in units.select("id", "parent").iter_rows()}
    pairs = [
        (unit, above)
        for unit in below["unit_id"].unique().to_list()
        for above in reachable_in([unit], up)
    ]
    ancestors = pl.DataFrame(
        {"unit_id": [p[0] for p in pairs], "unit": [p[1] for p in pairs]},
        schema={"unit_id": pl.String, "unit": pl.String},
    )
    within = below.join(ancestors, on=["unit_id", "unit"], how="semi").select("id", "leaf")
    return pl.concat([own, within]).unique()
