"""Formula KPIs evaluated on columns for the frame scorecard's derived values
(engine.frame_values): the formulas of one shape (`a - b`, `a / b * 100`) at once, as one
Polars expression with the evaluator's rules (domain.formula_eval)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from lineofsight.domain.formula_parse import SUM_OF_IDS
from lineofsight.domain.formula_tree import BinOp, Call, Expr, Neg, Number, Ref, references

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


def formula_plans(
    texts: pl.DataFrame, formulas: Mapping[str, Expr]
) -> tuple[pl.DataFrame, list[str]]:
    """Each formula of `texts` (id, formula) with the KPIs it reads, in order of first
    appearance (`reads`: `formula_tree.references`), and the number of its shape (`shape`:
    formulas of one `_shape` are evaluated together), and one formula of each shape (by its
    number). Sums of distinct ids (`a + b - c`: the parser builds their trees straight from
    the text, `formula_parse.SUM_OF_IDS`) are read on columns, their shape one per order of
    signs; the others are parsed one by one (`formulas`)."""
    ids = r"[a-z][a-z0-9_]*"
    read = texts.select(
        "id",
        reads=pl.col("formula").str.extract_all(ids),
        signs=pl.col("formula").str.extract_all(r"[-+]").list.join(""),
        quick=pl.col("formula").str.contains(rf"\A(?:{SUM_OF_IDS})\z"),
    ).with_columns(
        quick=pl.col("quick") & (pl.col("reads").list.n_unique() == pl.col("reads").list.len())
    )
    numbers: dict[tuple[object, ...], int] = {}
    examples: list[str] = []

    def number(formula_id: str) -> int:
        expr = formulas[formula_id]
        shape = _shape(expr, _positions(references(expr)))
        if shape not in numbers:
            numbers[shape] = len(examples)
            examples.append(formula_id)
        return numbers[shape]

    quick = read.filter("quick")
    signs = quick.group_by("signs").agg(pl.col("id").first())
    by_signs = pl.DataFrame(
        [(s, number(f)) for s, f in signs.iter_rows()],
        schema={"signs": pl.String, "shape": pl.Int64},
        orient="row",
    )
    slow = read.filter(~pl.col("quick"))
    others = {f: references(formulas[f]) for f in slow["id"].to_list()}
    plans = pl.concat(
        [
            quick.join(by_signs, on="signs").select("id", "reads", "shape"),
            pl.DataFrame(
                {
                    "id": list(others),
                    "reads": [list(r) for r in others.values()],
                    "shape": [number(f) for f in others],
                },
                schema={"id": pl.String, "reads": pl.List(pl.String), "shape": pl.Int64},
            ),
        ]
    )
    return plans, examples


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
