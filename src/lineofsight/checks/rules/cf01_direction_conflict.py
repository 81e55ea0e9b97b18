from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        signs = {direction.value: sign for direction, sign in SIGN.items()}
        directions = ctx.data.kpis.select("id", "direction").filter(
            pl.col("direction").is_in(list(signs))
        )
        links = ctx.data.contributions.join(directions, left_on="kpi_id", right_on="id").join(
            directions.rename({"direction": "parent_direction"}), left_on="kpi", right_on="id"
        )
        effect_sign = pl.when(pl.col("effect") == m.Effect.POSITIVE.value).then(1).otherwise(-1)
        links = links.filter(  # only the links that conflict (few): their messages are made
            pl.col("direction").replace_strict(signs, return_dtype=pl.Int64) * effect_sign
            == -pl.col("parent_direction").replace_strict(signs, return_dtype=pl.Int64)
        )
        for kpi_id, parent_id, effect_name, direction, parent_direction in links.select(
            "kpi_id", "kpi", "effect", "direction", "parent_direction"
        ).iter_rows():
            moves = signs[direction] * (1 if effect_name == m.Effect.POSITIVE.value else -1)
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' is to {direction}, and with a "
                f"{effect_name} effect that makes '{parent_id}' "
                f"{_move(moves)}, but '{parent_id}' is to "
                f"{parent_direction}",
            )
        whole = ctx.whole
        latest = None
        if ctx.measurements is not None:
            read = {i for each in ctx.formula_inputs.values() for i in each}
            latest = ctx.measurements.latest({k: whole[k].unit for k in read})
        for formula_id, expr in ctx.formulas.items():
            parent = whole[formula_id]
            if parent.direction not in SIGN:
                continue
            inputs = ctx.formula_inputs[formula_id]
            # An input computed from another input is written out first (few formulas have
            # one: the others are taken as they are).
            nested = any(i in ctx.formulas for i in inputs)
            point, basis = _point(whole, latest, inputs)
            for input_id in inputs:
                child = whole[input_id]
                own = SIGN.get(child.direction)
                if own is None:
                    continue
                total = (
                    written_out(expr, input_id, ctx.formulas, frozenset({formula_id}))
                    if nested
                    else expr
                )
                if total is expr:
                    sign = partial_sign(expr, input_id, point)
                else:
                    leaves = tuple(r for r in references(total) if r in ctx.kpi_ids)
                    total_point, basis = _point(whole, latest, leaves)
                    sign = partial_sign(total, input_id, total_point)
                if sign != 0 and own * sign == -SIGN[parent.direction]:
                    yield ctx.finding(
                        self,
                        SubjectKind.KPI,
                        child.id,
                        f"KPI '{child.id}' is to {child.direction.value}, which makes "
                        f"'{parent.id}' = {parent.formula} {_move(own * sign)} (at {basis}), "
                        f"but '{parent.id}' is to {parent.direction.value}",
                    )


def _move(sign: int) -> str:
    return "rise" if sign > 0 else "fall"


def _point(
    kpis: Mapping[str, m.Kpi], latest: Mapping[str, float] | None, inputs: tuple[str, ...]
) -> tuple[dict[str, float], str]:
    """Where to take the derivative: latest values, else targets, else 1 for every input."""
    if latest is not None:
        found = {i: latest[i] for i in inputs if i in latest}
        if len(found) == len(inputs):
            return found, "the latest values"
    targets = {
        input_id: kpis[input_id].target.value  # type: ignore[union-attr]
        for input_id in inputs
        if kpis[input_id].target is not None
    }
    if len(targets) == len(inputs):
        return targets, "the targets"
    return dict.fromkeys(inputs, 1.0), "1 for every input"
