"""The statuses a scorecard gives, and the maths it shares between one value and a column.

Scores, statuses and roll-ups of a whole scorecard are computed column-wise in
`engine.frames` (KPIs) and `engine.frame_rollups` (objectives and units). The few formulas
also needed for a single value (a KPI's miss for a forecast's projection, a target's glide
path for a chart or a check) are written once here, over `Columns` or `Scalars`: the same
expression builds a Polars column for the scorecard and computes a float elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import polars as pl

from lineofsight.domain import model as m


class Status(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_DATA = "no_data"
    NO_TARGET = "no_target"


Thunk = Callable[[], Any]


class Scalars:
    """Plain values: a branch is taken by Python (only the one chosen is computed)."""

    @staticmethod
    def pick(condition: Any, then: Thunk, otherwise: Thunk) -> Any:
        return then() if condition else otherwise()

    @staticmethod
    def largest(*values: Any) -> Any:
        return max(values)

    @staticmethod
    def days(span: dt.timedelta) -> int:
        return span.days


class Columns:
    """Polars expressions: a branch is a `when/then/otherwise` over the rows."""

    @staticmethod
    def pick(condition: Any, then: Thunk, otherwise: Thunk) -> pl.Expr:
        return pl.when(condition).then(then()).otherwise(otherwise())

    @staticmethod
    def largest(*values: Any) -> pl.Expr:
        return pl.max_horizontal(*[pl.lit(v) if isinstance(v, float) else v for v in values])

    @staticmethod
    def days(span: Any) -> pl.Expr:
        return span.dt.total_days()  # type: ignore[no-any-return]


Ops = type[Scalars] | type[Columns]


def miss(ops: Ops, direction: Any, actual: Any, target: Any, low: Any, high: Any) -> Any:
    """How far `actual` falls short of `target` (or of the range `low..high`), never negative
    (SPEC section 3, "Miss"); meeting it exactly is met."""
    return ops.pick(
        direction == m.Direction.INCREASE.value,
        lambda: ops.largest(0.0, target - actual),
        lambda: ops.pick(
            direction == m.Direction.DECREASE.value,
            lambda: ops.largest(0.0, actual - target),
            lambda: ops.largest(0.0, low - actual, actual - high),
        ),
    )


def tie_rounded(ops: Ops, miss_value: Any, tol: Any, target: Any) -> Any:
    """A miss as scored (SPEC section 3, "Ties and rounding"): sums of decimals written by
    people are binary floating point (20.24 + 17.39 + 18.18 is 55.809999999999995), so a miss
    within `eps = 1e-9 * max(1, |T|)` of 0 is 0 (met), and one within `eps` of the
    tolerance is the tolerance (amber, score 50)."""
    eps = 1e-9 * ops.largest(1.0, abs(target))
    return ops.pick(
        miss_value <= eps,
        lambda: 0.0,
        lambda: ops.pick(abs(miss_value - tol) <= eps, lambda: tol, lambda: miss_value),
    )


def glide(ops: Ops, final: Any, by: Any, base: Any, base_end: Any, end: Any) -> Any:
    """The target for a period ending on `end`, on the way from a baseline `base` (its period
    ending on `base_end`) to the final target `final` by `by` (SPEC section 3, "Target for a
    period", rule 2): `final` from `by` on, `base` up to `base_end`, day-weighted between."""
    return ops.pick(
        end >= by,
        lambda: final,
        lambda: ops.pick(
            end <= base_end,
            lambda: base,
            lambda: base + (final - base) * ops.days(end - base_end) / ops.days(by - base_end),
        ),
    )


def miss_of(direction: m.Direction, actual: float, target: float, band: m.Range | None) -> float:
    """How far one value falls short of `target` (or of the range), never negative; 0 when
    within rounding of it (`tie_rounded`)."""
    low, high = (band.low, band.high) if band is not None else (None, None)
    raw = float(miss(Scalars, direction.value, actual, target, low, high))
    return 0.0 if raw <= 1e-9 * max(1.0, abs(target)) else raw
