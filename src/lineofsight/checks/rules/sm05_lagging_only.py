from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
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
        fine = ctx.objectives_above(k.id for k in ctx.org.kpis if k.type is not KpiType.LAGGING)
        for objective in ctx.org.objectives:
            if objective.level is not Level.STRATEGIC or objective.id in fine:
                continue
            below = ctx.kpis_below(objective.id)
            if not below:
                continue  # AL02's business
            if any(ctx.kpis[k].type is not KpiType.LAGGING for k in below):
                continue
            yield ctx.finding(
                self,
                objective,
                f"strategic objective '{objective.id}' is measured by "
                f"{plural(len(below), 'KPI')}, "
                "none of them leading",
            )
