from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext


class ActionOverdue(Rule):
    """An open action whose due date has passed.

    The finding is about the KPI or objective the action is on (and points at the action's
    line when the strategy file declares it: checking the store, while the file is the one
    applied). Actions entered in the web app or the API are checked when the store is; a
    strategy file is checked with the actions it declares.

    Why it matters:
        An action past its date is either done and not closed, or late and not re-planned.
        Either way the people reviewing the KPI read a promise that no longer holds: close
        it, drop it, or give it a new due date.

    Bad:
        actions:
          - {id: call_customers, kpi: revenue, title: Call the ten largest customers,
             due: 2026-05-31}   # as of 2026-06-15, still open

    Good:
        actions:
          - {id: call_customers, kpi: revenue, title: Call the ten largest customers,
             due: 2026-05-31, status: done}
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        actions = ctx.data.frames["actions"]
        late = actions.filter(
            (pl.col("status") == "open") & pl.col("due").is_not_null() & (pl.col("due") < ctx.as_of)
        )
        # On an item no longer defined, an action has nothing to point at.
        on_id, on_kind = pl.col("subject_id"), pl.col("subject_type")
        known = ((on_kind == "kpi") & on_id.is_in(ctx.data.kpis["id"].implode())) | (
            (on_kind == "objective") & on_id.is_in(ctx.data.objectives["id"].implode())
        )
        rows = late.filter(known).select("key", "subject_type", "subject_id", "title", "due")
        for key, kind, subject, title, due in rows.iter_rows():
            word = "KPI" if kind == "kpi" else "objective"
            # By its id when the strategy file declares it, else (made in the web app or the
            # API, with no id anyone typed) by its title.
            named = f"'{key}' ({title})" if key else f"'{title}'"
            finding = ctx.finding(
                self,
                SubjectKind.KPI if kind == "kpi" else SubjectKind.OBJECTIVE,
                subject,
                f"action {named} on {word} '{subject}' was due {due} and is still open",
            )
            # The action's own line when the strategy file declares it (else the item's).
            line = ctx.data.action_lines.get(key) if key else None
            if line and finding.location is not None:
                finding = dataclasses.replace(
                    finding, location=dataclasses.replace(finding.location, line=line)
                )
            yield finding
