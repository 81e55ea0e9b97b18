from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Option, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import evaluation_period


class StaleData(Rule):
    """A KPI with no value for its latest period that is due (ended `grace_days` ago or more).

    A period is due when its end plus `grace_days` is on or before the as-of date; without the
    option, `grace_days` is each KPI's `due_days` (else the calendar's, default 30), the
    reporting lag that `los status` uses. A value counts when it lies within that period, at the
    KPI's unit or, for a KPI derived across units, at a unit below it. A formula KPI is checked
    through its inputs. This rule needs the store's measurements; checking a bare strategy file
    skips it.

    Why it matters:
        A scorecard is only as good as its latest numbers. A KPI that stopped being updated
        still shows its old status, and decisions get made on last quarter's news.

    Bad:
        # hand_hygiene_pct (monthly) was last measured for 2026-05; as of 2026-11-22 the
        # periods up to 2026-10 are due

    Good:
        # hand_hygiene_pct has a value for 2026-10, its latest due period
    """

    severity = Severity.WARNING
    needs_data = True
    options = (
        Option(
            "grace_days",
            30,
            "Days after a period ends before its value is due; when not set, each KPI's"
            " `due_days` (else the calendar's).",
        ),
    )
    item_defaults = frozenset({"grace_days"})

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        if ctx.measurements is None:
            return
        given = options.get("grace_days")
        # A handful of (frequency, grace) pairs among many KPIs: each period is worked out once.
        periods: dict[tuple[m.Frequency, int], Period] = {}
        for kpi in ctx.org.kpis:
            grace = int(given) if given is not None else kpi.due_days_in(ctx.org.calendar)
            period = periods.get((kpi.frequency, grace))
            if period is None:
                due = ctx.as_of - dt.timedelta(days=grace)
                period = evaluation_period(kpi.frequency, due, ctx.org.calendar)
                periods[kpi.frequency, grace] = period
            if kpi.formula is None:
                if not _has_value(ctx, kpi, period):
                    yield ctx.finding(self, kpi, f"KPI '{kpi.id}' has no value for {period.label}")
                continue
            missing = sorted(
                leaf
                for leaf in ctx.graph.measured_inputs(kpi.id)
                if not _has_value(ctx, ctx.kpis[leaf], period)
            )
            if missing:
                yield ctx.finding(
                    self,
                    kpi,
                    f"KPI '{kpi.id}' cannot be computed for {period.label}: no value of "
                    + ", ".join(missing),
                )


def _has_value(ctx: CheckContext, kpi: m.Kpi, period: Period) -> bool:
    assert ctx.measurements is not None
    observations = ctx.measurements.get(kpi.id)
    if not observations:
        return False
    start, end = period.start, period.end
    # Plain loops over unpacked tuples: this runs for every KPI of the store.
    if kpi.effective_across_units is m.AcrossUnits.NONE:
        own = kpi.unit
        for unit, first, last, _value in observations:
            if unit == own and first >= start and last <= end:
                return True
        return False
    units = ctx.descendant_units(kpi.unit)
    for unit, first, last, _value in observations:
        if unit in units and first >= start and last <= end:
            return True
    return False
