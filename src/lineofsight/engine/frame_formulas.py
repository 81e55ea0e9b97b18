"""Formula KPIs evaluated on columns for the frame scorecard's derived values
(engine.frame_values): the formulas of one shape (`a - b`, `a / b * 100`) at once, as one
Polars expression with the evaluator's rules (domain.formula_eval)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from lineofsight.domain.formula_tree import BinOp, Call, Expr, Neg, Number, Ref

# A value's place: KPI, period (grain, fiscal or not, first day) and unit.
KEY = ("kpi_id", "grain", "fiscal", "p_start")
AT = (*KEY, "unit_id")
VALUES = {"value": pl.Float64, "num": pl.Float64, "den": pl.Float64}


def evaluate_level(
    demand: pl.DataFrame,
    edges: pl.DataFrame,
    values: pl.DataFrame,
    formulas: Mapping[str, Expr],
    reads: Mapping[str, tuple[str, ...]],
) -> pl.DataFrame:
    """The formulas of one level at their (period, unit)s, from the values known so far."""
    found = demand.join(edges, left_on="kpi_id", right_on="formula_id")
    known = values.select(*AT, "value")
    at_unit = known.rename({"kpi_id": "input_id", "value": "here"})
    at_own = known.rename({"kpi_id": "input_id", "unit_id": "input_own", "value": "there"})
    found = (
        found.join(at_unit, on=["input_id", *KEY[1:], "unit_id"], how="left", nulls_equal=True)
        .join(at_own, on=["input_id", *KEY[1:], "input_own"], how="left", nulls_equal=True)
        .select(*AT, "pos", pl.coalesce("here", "there").alias("x"))
    )
    shapes: dict[tuple[object, ...], list[str]] = {}
    for formula_id in demand["kpi_id"].unique().to_list():
        positions = _positions(reads[formula_id])
        shapes.setdefault(_shape(formulas[formula_id], positions), []).append(formula_id)
    parts = []
    for formula_ids in shapes.values():
        expr = formulas[formula_ids[0]]
        positions = _positions(reads[formula_ids[0]])
        rows = demand.filter(pl.col("kpi_id").is_in(formula_ids))
        mine = found.filter(pl.col("kpi_id").is_in(formula_ids))
        for pos in range(len(positions)):
            rows = rows.join(
                mine.filter(pl.col("pos") == pos).select(*AT, pl.col("x").alias(f"x{pos}")),
                on=list(AT),
                how="left",
                nulls_equal=True,
            )
        parts.append(
            rows.select(
                *AT, _compile(expr, positions).cast(pl.Float64).alias("value")
            ).with_columns(num=pl.lit(0.0), den=pl.lit(0.0))
        )
    if not parts:
        return pl.DataFrame(schema={**dict(values.select(*AT).schema), **VALUES})
    return pl.concat(parts, how="vertical_relaxed")


def _positions(inputs: tuple[str, ...]) -> dict[str, str]:
    """Each input of a formula with its column, in order of first appearance."""
    return {ref: f"x{pos}" for pos, ref in enumerate(inputs)}


def _shape(expr: Expr, positions: Mapping[str, str]) -> tuple[object, ...]:
    """The formula with its inputs replaced by their positions: formulas of one shape are
    evaluated together."""

    def walk(node: Expr) -> tuple[object, ...]:
        if isinstance(node, Number):
            return ("n", node.value)
        if isinstance(node, Ref):
            return ("r", positions[node.id])
        if isinstance(node, Neg):
            return ("-", walk(node.operand))
        if isinstance(node, BinOp):
            return (node.op, walk(node.left), walk(node.right))
        return (node.func, *(walk(arg) for arg in node.args))

    return walk(expr)


def _finite(value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_finite()).then(value)


def _compile(expr: Expr, columns: Mapping[str, str]) -> pl.Expr:
    """The formula as a Polars expression over its input columns, with the evaluator's rules
    (domain.formula_eval): null when an input is null, on division by zero, and when a step
    is not finite."""
    if isinstance(expr, Number):
        try:
            number = float(expr.value)
        except OverflowError:
            return pl.lit(None, dtype=pl.Float64)
        return _finite(pl.lit(number, dtype=pl.Float64))
    if isinstance(expr, Ref):
        return _finite(pl.col(columns[expr.id]))
    if isinstance(expr, Neg):
        return -_compile(expr.operand, columns)
    if isinstance(expr, BinOp):
        left, right = _compile(expr.left, columns), _compile(expr.right, columns)
        if expr.op == "+":
            return _finite(left + right)
        if expr.op == "-":
            return _finite(left - right)
        if expr.op == "*":
            return _finite(left * right)
        return pl.when(right != 0).then(_finite(left / right))
    assert isinstance(expr, Call)
    args = [_compile(arg, columns) for arg in expr.args]
    if expr.func == "abs":
        return args[0].abs()
    every = pl.all_horizontal(*(arg.is_not_null() for arg in args))
    # Python's min and max keep the first of equal values: min(0.0, -0.0) is 0.0, where
    # Polars' min_horizontal may give -0.0.
    picked = args[0]
    for arg in args[1:]:
        better = arg < picked if expr.func == "min" else arg > picked
        picked = pl.when(better).then(arg).otherwise(picked)
    return pl.when(every).then(picked)
