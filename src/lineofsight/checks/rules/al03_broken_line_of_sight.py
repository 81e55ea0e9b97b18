from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
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
        objective_ok: dict[str, bool] = {}

        def objective_reaches(objective_id: str) -> bool:
            chain: list[str] = []
            current: str | None = objective_id
            result = False
            while current is not None and current in ctx.objectives:
                if current in objective_ok:
                    result = objective_ok[current]
                    break
                if current in chain:  # a cycle without a strategic objective: AL04 says more
                    break
                chain.append(current)
                objective = ctx.objectives[current]
                if objective.level is Level.STRATEGIC:
                    result = True
                    break
                current = objective.parent
            for visited in chain:
                objective_ok[visited] = result
            return result

        for objective in ctx.org.objectives:
            if not objective_reaches(objective.id):
                yield ctx.finding(
                    self,
                    objective,
                    f"objective '{objective.id}' does not lead up to a strategic objective",
                )

        # A KPI reaches the top when it supports an objective that does, or when a KPI above
        # it does: spread "reaches" downwards from the supporting KPIs, once per KPI. Every
        # known objective was looked at above; an unknown one leads nowhere.
        reaches = objective_ok.get
        start = []
        for kpi in ctx.org.kpis:
            for support in kpi.supports:
                if reaches(support.objective, False):
                    start.append(kpi.id)
                    break
        good = ctx.graph.feeding(start)
        ups = ctx.kpi_ups
        for kpi in ctx.org.kpis:
            if kpi.id in good or not (kpi.supports or ups[kpi.id]):
                continue  # reaches the top, or has no link at all (AL01's business)
            yield ctx.finding(
                self, kpi, f"no path up from KPI '{kpi.id}' reaches a strategic objective"
            )
