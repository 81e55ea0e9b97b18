from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m


class MissingOwner(Rule):
    """An objective or KPI without an owner (an error when the owner is not a known person).

    Why it matters:
        What everyone owns, nobody owns. An owner is the person who explains the number,
        enters it and acts on it; a name that matches nobody in `people` is a typo or a
        person who has left.

    Bad:
        kpis:
          - {id: nps, name: Net Promoter Score, unit: cs, ...}            # no owner
          - {id: csat, name: CSAT, unit: cs, owner: sam_ortis, ...}       # not in people

    Good:
        kpis:
          - {id: nps, name: Net Promoter Score, unit: cs, owner: sam_ortiz, ...}
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        items: list[tuple[str, m.Objective | m.Kpi]] = [
            *(("objective", o) for o in ctx.org.objectives),
            *(("KPI", k) for k in ctx.org.kpis),
        ]
        for kind, item in items:
            if item.owner is None:
                yield ctx.finding(self, item, f"{kind} '{item.id}' has no owner")
            elif item.owner not in ctx.people:
                yield ctx.finding(
                    self,
                    item,
                    f"{kind} '{item.id}' is owned by '{item.owner}', who is not in people",
                    severity=Severity.ERROR,
                )
