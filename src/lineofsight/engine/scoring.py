"""Scores and statuses of KPIs, objectives and units (SPEC section 3; every number normative).

KPI: `miss` is how far the actual falls short of the target (0 when met; meeting exactly is
met); `tol = tolerance * |T|` (default 10%) or `tolerance_abs`; `score = clamp(100 - 50 *
miss / tol, 0, 100)`, and with `tol = 0`, 100 when met else 0. Green when the miss is 0, amber
while it is within the tolerance, red beyond.

Objectives and units: status bands on the score (`green_at`, `amber_at`; 90 and 50 by default).
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


def tolerance_of(kpi: m.Kpi, target: float) -> float:
    """The amber band's width for this target."""
    if kpi.tolerance_abs is not None:
        return kpi.tolerance_abs
    relative = kpi.tolerance if kpi.tolerance is not None else m.DEFAULT_TOLERANCE
    return relative * abs(target)


def score_of(miss: float, tol: float) -> float:
    """0..100; over-achievement is capped at 100 so one KPI cannot hide another's miss."""
    if tol == 0:
        return 100.0 if miss == 0 else 0.0
    # miss / tol first: at the edge of the band it is exactly 1, so the score is exactly 50
    # (50 * miss / tol can round to just above 50 and give an amber KPI a red score).
    return min(100.0, max(0.0, 100.0 - 50.0 * (miss / tol)))


def status_of(miss: float, tol: float) -> Status:
    if miss == 0:
        return Status.GREEN
    if miss <= tol:
        return Status.AMBER
    return Status.RED


def band_status(score: float | None, scoring: m.Scoring) -> Status:
    """An objective's or unit's status from its score."""
    if score is None:
        return Status.NO_DATA
    if score >= scoring.green_at:
        return Status.GREEN
    if score >= scoring.amber_at:
        return Status.AMBER
    return Status.RED


def achievement_of(direction: m.Direction, actual: float, target: float) -> float | None:
    """A / T (or T / A for decrease), for display beside the capped score."""
    if direction is m.Direction.DECREASE:
        return target / actual if actual else None
    return actual / target if target else None
