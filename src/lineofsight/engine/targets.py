"""The target of a KPI for a period: explicit per-period values, else a glide path from the
baseline to the final target (day-weighted), else the final target (SPEC section 3)."""

from __future__ import annotations

from lineofsight.domain.model import Calendar, FinalTarget, Kpi, PeriodValue
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import period_named
from lineofsight.engine.scoring import Scalars, glide


def target_for_period(
    period: Period,
    final: FinalTarget | None,
    baseline: PeriodValue | None,
    overrides: tuple[tuple[str, float], ...],
    calendar: Calendar,
) -> float | None:
    """The target for `period`; None when there is no target at all."""
    for name, value in overrides:
        other = period_named(name, calendar)
        if other.start == period.start and other.end == period.end:
            return value
    if final is None:
        return None
    if baseline is None:
        return final.value
    base_end = period_named(baseline.period, calendar).end
    return float(glide(Scalars, final.value, final.by, baseline.value, base_end, period.end))


def kpi_target(
    kpi: Kpi, period: Period, calendar: Calendar, unit: str | None = None
) -> float | None:
    """A KPI's target for a period at its own unit, or at `unit` when that unit has a target."""
    if unit is not None and unit != kpi.unit:
        for unit_id, unit_target in kpi.unit_targets:
            if unit_id == unit:
                return target_for_period(
                    period,
                    FinalTarget(unit_target.value, unit_target.by),
                    unit_target.baseline,
                    unit_target.targets,
                    calendar,
                )
        return None
    return target_for_period(period, kpi.target, kpi.baseline, kpi.targets, calendar)
