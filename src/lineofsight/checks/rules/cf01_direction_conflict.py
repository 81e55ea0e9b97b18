from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m
from lineofsight.domain.formula import partial_sign, references, written_out

SIGN = {m.Direction.INCREASE: 1, m.Direction.DECREASE: -1}


class DirectionConflict(Rule):
    """A KPI whose improvement worsens a KPI above it.

    Through `contributes_to`: the link's `effect` (positive or negative) says how the parent
    moves when this KPI rises. Through a formula: the sign of the formula's derivative for
    this input, at the inputs' latest values, else at their targets, else at 1 for every
    input. Formula inputs computed from this KPI move with it, so they are written out first
    (`margin = profit / revenue` with `profit = revenue - costs` rises with revenue). Range
    KPIs have no single good direction and are skipped.

    Why it matters:
        When a team is asked to push its KPI one way and that pushes the company's KPI the
        other way, the cascade makes people work against the strategy, and they will be
        scored green for it.

    Bad:
        kpis:
          - {id: ccc, formula: dio + dso - dpo, direction: decrease, ...}
          - {id: dpo, direction: decrease, ...}   # lowering dpo raises ccc

    Good:
        kpis:
          - {id: ccc, formula: dio + dso - dpo, direction: decrease, ...}
          - {id: dpo, direction: increase, ...}   # paying suppliers later lowers ccc
    """

    severity = Severity.ERROR
    reads_data = True  # the latest values, else the targets

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        for kpi in ctx.org.kpis:
            own = SIGN.get(kpi.direction)
            if own is None:
                continue
            for link in kpi.contributes_to:
                parent = ctx.kpis.get(link.kpi)
                if parent is None or parent.direction not in SIGN:
                    continue
                effect = 1 if link.effect is m.Effect.POSITIVE else -1
                if own * effect == -SIGN[parent.direction]:
                    yield ctx.finding(
                        self,
                        kpi,
                        f"KPI '{kpi.id}' is to {kpi.direction.value}, and with a "
                        f"{link.effect.value} effect that makes '{parent.id}' "
                        f"{_move(own * effect)}, but '{parent.id}' is to "
                        f"{parent.direction.value}",
                    )
        for formula_id, expr in ctx.formulas.items():
            parent = ctx.kpis[formula_id]
            if parent.direction not in SIGN:
                continue
            inputs = ctx.formula_inputs[formula_id]
            point, basis = _point(ctx, inputs)
            for input_id in inputs:
                child = ctx.kpis[input_id]
                own = SIGN.get(child.direction)
                if own is None:
                    continue
                total = written_out(expr, input_id, ctx.formulas, frozenset({formula_id}))
                if total is expr:
                    sign = partial_sign(expr, input_id, point)
                else:
                    leaves = tuple(r for r in references(total) if r in ctx.kpis)
                    total_point, basis = _point(ctx, leaves)
                    sign = partial_sign(total, input_id, total_point)
                if sign != 0 and own * sign == -SIGN[parent.direction]:
                    yield ctx.finding(
                        self,
                        child,
                        f"KPI '{child.id}' is to {child.direction.value}, which makes "
                        f"'{parent.id}' = {parent.formula} {_move(own * sign)} (at {basis}), "
                        f"but '{parent.id}' is to {parent.direction.value}",
                    )


def _move(sign: int) -> str:
    return "rise" if sign > 0 else "fall"


def _point(ctx: CheckContext, inputs: tuple[str, ...]) -> tuple[dict[str, float], str]:
    """Where to take the derivative: latest values, else targets, else 1 for every input."""
    if ctx.measurements is not None:
        latest: dict[str, float] = {}
        for input_id in inputs:
            unit = ctx.kpis[input_id].unit
            own = [
                o
                for o in ctx.measurements.get(input_id, ())
                if o.unit == unit and o.value is not None
            ]
            if own:
                value = max(own, key=lambda o: (o.end, o.start)).value
                assert value is not None
                latest[input_id] = value
        if len(latest) == len(inputs):
            return latest, "the latest values"
    targets = {
        input_id: ctx.kpis[input_id].target.value  # type: ignore[union-attr]
        for input_id in inputs
        if ctx.kpis[input_id].target is not None
    }
    if len(targets) == len(inputs):
        return targets, "the targets"
    return dict.fromkeys(inputs, 1.0), "1 for every input"
