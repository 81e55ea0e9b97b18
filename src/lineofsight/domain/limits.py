"""How large a number a user may give: a KPI's value, a target, a weight.

Values beyond `MAX_MAGNITUDE` (a thousand trillion) are refused unless the KPI's bounds allow
them: no count, amount or rate a team measures comes near it, while a stray `1.7e308` would
make sums infinite and scores NaN. A KPI that truly needs larger values says so with its
`bounds` (`bounds: {max: 1e18}` lets values up to 1e18 in). Whatever comes in, the engine
still keeps every sum, score and forecast finite (a result that is not becomes no value).
"""

from __future__ import annotations

import math

from lineofsight.domain.model import Bounds

__all__ = [
    "MAX_MAGNITUDE",
    "allowed_range",
    "denominator_problem",
    "number_problem",
    "value_problem",
]

MAX_MAGNITUDE = 1e15


def allowed_range(bounds: Bounds | None) -> tuple[float, float]:
    """The lowest and highest value a KPI may take: its bounds, else the magnitude limit."""
    low = bounds.min if bounds is not None and bounds.min is not None else -MAX_MAGNITUDE
    high = bounds.max if bounds is not None and bounds.max is not None else MAX_MAGNITUDE
    return low, high


def value_problem(value: float, bounds: Bounds | None) -> str | None:
    """Why a KPI may not take `value` (not finite, outside its bounds, beyond the limit)."""
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if bounds is not None and not bounds.contains(value):
        shown_low = "-inf" if bounds.min is None else f"{bounds.min:g}"
        shown_high = "inf" if bounds.max is None else f"{bounds.max:g}"
        return f"{value:g} is outside the KPI's bounds [{shown_low}, {shown_high}]"
    low, high = allowed_range(bounds)
    if not low <= value <= high:
        return (
            f"{value:g} is beyond {MAX_MAGNITUDE:g} in size, the limit for a KPI's values "
            "(give the KPI bounds that allow it)"
        )
    return None


def number_problem(value: float) -> str | None:
    """Why a number that no bounds govern (a weight, a numerator) may not be `value`."""
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if abs(value) > MAX_MAGNITUDE:
        return f"{value:g} is beyond {MAX_MAGNITUDE:g} in size, the limit for numbers"
    return None


def denominator_problem(numerator: float, denominator: float) -> str | None:
    """Why a ratio KPI's measurement may not have `denominator` under `numerator`.

    A negative denominator counts nothing. A zero one is allowed only under a zero numerator:
    0 of 0 is a period with nothing to count, which a ratio of sums adds up without harm,
    while 890 of 0 is a mistake that would otherwise become no value without a word.
    """
    if denominator < 0:
        return f"{denominator:g} is negative"
    if denominator == 0 and numerator != 0:
        return (
            f"0 under the numerator {numerator:g} makes no ratio (give 0 and 0 for a period "
            "with nothing to count)"
        )
    return None
