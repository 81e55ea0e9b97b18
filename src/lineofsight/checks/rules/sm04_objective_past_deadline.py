from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        past = ctx.data.objectives.filter(
            (pl.col("deadline") < ctx.as_of) & (pl.col("status") != ObjectiveStatus.CLOSED.value)
        )
        for objective_id, deadline in past.select("id", "deadline").iter_rows():
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"objective '{objective_id}' passed its deadline {deadline} and is not closed",
            )
