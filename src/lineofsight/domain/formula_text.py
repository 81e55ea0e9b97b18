"""Printing a formula tree as its canonical text (`to_text`)."""

from __future__ import annotations

import math

from lineofsight.domain.formula_tree import BinOp, Expr, Neg, Number, Ref

_PRECEDENCE: dict[str, int] = {"+": 1, "-": 1, "*": 2, "/": 2}
_UNARY = 3
_ATOM = 4


def _is_negative(value: float) -> bool:
    return math.copysign(1.0, value) < 0


def _precedence(expr: Expr) -> int:
    if isinstance(expr, BinOp):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, Neg) or (isinstance(expr, Number) and _is_negative(expr.value)):
        return _UNARY
    return _ATOM


def _number_text(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"a formula cannot hold the number {value!r}")
    magnitude = abs(value)
    # Whole numbers read best without '.0'; past 1e16 the exponent form is shorter.
    text = str(int(magnitude)) if magnitude.is_integer() and magnitude < 1e16 else repr(magnitude)
    return "-" + text if _is_negative(value) else text


def _wrap(expr: Expr, parenthesise: bool) -> str:
    text = to_text(expr)
    return f"({text})" if parenthesise else text


def to_text(expr: Expr) -> str:
    """The canonical text of a formula, with only the parentheses its structure needs.

    `parse_formula(to_text(e)) == e` for every tree `parse_formula` returns. A hand-built
    negative `Number(-2)` prints as `-2`, which parses back as `Neg(Number(2))`.
    """
    if isinstance(expr, Number):
        return _number_text(float(expr.value))
    if isinstance(expr, Ref):
        return expr.id
    if isinstance(expr, Neg):
        return "-" + _wrap(expr.operand, _precedence(expr.operand) < _UNARY)
    if isinstance(expr, BinOp):
        own = _PRECEDENCE[expr.op]
        # Operators group left to right, so a right operand of equal precedence needs
        # parentheses to keep its place in the tree: `a - (b - c)`, and `a + (b + c)` too.
        left = _wrap(expr.left, _precedence(expr.left) < own)
        right = _wrap(expr.right, _precedence(expr.right) <= own)
        return f"{left} {expr.op} {right}"
    return f"{expr.func}({', '.join(to_text(arg) for arg in expr.args)})"
