from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Option, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext


class UnitOverload(Rule):
    """A unit with more KPIs of its own than `max` (default 7).

    Why it matters:
        Key performance indicators are the few that matter. A unit that tracks fifteen has
        stopped choosing; the vital few drown among the rest. Keep the key ones and demote
        the others to operational metrics outside the scorecard.

    Bad:
        # the emergency department has eight KPIs of its own while the limit is seven

    Good:
        # five KPIs at the emergency department; the rest moved to its teams or dropped
    """

    severity = Severity.WARNING
    options = (Option("max", 7, "The most KPIs one unit should have of its own."),)

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        limit = options["max"]
        counts = ctx.data.kpis.group_by("unit").agg(count=pl.len())
        units = ctx.data.units.select("id").join(counts, left_on="id", right_on="unit")
        for unit_id, count in units.filter(pl.col("count") > limit).iter_rows():
            yield ctx.finding(
                self,
                SubjectKind.UNIT,
                unit_id,
                f"unit '{unit_id}' has {count} KPIs of its own, more than {limit:g}",
            )
