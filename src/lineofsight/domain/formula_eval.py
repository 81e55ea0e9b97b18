"""Evaluating a formula tree on input values (`evaluate`), and the sign of its partial
derivative (`partial_sign`, for direction checks)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from lineofsight.domain.formula_tree import BinOp, Expr, Neg, Number, Ref, references


class _NoValue(Exception):
    """Raised inside evaluation when the formula has no value at this point."""


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise _NoValue
    return value


def _input(values: Mapping[str, float], kpi_id: str) -> float:
    raw = values.get(kpi_id)
    if raw is None:
        raise _NoValue
    return _finite(float(raw))


def _value(expr: Expr, values: Mapping[str, float]) -> float:
    if isinstance(expr, Number):
        return _finite(float(expr.value))
    if isinstance(expr, Ref):
        return _input(values, expr.id)
    if isinstance(expr, Neg):
        return -_value(expr.operand, values)
    if isinstance(expr, BinOp):
        left = _value(expr.left, values)
        right = _value(expr.right, values)
        if expr.op == "+":
            return _finite(left + right)
        if expr.op == "-":
            return _finite(left - right)
        if expr.op == "*":
            return _finite(left * right)
        if right == 0:
            raise _NoValue
        return _finite(left / right)
    args = [_value(arg, values) for arg in expr.args]
    if expr.func == "min":
        return min(args)
    if expr.func == "max":
        return max(args)
    return abs(args[0])


def evaluate(expr: Expr, values: Mapping[str, float]) -> float | None:
    """The formula's value for the given input values, or None when it has no value.

    It has none when an input is missing (or None), on division by zero, and when a step
    overflows to infinity or NaN: a formula KPI then simply has no value for that period.
    """
    try:
        return _value(expr, values)
    except (_NoValue, OverflowError):
        return None


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _with_derivative(expr: Expr, ref: str, at: Mapping[str, float]) -> tuple[float, float]:
    """The value and the partial derivative with respect to `ref` (forward differentiation)."""
    if isinstance(expr, Number):
        return _finite(float(expr.value)), 0.0
    if isinstance(expr, Ref):
        return _input(at, expr.id), 1.0 if expr.id == ref else 0.0
    if isinstance(expr, Neg):
        value, slope = _with_derivative(expr.operand, ref, at)
        return -value, -slope
    if isinstance(expr, BinOp):
        u, du = _with_derivative(expr.left, ref, at)
        v, dv = _with_derivative(expr.right, ref, at)
        if expr.op == "+":
            return _finite(u + v), _finite(du + dv)
        if expr.op == "-":
            return _finite(u - v), _finite(du - dv)
        if expr.op == "*":
            return _finite(u * v), _finite(du * v + u * dv)
        if v == 0:
            raise _NoValue
        # (du v - u dv) / v², divided twice so that a tiny v does not underflow v² to zero.
        return _finite(u / v), _finite((du * v - u * dv) / v / v)
    pairs = [_with_derivative(arg, ref, at) for arg in expr.args]
    if expr.func == "abs":
        value, slope = pairs[0]
        if value == 0 and slope != 0:
            raise _NoValue  # the kink of abs: no derivative there
        return abs(value), _sign(value) * slope
    values = [value for value, _ in pairs]
    # The selected argument is the first that attains the min or max (ties: the first one).
    chosen = values.index(min(values) if expr.func == "min" else max(values))
    return pairs[chosen]


def partial_sign(expr: Expr, ref: str, at: Mapping[str, float]) -> int:
    """Whether raising KPI `ref` raises (+1), lowers (-1) or leaves (0) the formula at `at`.

    The sign of the partial derivative at the point `at` (a value for every input). For
    `min`/`max` the derivative is that of the argument selected at that point (the first one
    on a tie); `abs(x)` gives sign(x) times the derivative of x. Returns 0 when `ref` is not
    an input, or when the derivative is undefined there (division by zero, a missing input,
    the kink of `abs`).
    """
    if ref not in references(expr):
        return 0
    try:
        _, slope = _with_derivative(expr, ref, at)
    except (_NoValue, OverflowError):
        return 0
    return _sign(slope)
