"""The rows of the reference scorecard (`tests.engine.oracle`), as objects and as the frames
the engine gives, for comparing the two."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from lineofsight.domain.periods import Period
from lineofsight.engine.frame_rollups import COUNTS_TYPE, WORST_TYPE
from lineofsight.engine.lag import REPORTED
from lineofsight.engine.scoring import Status
from lineofsight.engine.values import ValueTable


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
    due: dt.date | None = None
    data: str = REPORTED
    last_value: float | None = None
    last_period: Period | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """How many direct items of an objective or unit have each status."""

    green: int = 0
    amber: int = 0
    red: int = 0
    no_data: int = 0
    no_target: int = 0

    def plain(self) -> dict[str, int]:
        return {
            "green": self.green,
            "amber": self.amber,
            "red": self.red,
            "no_data": self.no_data,
            "no_target": self.no_target,
        }


@dataclass(frozen=True, slots=True)
class Worst:
    """The lowest-scoring direct item of an objective or unit."""

    id: str
    kind: str
    status: str
    score: float


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    id: str
    score: float | None
    status: Status
    coverage: float
    counts: Counts = Counts()
    worst: Worst | None = None


@dataclass(frozen=True, slots=True)
class UnitResult:
    id: str
    score: float | None
    status: Status
    kpis: int
    scored: int
    counts: Counts = Counts()
    worst: Worst | None = None


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
                    "due": r.due,
                    "data": r.data,
                    "last_value": r.last_value,
                    "last_period": r.last_period.label if r.last_period else None,
                }
                for r in self.kpis
            ],
            schema=KPI_SCHEMA,
        )

    def objective_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "id": r.id,
                    "score": r.score,
                    "status": r.status.value,
                    "coverage": r.coverage,
                    "counts": r.counts.plain(),
                    "worst": _worst_plain(r.worst),
                }
                for r in self.objectives
            ],
            schema={
                "id": pl.String,
                "score": pl.Float64,
                "status": pl.String,
                "coverage": pl.Float64,
                "counts": COUNTS_TYPE,
                "worst": WORST_TYPE,
            },
        )

    def unit_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "id": r.id,
                    "score": r.score,
                    "status": r.status.value,
                    "kpis": r.kpis,
                    "counts": r.counts.plain(),
                    "worst": _worst_plain(r.worst),
                }
                for r in self.units
            ],
            schema={
                "id": pl.String,
                "score": pl.Float64,
                "status": pl.String,
                "kpis": pl.Int64,
                "counts": COUNTS_TYPE,
                "worst": WORST_TYPE,
            },
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
    "due": pl.Date,
    "data": pl.String,
    "last_value": pl.Float64,
    "last_period": pl.String,
}


def _worst_plain(worst: Worst | None) -> dict[str, Any] | None:
    if worst is None:
        return None
    return {"id": worst.id, "kind": worst.kind, "status": worst.status, "score": worst.score}
