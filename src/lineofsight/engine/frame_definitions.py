"""An organisation's definitions as the frames the scorecard engine reads (`DefinitionFrames`).

The store reads these frames straight from its tables (`services.evaluate`); this builds the
same frames from domain objects, so that an organisation read from a file or the store's
objects (`los tree`, a single KPI's explanation, tests) is scored by the same engine.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.frames import DefinitionFrames

KPI_COLUMNS: dict[str, Any] = {
    "id": pl.String,
    "position": pl.Int64,
    "unit_id": pl.String,
    "frequency": pl.String,
    "direction": pl.String,
    "aggregation": pl.String,
    "across_units": pl.String,
    "formula": pl.String,
    "ratio_scale": pl.Float64,
    "range_low": pl.Float64,
    "range_high": pl.Float64,
    "baseline_period": pl.String,
    "baseline_value": pl.Float64,
    "target_value": pl.Float64,
    "target_by": pl.Date,
    "tolerance": pl.Float64,
    "tolerance_abs": pl.Float64,
    "due_days": pl.Int64,
}
PERIOD_TARGET_COLUMNS: dict[str, Any] = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "value": pl.Float64,
}
UNIT_TARGET_COLUMNS: dict[str, Any] = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "value": pl.Float64,
    "by_date": pl.Date,
    "baseline_period": pl.String,
    "baseline_value": pl.Float64,
}
SUPPORT_COLUMNS: dict[str, Any] = {
    "kpi_id": pl.String,
    "objective_id": pl.String,
    "weight": pl.Float64,
}
OBJECTIVE_COLUMNS: dict[str, Any] = {
    "id": pl.String,
    "position": pl.Int64,
    "unit_id": pl.String,
    "parent_id": pl.String,
    "weight": pl.Float64,
    "status": pl.String,  # active or closed: a closed objective is out of its parent's roll-up
}
UNIT_COLUMNS: dict[str, Any] = {"id": pl.String, "position": pl.Int64, "parent_id": pl.String}
# The columns of each frame of `DefinitionFrames`, as the store reads them too.
DEFINITION_COLUMNS: dict[str, dict[str, Any]] = {
    "kpis": KPI_COLUMNS,
    "period_targets": PERIOD_TARGET_COLUMNS,
    "unit_targets": UNIT_TARGET_COLUMNS,
    "supports": SUPPORT_COLUMNS,
    "objectives": OBJECTIVE_COLUMNS,
    "units": UNIT_COLUMNS,
}


def _kpi_row(k: m.Kpi, position: int) -> tuple[object, ...]:
    """A KPI as the store's `kpis` table holds the columns the engine reads."""
    return (
        k.id,
        position,
        k.unit,
        k.frequency.value,
        k.direction.value,
        k.aggregation.value if k.aggregation is not None else None,
        k.across_units.value if k.across_units is not None else None,
        k.formula,
        k.ratio.scale if k.ratio is not None else None,
        k.range.low if k.range is not None else None,
        k.range.high if k.range is not None else None,
        k.baseline.period if k.baseline is not None else None,
        k.baseline.value if k.baseline is not None else None,
        k.target.value if k.target is not None else None,
        k.target.by if k.target is not None else None,
        k.tolerance,
        k.tolerance_abs,
        k.due_days,
    )


def definition_frames(org: m.Organization) -> DefinitionFrames:
    """The frames of `org` that a scorecard reads, as the store would give them."""
    period_targets: list[tuple[object, ...]] = []
    unit_targets: list[tuple[object, ...]] = []
    for k in org.kpis:
        # The KPI's own period targets first, then each unit's: the store's order.
        period_targets += [(k.id, "", period, value) for period, value in k.targets]
        for unit_id, ut in k.unit_targets:
            period_targets += [(k.id, unit_id, period, value) for period, value in ut.targets]
        for unit_id, ut in k.unit_targets:
            baseline = ut.baseline
            unit_targets.append(
                (
                    k.id,
                    unit_id,
                    ut.value,
                    ut.by,
                    baseline.period if baseline is not None else None,
                    baseline.value if baseline is not None else None,
                )
            )
    return DefinitionFrames(
        kpis=_frame([_kpi_row(k, i) for i, k in enumerate(org.kpis)], KPI_COLUMNS),
        period_targets=_frame(period_targets, PERIOD_TARGET_COLUMNS),
        unit_targets=_frame(unit_targets, UNIT_TARGET_COLUMNS),
        supports=_frame(
            [(k.id, s.objective, s.weight) for k in org.kpis for s in k.supports],
            SUPPORT_COLUMNS,
        ),
        objectives=_frame(
            [
                (o.id, i, o.unit, o.parent, o.weight, o.status.value)
                for i, o in enumerate(org.objectives)
            ],
            OBJECTIVE_COLUMNS,
        ),
        units=_frame([(u.id, i, u.parent) for i, u in enumerate(org.units)], UNIT_COLUMNS),
        calendar=org.calendar,
        scoring=org.scoring,
    )


def _frame(rows: list[tuple[object, ...]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")
