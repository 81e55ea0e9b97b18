from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Option, Rule, Severity
from lineofsight.checks.context import CheckContext


class PersonOverload(Rule):
    """A person who owns more KPIs than `max` (default 5).

    Why it matters:
        Attention is finite. Someone who owns a dozen KPIs reviews none of them properly,
        and the KPIs become reporting chores rather than levers. Delegate some to the people
        closer to the work.

    Bad:
        # claire owns six KPIs while the limit is five
        kpis:
          - {id: mql, owner: claire, ...}
          - {id: sql_rate, owner: claire, ...}
          # ... four more owned by claire

    Good:
        kpis:
          - {id: mql, owner: claire, ...}
          - {id: sql_rate, owner: jamal, ...}
    """

    severity = Severity.WARNING
    options = (Option("max", 5, "The most KPIs one person should own."),)

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        limit = options["max"]
        owned = Counter(k.owner for k in ctx.org.kpis if k.owner in ctx.people)
        for person in ctx.org.people:
            count = owned.get(person.id, 0)
            if count > limit:
                yield ctx.finding(
                    self, person, f"'{person.id}' owns {count} KPIs, more than {limit:g}"
                )
