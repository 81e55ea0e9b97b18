"""The formula tree: its nodes, the error a formula can raise, and walks over the tree
(the KPIs it reads, substitution, formulas written out in full).

`lineofsight.domain.formula` gathers the formula language's public names; this module is its
seam between parsing (`formula_parse`), printing (`formula_text`) and evaluating
(`formula_eval`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from lineofsight.domain.graph import reachable

BinaryOperator: TypeAlias = Literal["+", "-", "*", "/"]
FunctionName: TypeAlias = Literal["min", "max", "abs"]

# Deep enough for any formula a person writes; shallow enough that the recursive functions
# that parse, print and evaluate a tree stay far from Python's recursion limit.
MAX_DEPTH = 200


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric constant. Parsed numbers are never negative: `-2` is `Neg(Number(2))`."""

    value: float


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another KPI's value for the same period and unit."""

    id: str


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp:
    """One of the four arithmetic operations."""

    op: BinaryOperator
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    """A call of an allowed function: `min` and `max` (one or more args) or `abs` (one)."""

    func: FunctionName
    args: tuple[Expr, ...]


Expr: TypeAlias = Number | Ref | Neg | BinOp | Call


class FormulaError(ValueError):
    """A formula that cannot be accepted: what is wrong and the 1-based column where it is."""

    message: str
    column: int

    def __init__(self, message: str, column: int = 1) -> None:
        super().__init__(message, column)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


def references(expr: Expr) -> tuple[str, ...]:
    """The KPI ids a formula reads, in order of first appearance, each once."""
    seen: dict[str, None] = {}

    def walk(node: Expr) -> None:
        if isinstance(node, Ref):
            seen.setdefault(node.id, None)
        elif isinstance(node, Neg):
            walk(node.operand)
        elif isinstance(node, BinOp):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Call):
            for arg in node.args:
                walk(arg)

    walk(expr)
    return tuple(seen)


def substitute(expr: Expr, replacements: Mapping[str, Expr]) -> Expr:
    """`expr` with each reference to a KPI of `replacements` replaced by that expression."""
    if isinstance(expr, Ref):
        return replacements.get(expr.id, expr)
    if isinstance(expr, Neg):
        return Neg(substitute(expr.operand, replacements))
    if isinstance(expr, BinOp):
        return BinOp(
            expr.op, substitute(expr.left, replacements), substitute(expr.right, replacements)
        )
    if isinstance(expr, Call):
        return Call(expr.func, tuple(substitute(arg, replacements) for arg in expr.args))
    return expr


def written_out(
    expr: Expr, ref: str, formulas: Mapping[str, Expr], seen: frozenset[str] = frozenset()
) -> Expr:
    """`expr` with each input that is itself a formula computed from `ref` written out in full.

    A formula input is an identity: it cannot stay put while `ref` moves, so the effect of
    `ref` on `margin = profit / revenue` with `profit = revenue - costs` is the derivative of
    `(revenue - costs) / revenue`, not of `profit / revenue` alone. `formulas` holds the
    formulas of the formula KPIs; `expr` itself comes back when no input is computed from
    `ref`. A cycle of formulas (a broken file) is left as it is where it closes.
    """
    replacements: dict[str, Expr] = {}
    for name in references(expr):
        inner = formulas.get(name)
        if inner is None or name == ref or name in seen:
            continue
        if ref in reachable(
            references(inner), lambda k: references(formulas[k]) if k in formulas else ()
        ):
            replacements[name] = written_out(inner, ref, formulas, seen | {name})
    return substitute(expr, replacements) if replacements else expr
