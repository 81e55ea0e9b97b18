from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        fed = {i for inputs in ctx.formula_inputs.values() for i in inputs}
        linked = pl.concat(
            [ctx.data.supports["kpi_id"], ctx.data.contributions["kpi_id"], pl.Series(list(fed))]
        )
        alone = ctx.data.kpis.filter(~pl.col("id").is_in(linked.implode()))["id"]
        for kpi_id in alone.to_list():
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' supports no objective, contributes to no KPI and feeds no formula",
            )
