from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain.model import ObjectiveStatus


class ObjectivePastDeadline(Rule):
    """An objective whose deadline has passed but which is not closed.

    Why it matters:
        An expired objective still counts in its parent's score and still asks its owner for
        updates. Close it (`status: closed`) or give it a new deadline, so the strategy shows
        what is actually being pursued.

    Bad:
        objectives:
          - {id: launch_v2, title: Launch v2, deadline: 2025-06-30, ...}

    Good:
        objectives:
          - {id: launch_v2, title: Launch v2, deadline: 2025-06-30, status: closed, ...}
    """

    severity = Severity.INFO

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for objective in ctx.org.objectives:
            deadline = objective.deadline
            if deadline is None or objective.status is ObjectiveStatus.CLOSED:
                continue
            if deadline < ctx.as_of:
                yield ctx.finding(
                    self,
                    objective,
                    f"objective '{objective.id}' passed its deadline {deadline} and is not closed",
                )
