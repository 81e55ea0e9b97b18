from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext


class MissingOwner(Rule):
    """An objective or KPI without an owner (an error when the owner is not a known person).

    Why it matters:
        What everyone owns, nobody owns. An owner is the person who explains the number,
        enters it and acts on it; a name that matches nobody in `people` is a typo or a
        person who has left.

    Bad:
        kpis:
          - {id: nps, name: Net Promoter Score, unit: cs, ...}            # no owner
          - {id: csat, name: CSAT, unit: cs, owner: sam_ortis, ...}       # not in people

    Good:
        kpis:
          - {id: nps, name: Net Promoter Score, unit: cs, owner: sam_ortiz, ...}
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        people = ctx.data.people["id"].implode()
        for kind, name, frame in (
            (SubjectKind.OBJECTIVE, "objective", ctx.data.objectives),
            (SubjectKind.KPI, "KPI", ctx.data.kpis),
        ):
            unowned = frame.filter(pl.col("owner").is_null() | ~pl.col("owner").is_in(people))
            for item_id, owner in unowned.select("id", "owner").iter_rows():
                if owner is None:
                    yield ctx.finding(self, kind, item_id, f"{name} '{item_id}' has no owner")
                else:
                    yield ctx.finding(
                        self,
                        kind,
                        item_id,
                        f"{name} '{item_id}' is owned by '{owner}', who is not in people",
                        severity=Severity.ERROR,
                    )
