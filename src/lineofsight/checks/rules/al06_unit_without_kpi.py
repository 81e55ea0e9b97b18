from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        units = ctx.data.units.filter(~pl.col("id").is_in(ctx.data.kpis["unit"].implode()))
        for unit_id in units["id"].to_list():
            yield ctx.finding(
                self, SubjectKind.UNIT, unit_id, f"unit '{unit_id}' has no KPI of its own"
            )
