from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from lineofsight.checks.base import Finding, Option, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.display import human
from lineofsight.domain import model as m
from lineofsight.domain.formula import evaluate
from lineofsight.domain.periods import Period, grain_of, next_period
from lineofsight.engine.calendar import evaluation_period, period_for
from lineofsight.engine.targets import kpi_target

AGGREGATE: dict[m.Aggregation, Callable[[list[float]], float]] = {
    m.Aggregation.SUM: sum,
    m.Aggregation.MEAN: lambda values: sum(values) / len(values),
    m.Aggregation.LAST: lambda values: values[-1],
    m.Aggregation.MIN: min,
    m.Aggregation.MAX: max,
}

COMBINE: dict[m.AcrossUnits, Callable[[list[float]], float]] = {
    m.AcrossUnits.SUM: sum,
    m.AcrossUnits.MEAN: lambda values: sum(values) / len(values),
    m.AcrossUnits.MIN: min,
    m.AcrossUnits.MAX: max,
}


class TargetsDoNotAddUp(Rule):
    """Child targets that, even when all met, miss the parent's target.

    Two cases, at the KPI's evaluation period: the unit targets of a KPI's child units,
    combined by its `across_units` (only when every child unit has one: a child without a
    target could make up any shortfall); and a formula KPI, whose inputs' targets over the
    period (a finer input's targets combined by its aggregation) put through the formula give
    the value it would reach.
    Differences within `relative_tolerance` (default 0.1%) of the parent target are ignored.
    Range KPIs are skipped.

    Why it matters:
        If every team hits its number and the company still misses, the plan was wrong from
        the start, and the gap shows up only at year end. Targets should add up.

    Bad:
        kpis:
          - {id: ccc, formula: dio + dso - dpo, direction: decrease, target: {value: 50, ...}}
          - {id: dio, target: {value: 68, ...}}
          - {id: dso, target: {value: 52, ...}}
          - {id: dpo, target: {value: 58, ...}}   # 68 + 52 - 58 = 62 > 50

    Good:
        kpis:
          - {id: dpo, target: {value: 70, ...}}   # 68 + 52 - 70 = 50
    """

    severity = Severity.WARNING
    options = (
        Option(
            "relative_tolerance",
            0.001,
            "Differences up to this fraction of the parent target are ignored.",
            integer=False,
        ),
    )

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        slack = float(options["relative_tolerance"])
        calendar = ctx.calendar
        # Only a KPI with unit targets or a formula can miss: those are among the whole ones.
        for kpi in ctx.whole.values():
            if kpi.direction is m.Direction.RANGE or (kpi.target is None and not kpi.targets):
                continue
            if not kpi.unit_targets and kpi.id not in ctx.formulas:
                continue
            period = evaluation_period(kpi.frequency, ctx.as_of, calendar)
            goal = kpi_target(kpi, period, calendar)
            if goal is None:
                continue
            if kpi.unit_targets:
                combined = _children(ctx, kpi, period)
                if combined is not None and _misses(kpi.direction, combined[0], goal, slack):
                    yield ctx.finding(
                        self,
                        SubjectKind.KPI,
                        kpi.id,
                        f"the unit targets of {combined[1]} for '{kpi.id}' combine "
                        f"({kpi.effective_across_units.value}) to {human(combined[0], 6)}, "
                        f"which misses its target {human(goal, 6)} for {period.label}",
                    )
            expr = ctx.formulas.get(kpi.id)
            if expr is not None:
                inputs = ctx.formula_inputs[kpi.id]
                values: dict[str, float] = {}
                for input_id in inputs:
                    target = _input_target(ctx.whole[input_id], period, calendar)
                    if target is not None:
                        values[input_id] = target
                if len(values) < len(inputs):
                    continue
                implied = evaluate(expr, values)
                if implied is not None and _misses(kpi.direction, implied, goal, slack):
                    shown = ", ".join(f"{k} {human(v, 6)}" for k, v in values.items())
                    yield ctx.finding(
                        self,
                        SubjectKind.KPI,
                        kpi.id,
                        f"meeting the targets of its inputs ({shown}) gives '{kpi.id}' = "
                        f"{kpi.formula} = {human(implied, 6)}, which misses its target "
                        f"{human(goal, 6)} for {period.label}",
                    )


def _input_target(child: m.Kpi, period: Period, calendar: m.Calendar) -> float | None:
    """An input's target over the formula's period: its own periods' targets within it,
    combined by its aggregation (a finer input), else its target for the period that holds
    the formula period's end."""
    if grain_of(child.frequency) >= period.grain:
        return kpi_target(child, period_for(period.end, child.frequency, calendar), calendar)
    targets = []
    own = period_for(period.start, child.frequency, calendar)
    while own.end <= period.end:
        target = kpi_target(child, own, calendar)
        if target is None:
            return None
        targets.append(target)
        own = next_period(own, calendar)
    if not targets:
        return None
    return AGGREGATE[child.effective_aggregation](targets)


def _children(ctx: CheckContext, kpi: m.Kpi, period: Period) -> tuple[float, str] | None:
    combine = COMBINE.get(kpi.effective_across_units)
    if combine is None:
        return None
    children = ctx.child_units.get(kpi.unit, [])
    with_targets = {unit_id for unit_id, _ in kpi.unit_targets}
    if not children or any(child not in with_targets for child in children):
        return None  # a child without a target could make up any shortfall
    values = []
    for unit_id in children:
        value = kpi_target(kpi, period, ctx.calendar, unit=unit_id)
        if value is None:
            return None
        values.append(value)
    names = children
    return float(combine(values)), ", ".join(names)


def _misses(direction: m.Direction, value: float, goal: float, slack: float) -> bool:
    margin = slack * abs(goal)
    if direction is m.Direction.INCREASE:
        return value < goal - margin
    return value > goal + margin
