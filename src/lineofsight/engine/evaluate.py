"""Evaluate a whole organisation as of a date: every KPI row, objective and unit.

Each KPI is evaluated at its latest own period that ends on or before the as-of date, at its
own unit and at every other unit that has a value of its own for it in that period or a unit
target; at a unit without a unit target, a row has no target (`no_target`): the KPI's own
target is for its own unit.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import evaluation_period
from lineofsight.engine.scoring import (
    Status,
    achievement_of,
    band_status,
    miss_of,
    score_of,
    status_of,
    tolerance_of,
)
from lineofsight.engine.targets import kpi_target
from lineofsight.engine.values import ValueTable, finite


@dataclass(frozen=True, slots=True)
class KpiResult:
    id: str
    unit: str
    period: Period
    actual: float | None
    target: float | None
    miss: float | None
    score: float | None
    status: Status
    achievement: float | None = None
    tolerance: float | None = None
    own_unit: bool = True


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    id: str
    score: float | None
    status: Status
    coverage: float


@dataclass(frozen=True, slots=True)
class UnitResult:
    id: str
    score: float | None
    status: Status
    kpis: int
    scored: int


@dataclass
class Evaluation:
    """The scorecard of an organisation as of a date."""

    as_of: dt.date
    kpis: list[KpiResult]
    objectives: list[ObjectiveResult]
    units: list[UnitResult]
    values: ValueTable = field(repr=False)

    def kpi(self, kpi_id: str, unit: str | None = None) -> KpiResult | None:
        for row in self.kpis:
            if row.id == kpi_id and (row.own_unit if unit is None else row.unit == unit):
                return row
        return None

    def kpi_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "id": r.id,
                    "unit": r.unit,
                    "period": r.period.label,
                    "period_end": r.period.end,
                    "actual": r.actual,
                    "target": r.target,
                    "miss": r.miss,
                    "score": r.score,
                    "status": r.status.value,
                    "achievement": r.achievement,
                    "own_unit": r.own_unit,
                }
                for r in self.kpis
            ],
            schema=KPI_SCHEMA,
        )

    def objective_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {"id": r.id, "score": r.score, "status": r.status.value, "coverage": r.coverage}
                for r in self.objectives
            ],
            schema={
                "id": pl.String,
                "score": pl.Float64,
                "status": pl.String,
                "coverage": pl.Float64,
            },
        )

    def unit_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {"id": r.id, "score": r.score, "status": r.status.value, "kpis": r.kpis}
                for r in self.units
            ],
            schema={"id": pl.String, "score": pl.Float64, "status": pl.String, "kpis": pl.Int64},
        )


KPI_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "unit": pl.String,
    "period": pl.String,
    "period_end": pl.Date,
    "actual": pl.Float64,
    "target": pl.Float64,
    "miss": pl.Float64,
    "score": pl.Float64,
    "status": pl.String,
    "achievement": pl.Float64,
    "own_unit": pl.Boolean,
}


def score_kpi(
    kpi: m.Kpi,
    period: Period,
    unit: str,
    actual: float | None,
    target: float | None,
) -> KpiResult:
    """One KPI row: miss, score and status from an actual and a target."""
    own = unit == kpi.unit
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        target = (kpi.range.low + kpi.range.high) / 2
    # Nothing infinite or NaN goes into a score (SPEC: never NaN or infinite).
    actual, target = finite(actual), finite(target)
    if actual is None:
        return KpiResult(
            kpi.id, unit, period, None, target, None, None, Status.NO_DATA, own_unit=own
        )
    if target is None:
        return KpiResult(
            kpi.id, unit, period, actual, None, None, None, Status.NO_TARGET, own_unit=own
        )
    # Finite numbers far apart can differ by more than the largest float: hold the miss there.
    miss = min(miss_of(kpi.direction, actual, target, kpi.range), sys.float_info.max)
    tol = tolerance_of(kpi, target)
    return KpiResult(
        kpi.id,
        unit,
        period,
        actual,
        target,
        miss,
        score_of(miss, tol),
        status_of(miss, tol),
        finite(achievement_of(kpi.direction, actual, target)),
        tol,
        own,
    )


def evaluation_window(org: m.Organization, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The days whose measurements an evaluation as of this date can use."""
    used = {evaluation_period(k.frequency, as_of, org.calendar) for k in org.kpis}
    if not used:
        used = {evaluation_period(f, as_of, org.calendar) for f in m.Frequency}
    return min(p.start for p in used), max(p.end for p in used)


def evaluate_organization(
    org: m.Organization, measurements: pl.DataFrame, as_of: dt.date
) -> Evaluation:
    """Score every KPI, objective and unit as of a date."""
    periods = {
        frequency: evaluation_period(frequency, as_of, org.calendar) for frequency in m.Frequency
    }
    values = ValueTable(org, measurements, evaluation_window(org, as_of))
    rows: list[KpiResult] = []
    calendar = org.calendar
    for kpi in org.kpis:
        period = periods[kpi.frequency]
        own_target = kpi_target(kpi, period, calendar)
        rows.append(score_kpi(kpi, period, kpi.unit, values.value(kpi.id, period), own_target))
        unit_targets = {unit_id for unit_id, _ in kpi.unit_targets}
        measured = values.units_measured(kpi.id, period) if kpi.formula is None else set()
        others = (measured | unit_targets) - {kpi.unit}
        for unit in sorted(others):
            target = kpi_target(kpi, period, calendar, unit=unit) if unit in unit_targets else None
            rows.append(score_kpi(kpi, period, unit, values.value(kpi.id, period, unit), target))
    own_scores = {r.id: r.score for r in rows if r.own_unit}
    objectives = _objectives(org, own_scores)
    units = _units(org, rows)
    return Evaluation(as_of, rows, objectives, units, values)


def _objectives(org: m.Organization, kpi_scores: dict[str, float | None]) -> list[ObjectiveResult]:
    items: dict[str, list[tuple[str, str, float]]] = {o.id: [] for o in org.objectives}
    for kpi in org.kpis:
        for support in kpi.supports:
            if support.objective in items:
                items[support.objective].append(("kpi", kpi.id, support.weight))
    for objective in org.objectives:
        if objective.parent in items:
            items[objective.parent].append(("objective", objective.id, objective.weight))
    done: dict[str, tuple[float | None, float]] = {}

    def score(objective_id: str, visiting: frozenset[str]) -> float | None:
        if objective_id in done:
            return done[objective_id][0]
        if objective_id in visiting:
            return None  # a cycle of parents (AL04) scores nothing
        total = scored = weighted = 0.0
        for kind, item_id, weight in items[objective_id]:
            total += weight
            value = (
                kpi_scores.get(item_id)
                if kind == "kpi"
                else score(item_id, visiting | {objective_id})
            )
            if value is not None:
                scored += weight
                weighted += weight * value
        result = weighted / scored if scored > 0 else None
        done[objective_id] = (result, scored / total if total > 0 else 0.0)
        return result

    results = []
    for objective in org.objectives:
        value = score(objective.id, frozenset())
        coverage = done[objective.id][1]
        results.append(
            ObjectiveResult(objective.id, value, band_status(value, org.scoring), coverage)
        )
    return results


def _units(org: m.Organization, rows: list[KpiResult]) -> list[UnitResult]:
    by_unit: dict[str, list[float | None]] = {u.id: [] for u in org.units}
    for row in rows:
        if row.own_unit and row.unit in by_unit:
            by_unit[row.unit].append(row.score)
    results = []
    for unit in org.units:
        scores = [s for s in by_unit[unit.id] if s is not None]
        value = sum(scores) / len(scores) if scores else None
        results.append(
            UnitResult(
                unit.id, value, band_status(value, org.scoring), len(by_unit[unit.id]), len(scores)
            )
        )
    return results
