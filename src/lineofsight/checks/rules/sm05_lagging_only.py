from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain.graph import reachable_in
from lineofsight.domain.model import KpiType, Level
from lineofsight.domain.text import plural


class LaggingOnly(Rule):
    """A strategic objective measured, all the way down, only by lagging KPIs.

    The KPIs looked at are those supporting the objective or any objective below it, and
    every KPI that feeds them. It fires only when every one of them is typed `lagging`: a KPI
    without a `type` may be leading.

    Why it matters:
        Lagging KPIs report outcomes after the fact. With no leading indicator, the first
        sign of trouble is a missed result, when it is too late to act.

    Bad:
        kpis:
          - {id: revenue, type: lagging, supports: [grow_revenue], ...}
          - {id: margin, type: lagging, supports: [grow_revenue], ...}

    Good:
        kpis:
          - {id: revenue, type: lagging, supports: [grow_revenue], ...}
          - {id: pipeline_value, type: leading, contributes_to: [{kpi: revenue}], ...}
    """

    severity = Severity.INFO

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        # Objectives with some KPI below that is not (known to be) lagging are fine: find
        # them all in one pass upwards, and look closer only at the others.
        kpis = ctx.data.kpis
        lagging = pl.col("type") == KpiType.LAGGING.value
        leading = kpis.filter(~lagging.fill_null(False))["id"]
        above = ctx.kpis_above(leading)
        supported = ctx.data.supports.filter(pl.col("kpi_id").is_in(above.implode()))
        fine = ctx.objectives_up(supported["objective"].unique())
        strategic = ctx.data.objectives.filter(
            (pl.col("level") == Level.STRATEGIC.value) & ~pl.col("id").is_in(fine.implode())
        )["id"]
        lagging_ids = set(kpis.filter(lagging)["id"].to_list())
        supports = None
        for objective_id in strategic.to_list():
            if supports is None:
                supports = ctx.data.supports.select("objective", "kpi_id")
            objectives = reachable_in([objective_id], ctx.child_objectives)
            start = supports.filter(pl.col("objective").is_in(list(objectives)))["kpi_id"]
            below = ctx.kpis_feeding(start).to_list()
            if not below:
                continue  # AL02's business
            if any(k not in lagging_ids for k in below):
                continue
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"strategic objective '{objective_id}' is measured by "
                f"{plural(len(below), 'KPI')}, "
                "none of them leading",
            )
