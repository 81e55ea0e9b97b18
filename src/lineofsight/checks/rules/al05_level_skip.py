from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m


class LevelSkip(Rule):
    """A link that jumps from operational straight to strategic, or points down a level.

    The links looked at are `supports` (KPI to objective), objective `parent` and
    `contributes_to` (KPI to KPI). Formula inputs are identities, not cascade links, and are
    left alone. Items without a level are skipped.

    Why it matters:
        Strategic aims are reached through tactical ones: an operational measure tied straight
        to a strategic objective skips the layer where a department turns strategy into
        plans, so nobody in between owns the translation. A link that points down a level is
        upside down.

    Bad:
        kpis:
          - {id: calls_per_agent, level: operational, supports: [market_share], ...}
        # market_share is strategic

    Good:
        kpis:
          - {id: calls_per_agent, level: operational, supports: [service_quality], ...}
        # service_quality is tactical, with market_share as its parent
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for objective in ctx.org.objectives:
            parent = ctx.objectives.get(objective.parent or "")
            if parent is not None:
                problem = _skip(objective.level, parent.level)
                if problem:
                    yield ctx.finding(
                        self,
                        objective,
                        f"{objective.level.value} objective '{objective.id}' has the "
                        f"{parent.level.value} parent '{parent.id}': {problem}",
                    )
        for kpi in ctx.org.kpis:
            if kpi.level is None:
                continue
            for support in kpi.supports:
                target = ctx.objectives.get(support.objective)
                if target is None:
                    continue
                problem = _skip(kpi.level, target.level)
                if problem:
                    yield ctx.finding(
                        self,
                        kpi,
                        f"{kpi.level.value} KPI '{kpi.id}' supports the {target.level.value} "
                        f"objective '{target.id}': {problem}",
                    )
            for link in kpi.contributes_to:
                above = ctx.kpis.get(link.kpi)
                if above is None or above.level is None:
                    continue
                problem = _skip(kpi.level, above.level)
                if problem:
                    yield ctx.finding(
                        self,
                        kpi,
                        f"{kpi.level.value} KPI '{kpi.id}' contributes to the "
                        f"{above.level.value} KPI '{above.id}': {problem}",
                    )


def _skip(source: m.Level, target: m.Level) -> str | None:
    if source is m.Level.OPERATIONAL and target is m.Level.STRATEGIC:
        return "it skips the tactical level"
    if target.rank > source.rank:
        return "the link points to a lower level"
    return None
