from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain.model import Direction
from lineofsight.engine.calendar import evaluation_period
from lineofsight.engine.targets import kpi_target


class KpiWithoutTarget(Rule):
    """A KPI with no target for the period it is evaluated in (range KPIs excepted).

    The evaluation period is the KPI's latest period that ends on or before the as-of date.

    Why it matters:
        Without a target a KPI has no score and no status: it cannot be green, amber or red,
        and the objectives it supports lose it from their score. "Measurable" in SMART
        means measured against something.

    Bad:
        kpis:
          - {id: churn_rate, name: Churn rate, unit: cs, frequency: monthly, direction: decrease}

    Good:
        kpis:
          - id: churn_rate
            ...
            baseline: {period: 2025-12, value: 3.1}
            target: {value: 2.0, by: 2027-12-31}
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        calendar = ctx.org.calendar
        for kpi in ctx.org.kpis:
            if kpi.direction is Direction.RANGE:
                continue
            if kpi.target is not None:
                continue  # a final target applies to every period
            if not kpi.targets:
                yield ctx.finding(self, kpi, f"KPI '{kpi.id}' has no target")
                continue
            period = evaluation_period(kpi.frequency, ctx.as_of, calendar)
            if kpi_target(kpi, period, calendar) is None:
                yield ctx.finding(
                    self, kpi, f"KPI '{kpi.id}' has no target for {period.label}, its period"
                )
