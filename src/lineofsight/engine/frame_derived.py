"""Values of the frame scorecard that are not one unit's own measurements: formulas, and units
that take their value from the units below, at (KPI, unit, slot)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames


def derived_values(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    triples: list[tuple[str, str, int]],
    as_of: dt.date,
    slots: pl.DataFrame,
) -> dict[tuple[str, str, int], float | None]:
    """Values of formulas and of units that take theirs from below, at (KPI, unit, slot)."""
    if not triples:
        return {}
    derived = _direct_formulas(kpis, measured, triples)
    rest = [t for t in triples if t not in derived]
    if rest:
        periods = {
            (f, i): Period(start, end, Grain(grain), label, fiscal)
            for f, i, start, end, label, grain, fiscal in slots.iter_rows()
        }
        derived.update(_derive(defs, measurements, kpis, rest, periods))
    return derived


def _direct_formulas(
    kpis: pl.DataFrame, measured: pl.DataFrame, triples: list[tuple[str, str, int]]
) -> dict[tuple[str, str, int], float | None]:
    """Formulas whose inputs are measured KPIs of the same period grain: evaluated straight
    from the inputs' own values at the same slot (the same period: slots are per frequency).
    Anything else (nested formulas, inputs of another grain or derived across units) is left
    for the value table (`_derive`)."""
    from lineofsight.domain.formula import evaluate, parse_formula, references

    columns = ("id", "formula", "grain", "fiscal", "unit_id", "across", "aggregation")
    formulas = kpis.filter(
        pl.col("formula").is_not_null() & pl.col("id").is_in(list({k for k, _, _ in triples}))
    )
    inputs_of: dict[str, tuple[str, ...]] = {
        kpi_id: references(parse_formula(formula))
        for kpi_id, formula in formulas.select("id", "formula").iter_rows()
    }
    involved = set(inputs_of) | {i for inputs in inputs_of.values() for i in inputs}
    info = {
        row[0]: row[1:]
        for row in kpis.filter(pl.col("id").is_in(list(involved))).select(columns).iter_rows()
    }
    wanted = {i for inputs in inputs_of.values() for i in inputs}
    values = {
        (kpi_id, unit_id, slot): actual
        for kpi_id, unit_id, slot, actual in measured.filter(pl.col("kpi_id").is_in(list(wanted)))
        .select("kpi_id", "unit_id", "slot", "actual")
        .iter_rows()
    }
    result: dict[tuple[str, str, int], float | None] = {}
    for kpi_id, unit_id, slot in triples:
        inputs = inputs_of.get(kpi_id)
        if inputs is None:
            continue  # not a formula: a value derived across units
        formula, grain, fiscal = info[kpi_id][0], info[kpi_id][1], info[kpi_id][2]
        known: dict[str, float] = {}
        direct = True
        for input_id in inputs:
            found = info.get(input_id)
            if found is None or found[0] is not None or (found[1], found[2]) != (grain, fiscal):
                direct = False
                break
            across = found[4]
            value = values.get((input_id, unit_id, slot))
            if value is None and across != "none":
                direct = False  # the unit may take a value from below
                break
            if value is None and found[3] != unit_id:
                value = values.get((input_id, found[3], slot))
                if value is None and across != "none":
                    direct = False
                    break
            if value is None:
                known = {}
                break
            known[input_id] = value
        if not direct:
            continue
        complete = len(known) == len(inputs)
        result[(kpi_id, unit_id, slot)] = (
            evaluate(parse_formula(formula), known) if complete else None
        )
    return result


def _derive(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    triples: list[tuple[str, str, int]],
    periods: dict[tuple[str, int], Period],
) -> dict[tuple[str, str, int], float | None]:
    """Values of formulas and of units that take theirs from below, by the value table
    (engine.values), over only the KPIs concerned."""
    from lineofsight.domain.formula import parse_formula, references
    from lineofsight.engine.values import ValueTable

    formulas = dict(
        kpis.filter(pl.col("formula").is_not_null()).select("id", "formula").iter_rows()
    )
    wanted: set[str] = set()
    stack = [kpi_id for kpi_id, _, _ in triples]
    while stack:
        kpi_id = stack.pop()
        if kpi_id in wanted:
            continue
        wanted.add(kpi_id)
        formula = formulas.get(kpi_id)
        if formula is not None:
            stack.extend(references(parse_formula(formula)))
    rows = {r["id"]: r for r in kpis.filter(pl.col("id").is_in(list(wanted))).iter_rows(named=True)}
    wanted &= set(rows)
    subset = tuple(_minimal_kpi(rows[kpi_id]) for kpi_id in sorted(wanted))
    subset_measurements = measurements.filter(pl.col("kpi_id").is_in(list(wanted)))
    # Only the units that carry these KPIs' values or rows, with their ancestors (which
    # connect them): values are derived upwards from units that have data.
    parents = dict(zip(defs.units["id"].to_list(), defs.units["parent_id"].to_list(), strict=True))
    needed: set[str] = set(subset_measurements["unit_id"].unique().to_list())
    needed.update(unit_id for _, unit_id, _ in triples)
    needed.update(str(rows[kpi_id]["unit_id"]) for kpi_id in wanted)
    for start in list(needed):
        current = parents.get(start)
        while current is not None and current not in needed:
            needed.add(current)
            current = parents.get(current)
    units = tuple(
        m.Unit(id=unit_id, name=unit_id, level=m.UnitLevel.TEAM, parent=parents.get(unit_id))
        for unit_id in sorted(needed)
        if unit_id in parents
    )
    org = m.Organization(name="", calendar=defs.calendar, units=units, kpis=subset)
    table = ValueTable(org, subset_measurements)
    result: dict[tuple[str, str, int], float | None] = {}
    for kpi_id, unit_id, slot in triples:
        period = periods[(str(rows[kpi_id]["frequency"]), slot)]
        result[(kpi_id, unit_id, slot)] = table.value(kpi_id, period, unit_id)
    return result


def _minimal_kpi(row: dict[str, object]) -> m.Kpi:
    """A KPI with what values need: frequency, aggregation, across units, ratio, formula."""
    scale = row["ratio_scale"]
    return m.Kpi(
        id=str(row["id"]),
        name=str(row["id"]),
        unit=str(row["unit_id"]),
        frequency=m.Frequency(str(row["frequency"])),
        direction=m.Direction(str(row["direction"])),
        aggregation=m.Aggregation(str(row["aggregation"])) if row["aggregation"] else None,
        across_units=m.AcrossUnits(str(row["across_units"])) if row["across_units"] else None,
        formula=str(row["formula"]) if row["formula"] is not None else None,
        ratio=m.Ratio("", "", float(scale)) if scale is not None else None,  # type: ignore[arg-type]
    )
