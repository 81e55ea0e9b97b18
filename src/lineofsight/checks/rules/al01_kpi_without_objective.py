from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext


class KpiWithoutObjective(Rule):
    """A KPI that measures no objective, drives no KPI and feeds no formula.

    Why it matters:
        A KPI with no link to the strategy is measured for its own sake. It costs its owner
        time every period, and nobody above can see what it is for. Either link it to what it
        serves, or stop measuring it.

    Bad:
        kpis:
          - {id: social_followers, name: Social media followers, unit: mkt, ...}

    Good:
        kpis:
          - id: social_followers
            ...
            contributes_to: [{kpi: qualified_leads}]
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for kpi in ctx.org.kpis:
            if kpi.supports or kpi.contributes_to or ctx.formula_users.get(kpi.id):
                continue
            yield ctx.finding(
                self,
                kpi,
                f"KPI '{kpi.id}' supports no objective, contributes to no KPI and feeds no formula",
            )
