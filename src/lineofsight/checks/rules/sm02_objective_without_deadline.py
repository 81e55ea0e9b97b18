from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        undated = ctx.data.objectives.filter(pl.col("deadline").is_null())
        for objective_id in undated["id"].to_list():
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"objective '{objective_id}' has no deadline",
            )
