from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain.model import Level


class BrokenLineOfSight(Rule):
    """An objective or KPI whose links up never reach a strategic objective.

    An objective is followed up its parents; a KPI along every link up (the objectives it
    supports, the KPIs it contributes to, the formulas it feeds). A KPI with no link at all
    is left to AL01.

    Why it matters:
        Line of sight is the point of a cascade: everyone should see how their work moves the
        strategy. A chain that stops short of a strategic objective is work whose purpose
        nobody at the top can see.

    Bad:
        objectives:
          - {id: reduce_backlog, title: Halve the backlog, level: operational, unit: plant}
        # no parent: the chain ends at an operational objective

    Good:
        objectives:
          - {id: reduce_backlog, ..., parent: asset_reliability}  # which has a strategic parent
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        objective_ok: dict[str, bool] = {}

        def objective_reaches(objective_id: str) -> bool:
            chain: list[str] = []
            current: str | None = objective_id
            result = False
            while current is not None and current in ctx.objectives:
                if current in objective_ok:
                    result = objective_ok[current]
                    break
                if current in chain:  # a cycle without a strategic objective: AL04 says more
                    break
                chain.append(current)
                objective = ctx.objectives[current]
                if objective.level is Level.STRATEGIC:
                    result = True
                    break
                current = objective.parent
            for visited in chain:
                objective_ok[visited] = result
            return result

        for objective in ctx.org.objectives:
            if not objective_reaches(objective.id):
                yield ctx.finding(
                    self,
                    objective,
                    f"objective '{objective.id}' does not lead up to a strategic objective",
                )

        kpi_ok: dict[str, bool] = {}
        for kpi in ctx.org.kpis:
            ups = _ups(ctx, kpi.id)
            if not ups[0] and not ups[1]:
                continue  # no link at all: AL01
            if not _kpi_reaches(ctx, kpi.id, kpi_ok, objective_reaches):
                yield ctx.finding(
                    self, kpi, f"no path up from KPI '{kpi.id}' reaches a strategic objective"
                )


def _ups(ctx: CheckContext, kpi_id: str) -> tuple[list[str], list[str]]:
    """Objectives and KPIs directly above a KPI."""
    kpi = ctx.kpis[kpi_id]
    objectives = [s.objective for s in kpi.supports if s.objective in ctx.objectives]
    kpis = [c.kpi for c in kpi.contributes_to if c.kpi in ctx.kpis]
    kpis.extend(ctx.formula_users.get(kpi_id, ()))
    return objectives, kpis


def _kpi_reaches(
    ctx: CheckContext,
    start: str,
    memo: dict[str, bool],
    objective_reaches: Callable[[str], bool],
) -> bool:
    if start in memo:
        return memo[start]
    # Search upwards; KPIs on a cycle that reach nothing else are settled as not reaching.
    seen: set[str] = set()
    stack = [start]
    found = False
    while stack and not found:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if memo.get(current):
            found = True
            break
        objectives, kpis = _ups(ctx, current)
        if any(objective_reaches(o) for o in objectives):
            found = True
            break
        stack.extend(k for k in kpis if k not in seen and memo.get(k) is not False)
    if found:
        memo[start] = True
    else:
        for visited in seen:
            memo[visited] = False
    return found
