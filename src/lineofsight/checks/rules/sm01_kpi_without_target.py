from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        calendar = ctx.calendar
        # A final target applies to every period; range KPIs need none.
        untargeted = ctx.data.kpis.filter(
            (pl.col("direction") != Direction.RANGE.value) & pl.col("target_value").is_null()
        )
        targeted = ctx.data.frames["period_targets"].filter(pl.col("unit") == "")["kpi_id"]
        by_period = pl.col("id").is_in(targeted.implode())
        for kpi_id in untargeted.filter(~by_period)["id"].to_list():
            yield ctx.finding(self, SubjectKind.KPI, kpi_id, f"KPI '{kpi_id}' has no target")
        for kpi_id in untargeted.filter(by_period)["id"].to_list():
            kpi = ctx.whole[kpi_id]
            period = evaluation_period(kpi.frequency, ctx.as_of, calendar)
            if kpi_target(kpi, period, calendar) is None:
                yield ctx.finding(
                    self,
                    SubjectKind.KPI,
                    kpi_id,
                    f"KPI '{kpi_id}' has no target for {period.label}, its period",
                )
