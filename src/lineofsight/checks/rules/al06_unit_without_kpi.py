from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext


class UnitWithoutKpi(Rule):
    """A unit that has no KPI of its own.

    Why it matters:
        A unit without a KPI cannot see how it contributes, and its score is empty. This is
        often fine for a holding unit whose children carry the measures, which is why the
        rule is informational: suppress it per unit with `lint: {ignore: [AL06]}`.

    Bad:
        units:
          - {id: dev_relations, name: Developer Relations, level: team, parent: rnd}
        # no KPI has unit: dev_relations

    Good:
        kpis:
          - {id: community_contributions, ..., unit: dev_relations}
    """

    severity = Severity.INFO

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for unit in ctx.org.units:
            if not ctx.kpis_of_unit.get(unit.id):
                yield ctx.finding(self, unit, f"unit '{unit.id}' has no KPI of its own")
