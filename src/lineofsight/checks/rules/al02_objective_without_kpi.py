from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        measured = ctx.objectives_up(ctx.data.supports["objective"].unique())
        unmeasured = ctx.data.objectives.filter(~pl.col("id").is_in(measured.implode()))["id"]
        for objective_id in unmeasured.to_list():
            has_children = bool(ctx.child_objectives.get(objective_id))
            extra = " or any objective below it" if has_children else ""
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"no KPI measures objective '{objective_id}'{extra}",
            )
