from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext


class ObjectiveWithoutKpi(Rule):
    """An objective that no KPI measures, directly or through the objectives below it.

    Why it matters:
        What is not measured cannot be steered or scored: the objective will show "no data"
        for as long as it lives, and its parent's score silently leaves it out.

    Bad:
        objectives:
          - {id: partner_ecosystem, title: Build a partner ecosystem, level: tactical, ...}
        # no KPI supports partner_ecosystem or any objective below it

    Good:
        kpis:
          - id: partner_revenue_share
            ...
            supports: [partner_ecosystem]
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        measured: set[str] = set()
        for supported in ctx.supporters:
            current: str | None = supported
            while current is not None and current in ctx.objectives and current not in measured:
                measured.add(current)
                current = ctx.objectives[current].parent
        for objective in ctx.org.objectives:
            if objective.id in measured:
                continue
            has_children = bool(ctx.child_objectives.get(objective.id))
            extra = " or any objective below it" if has_children else ""
            yield ctx.finding(self, objective, f"no KPI measures objective '{objective.id}'{extra}")
