from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Option, Rule, Severity
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
        for unit in ctx.org.units:
            count = len(ctx.kpis_of_unit.get(unit.id, ()))
            if count > limit:
                yield ctx.finding(
                    self, unit, f"unit '{unit.id}' has {count} KPIs of its own, more than {limit:g}"
                )
