"""Checks of a strategy file's KPIs that look beyond one field: formula cycles and grains,
magnitudes.

Part of `validate`, which collects their problems with every other; kept apart to keep
that module readable.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from lineofsight.domain.formula import parse_formula, references
from lineofsight.domain.graph import cycles
from lineofsight.domain.limits import MAX_MAGNITUDE, allowed_range
from lineofsight.domain.model import Bounds
from lineofsight.domain.periods import GRAIN_OF_FREQUENCY, Grain, grain_of
from lineofsight.spec import schema as s

if TYPE_CHECKING:
    from lineofsight.spec.validate import Collector, Items


def check_formula_cycles(items: Items, out: Collector) -> None:
    """A formula that reads itself, directly or through other formulas, never has a value:
    a file error, as a cycle of units is, said once per cycle at its first KPI in the file.
    (A cycle that also runs through `contributes_to` is the alignment check's AL04.)"""
    order: dict[str, int] = {}
    for i, kpi in items.kpis:
        order.setdefault(kpi.id, i)
    formulas = {kpi.id: kpi.formula for _, kpi in items.kpis if kpi.formula is not None}
    inputs = {
        kpi_id: sorted(references(parse_formula(text)) & formulas.keys(), key=order.__getitem__)
        for kpi_id, text in formulas.items()
    }
    for cycle in cycles(inputs, order):
        first = cycle[0]
        if len(cycle) == 1:
            reason = f"reads '{first}' itself, so it would never have a value"
        else:
            shown = " -> ".join([*cycle, first])
            reason = f"formulas form a cycle: {shown} (none of them would ever have a value)"
        out.add(("kpis", order[first], "formula"), f"kpi {first}: formula: {reason}")


def check_formula_grains(items: Items, out: Collector) -> None:
    """A formula KPI finer than an input would never have a value: its inputs are aggregated
    up to its frequency, never split down. An input that is a formula itself has values no
    finer than its own inputs, so nested formulas are followed down to measured KPIs."""
    specs = {kpi.id: kpi for _, kpi in items.kpis}
    inputs = {
        kpi.id: sorted(references(parse_formula(kpi.formula)) & specs.keys())
        for kpi in specs.values()
        if kpi.formula is not None
    }
    finest: dict[str, Grain] = {}  # the finest grain at which a KPI can have values

    def finest_of(kpi_id: str, seen: frozenset[str]) -> Grain:
        if kpi_id not in finest:
            grains = [grain_of(specs[kpi_id].frequency)]
            # An input already on the path is a cycle, which `los check` reports (AL04).
            grains += [finest_of(i, seen | {i}) for i in inputs.get(kpi_id, ()) if i not in seen]
            finest[kpi_id] = max(grains)
        return finest[kpi_id]

    for i, kpi in items.kpis:
        own = grain_of(kpi.frequency)
        for input_id in inputs.get(kpi.id, ()):
            grain = finest_of(input_id, frozenset({kpi.id, input_id}))
            if grain > own:
                coarser = _FREQUENCY_OF_GRAIN[grain]
                through = " (through its own inputs)" if input_id in inputs else ""
                out.add(
                    ("kpis", i, "frequency"),
                    f"kpi {kpi.id}: a {kpi.frequency.value} formula cannot read '{input_id}', "
                    f"which has values only {coarser} or coarser{through}: the formula would "
                    f"never have a value (make '{kpi.id}' {coarser} or coarser)",
                )
                break


_FREQUENCY_OF_GRAIN = {grain: frequency.value for frequency, grain in GRAIN_OF_FREQUENCY.items()}


def check_magnitudes(base: tuple[Hashable, ...], kpi: s.KpiSpec, out: Collector) -> None:
    """Targets, baselines, ranges and benchmarks are values of the KPI: within the magnitude
    limit unless its bounds allow more (`domain.limits`); bounds themselves may be any size."""
    bounds = Bounds(kpi.bounds.min, kpi.bounds.max) if kpi.bounds is not None else None
    low, high = allowed_range(bounds)
    values: list[tuple[tuple[Hashable, ...], float]] = []
    if kpi.target is not None:
        values.append(((*base, "target", "value"), kpi.target.value))
    if kpi.baseline is not None:
        values.append(((*base, "baseline", "value"), kpi.baseline.value))
    if kpi.range is not None:
        values += [
            ((*base, "range", "low"), kpi.range.low),
            ((*base, "range", "high"), kpi.range.high),
        ]
    if kpi.benchmark is not None:
        values.append(((*base, "benchmark", "value"), kpi.benchmark.value))
    values += [((*base, "targets", p), v) for p, v in kpi.targets.items()]
    for unit_id, target in kpi.unit_targets.items():
        path = (*base, "unit_targets", unit_id)
        values.append(((*path, "value"), target.value))
        if target.baseline is not None:
            values.append(((*path, "baseline", "value"), target.baseline.value))
        values += [((*path, "targets", p), v) for p, v in target.targets.items()]
    for path, value in values:
        if not low <= value <= high:
            out.add(
                path,
                f"kpi {kpi.id}: {value:g} is beyond {MAX_MAGNITUDE:g} in size, the limit for a "
                "KPI's values (give the KPI bounds that allow it)",
            )
