from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext


class ObjectiveWithoutDeadline(Rule):
    """An objective without a `deadline`.

    Why it matters:
        SMART objectives are time-bound. Without a deadline nobody can say whether the
        objective is on track, and forecasts have no date to project to.

    Bad:
        objectives:
          - {id: grow_share, title: Grow market share, level: strategic, unit: ti}

    Good:
        objectives:
          - {id: grow_share, title: Grow market share to 18%, level: strategic, unit: ti,
             deadline: 2027-12-31}
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for objective in ctx.org.objectives:
            if objective.deadline is None:
                yield ctx.finding(self, objective, f"objective '{objective.id}' has no deadline")
