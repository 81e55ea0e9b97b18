"""The statuses a scorecard gives, and a KPI's miss for one value (SPEC section 3).

Scores and statuses of a whole scorecard are computed column-wise in `engine.frames` (KPIs) and
`engine.frame_rollups` (objectives and units); `miss_of` is the miss of a single value against
a target, for a forecast's projection (`engine.forecast`).
"""

from __future__ import annotations

from enum import StrEnum

from lineofsight.domain import model as m


class Status(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_DATA = "no_data"
    NO_TARGET = "no_target"


def miss_of(direction: m.Direction, actual: float, target: float, band: m.Range | None) -> float:
    """How far `actual` falls short of `target` (or of the range), never negative."""
    if direction is m.Direction.INCREASE:
        return max(0.0, target - actual)
    if direction is m.Direction.DECREASE:
        return max(0.0, actual - target)
    assert band is not None
    return max(0.0, band.low - actual, actual - band.high)
