from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain.text import plural


class BadWeights(Rule):
    """A negative weight, or an objective whose weights are all zero.

    Weights are those of `supports` links, of objectives in their parent, and of
    `contributes_to` links.

    Why it matters:
        A negative weight turns a KPI's success into its objective's failure, and an
        objective whose items all weigh zero cannot have a score at all.

    Bad:
        kpis:
          - {id: revenue, supports: [{objective: grow, weight: -1}], ...}

    Good:
        kpis:
          - {id: revenue, supports: [{objective: grow, weight: 2}], ...}
    """

    severity = Severity.ERROR

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for objective in ctx.org.objectives:
            if objective.weight < 0:
                where = f" in '{objective.parent}'" if objective.parent else ""
                yield ctx.finding(
                    self,
                    objective,
                    f"objective '{objective.id}' has the negative weight "
                    f"{objective.weight:g}{where}",
                )
        for kpi in ctx.org.kpis:
            for support in kpi.supports:
                if support.weight < 0:
                    yield ctx.finding(
                        self,
                        kpi,
                        f"KPI '{kpi.id}' supports '{support.objective}' with the negative "
                        f"weight {support.weight:g}",
                    )
            for link in kpi.contributes_to:
                if link.weight < 0:
                    yield ctx.finding(
                        self,
                        kpi,
                        f"KPI '{kpi.id}' contributes to '{link.kpi}' with the negative weight "
                        f"{link.weight:g} (use effect: negative for an inverse link)",
                    )
        for objective in ctx.org.objectives:
            weights = [s.weight for _, s in ctx.supporters.get(objective.id, ())]
            weights.extend(child.weight for child in ctx.child_objectives.get(objective.id, ()))
            if weights and all(w == 0 for w in weights):
                yield ctx.finding(
                    self,
                    objective,
                    f"all {plural(len(weights), 'weight')} under objective "
                    f"'{objective.id}' are zero: it can have no score",
                )
