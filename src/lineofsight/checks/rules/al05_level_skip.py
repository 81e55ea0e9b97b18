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
        # Levels as plain ranks, looked up once per item: this runs over every link.
        objective_rank = {o.id: _RANK[o.level] for o in ctx.org.objectives}
        kpi_rank = {k.id: _RANK[k.level] for k in ctx.org.kpis if k.level is not None}
        for objective in ctx.org.objectives:
            parent_rank = objective_rank.get(objective.parent or "")
            if parent_rank is not None:
                problem = _PROBLEM[objective_rank[objective.id]][parent_rank]
                if problem:
                    parent = ctx.objectives[objective.parent or ""]
                    yield ctx.finding(
                        self,
                        objective,
                        f"{objective.level.value} objective '{objective.id}' has the "
                        f"{parent.level.value} parent '{parent.id}': {problem}",
                    )
        for kpi in ctx.org.kpis:
            own = kpi_rank.get(kpi.id)
            if own is None:
                continue
            problems = _PROBLEM[own]
            for support in kpi.supports:
                target_rank = objective_rank.get(support.objective)
                if target_rank is None or not problems[target_rank]:
                    continue
                target = ctx.objectives[support.objective]
                yield ctx.finding(
                    self,
                    kpi,
                    f"{kpi.level.value} KPI '{kpi.id}' supports the {target.level.value} "  # type: ignore[union-attr]
                    f"objective '{target.id}': {problems[target_rank]}",
                )
            for link in kpi.contributes_to:
                above_rank = kpi_rank.get(link.kpi)
                if above_rank is None or not problems[above_rank]:
                    continue
                above = ctx.kpis[link.kpi]
                yield ctx.finding(
                    self,
                    kpi,
                    f"{kpi.level.value} KPI '{kpi.id}' contributes to the "  # type: ignore[union-attr]
                    f"{above.level.value} KPI '{above.id}': {problems[above_rank]}",  # type: ignore[union-attr]
                )


_RANK = {m.Level.STRATEGIC: 0, m.Level.TACTICAL: 1, m.Level.OPERATIONAL: 2}


def _skip(source: m.Level, target: m.Level) -> str | None:
    if source is m.Level.OPERATIONAL and target is m.Level.STRATEGIC:
        return "it skips the tactical level"
    if target.rank > source.rank:
        return "the link points to a lower level"
    return None


# _PROBLEM[source rank][target rank]: what is wrong with a link between those levels, if anything.
_PROBLEM = [[_skip(source, target) for target in _RANK] for source in _RANK]
