from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Option, Rule, Severity, SubjectKind
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
        owned = ctx.data.kpis.group_by("owner").agg(count=pl.len())
        people = ctx.data.people.select("id").join(
            owned, left_on="id", right_on="owner", maintain_order="left"
        )
        for person_id, count in people.filter(pl.col("count") > limit).iter_rows():
            yield ctx.finding(
                self,
                SubjectKind.PERSON,
                person_id,
                f"'{person_id}' owns {count} KPIs, more than {limit:g}",
            )
