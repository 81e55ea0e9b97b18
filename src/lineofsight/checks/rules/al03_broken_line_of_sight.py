from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain.model import Level


class BrokenLineOfSight(Rule):
    """An objective or KPI whose links up never reach a strategic objective.

    An objective is followed up its parents; a KPI along every link up (the objectives it
    supports, the KPIs it contributes to, the formulas it feeds). A KPI with no link at all
    is left to AL01.

    Why it matters:
        Line of sight is the point of a cascade: everyone should see how their work moves the
        strategy. A chain that stops short of a strategic objective is work whose purpose
        nobody at the top can see.

    Bad:
        objectives:
          - {id: reduce_backlog, title: Halve the backlog, level: operational, unit: plant}
        # no parent: the chain ends at an operational objective

    Good:
        objectives:
          - {id: reduce_backlog, ..., parent: asset_reliability}  # which has a strategic parent
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        # An objective leads up to a strategic one when one of the objectives up its parents
        # (or itself) is strategic: spread "reaches" downwards from the strategic ones. A
        # cycle without a strategic objective leads nowhere (AL04 says more).
        objectives = ctx.data.objectives
        strategic = objectives.filter(pl.col("level") == Level.STRATEGIC.value)["id"]
        reaching = ctx.objectives_down(strategic)
        lost = objectives.filter(~pl.col("id").is_in(reaching.implode()))["id"]
        for objective_id in lost.to_list():
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"objective '{objective_id}' does not lead up to a strategic objective",
            )

        # A KPI reaches the top when it supports an objective that does, or when a KPI above
        # it does: spread "reaches" downwards from the supporting KPIs. Every known objective
        # was looked at above; an unknown one leads nowhere.
        supports = ctx.data.supports
        good = ctx.kpis_feeding(
            supports.filter(pl.col("objective").is_in(reaching.implode()))["kpi_id"]
        )
        linked = pl.concat([supports["kpi_id"], ctx.up_edges["from"]])
        broken = ctx.data.kpis.filter(
            pl.col("id").is_in(linked.implode()) & ~pl.col("id").is_in(good.implode())
        )["id"]
        for kpi_id in broken.to_list():
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"no path up from KPI '{kpi_id}' reaches a strategic objective",
            )
