"""What the rules look at: the organisation, the as-of date, the measurements when there is a
store, and indexes over the cascade that several rules share (built once, on first use)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import NamedTuple

from lineofsight.checks.base import Finding, Rule, Severity, Subject, SubjectKind
from lineofsight.domain import model as m
from lineofsight.domain.formula import Expr, parse_formula, references
from lineofsight.domain.graph import reachable


class Observation(NamedTuple):
    """One stored value of a KPI: its unit, its period's days and its value (None when a
    ratio's denominator is 0). A named tuple: a large store makes millions of them."""

    unit: str
    start: dt.date
    end: dt.date
    value: float | None


Item = m.Unit | m.Person | m.Objective | m.Kpi

KIND_OF: dict[type, SubjectKind] = {
    m.Kpi: SubjectKind.KPI,
    m.Objective: SubjectKind.OBJECTIVE,
    m.Unit: SubjectKind.UNIT,
    m.Person: SubjectKind.PERSON,
}


class CheckContext:
    """The organisation under check, with shared indexes."""

    def __init__(
        self,
        org: m.Organization,
        as_of: dt.date,
        measurements: Mapping[str, Sequence[Observation]] | None = None,
    ) -> None:
        self.org = org
        self.as_of = as_of
        self.measurements = measurements
        self._descendant_units: dict[str, frozenset[str]] = {}

    # ------------------------------------------------------------ findings

    def finding(
        self, rule: Rule, item: Item, message: str, severity: Severity | None = None
    ) -> Finding:
        return Finding(
            code=rule.code,
            name=rule.name,
            severity=severity or rule.severity,
            subject=Subject(KIND_OF[type(item)], item.id),
            message=message,
            location=item.location,
        )

    # ------------------------------------------------------------ lookups

    @cached_property
    def kpis(self) -> dict[str, m.Kpi]:
        return {k.id: k for k in self.org.kpis}

    @cached_property
    def objectives(self) -> dict[str, m.Objective]:
        return {o.id: o for o in self.org.objectives}

    @cached_property
    def units(self) -> dict[str, m.Unit]:
        return {u.id: u for u in self.org.units}

    @cached_property
    def people(self) -> dict[str, m.Person]:
        return {p.id: p for p in self.org.people}

    def item(self, kind: SubjectKind, item_id: str) -> Item | None:
        if kind is SubjectKind.KPI:
            return self.kpis.get(item_id)
        if kind is SubjectKind.OBJECTIVE:
            return self.objectives.get(item_id)
        if kind is SubjectKind.UNIT:
            return self.units.get(item_id)
        return self.people.get(item_id)

    # ------------------------------------------------------------ the cascade

    @cached_property
    def formulas(self) -> dict[str, Expr]:
        """Parsed formulas of formula KPIs."""
        return {k.id: parse_formula(k.formula) for k in self.org.kpis if k.formula is not None}

    @cached_property
    def formula_inputs(self) -> dict[str, tuple[str, ...]]:
        """For each formula KPI, the KPI ids its formula reads (known KPIs only)."""
        return {
            kpi_id: tuple(ref for ref in references(expr) if ref in self.kpis)
            for kpi_id, expr in self.formulas.items()
        }

    @cached_property
    def formula_users(self) -> dict[str, list[str]]:
        """For each KPI, the formula KPIs that read it."""
        users: dict[str, list[str]] = defaultdict(list)
        for kpi_id, inputs in self.formula_inputs.items():
            for input_id in inputs:
                users[input_id].append(kpi_id)
        return users

    @cached_property
    def kpi_ups(self) -> dict[str, list[str]]:
        """For each KPI, the KPIs directly above it: those it contributes to, and the formula
        KPIs that read it."""
        kpis = self.kpis
        users = self.formula_users
        ups: dict[str, list[str]] = {}
        for kpi in self.org.kpis:
            above = [c.kpi for c in kpi.contributes_to if c.kpi in kpis]
            used = users.get(kpi.id)
            if used:
                above.extend(used)
            ups[kpi.id] = above
        return ups

    @cached_property
    def supporters(self) -> dict[str, list[tuple[m.Kpi, m.Support]]]:
        """For each objective, the KPIs that support it, with the link."""
        found: dict[str, list[tuple[m.Kpi, m.Support]]] = defaultdict(list)
        for kpi in self.org.kpis:
            for support in kpi.supports:
                found[support.objective].append((kpi, support))
        return found

    @cached_property
    def child_objectives(self) -> dict[str, list[m.Objective]]:
        found: dict[str, list[m.Objective]] = defaultdict(list)
        for objective in self.org.objectives:
            if objective.parent is not None:
                found[objective.parent].append(objective)
        return found

    @cached_property
    def contributors(self) -> dict[str, list[m.Kpi]]:
        """For each KPI, the KPIs that contribute to it."""
        found: dict[str, list[m.Kpi]] = defaultdict(list)
        for kpi in self.org.kpis:
            for link in kpi.contributes_to:
                found[link.kpi].append(kpi)
        return found

    @cached_property
    def kpis_of_unit(self) -> dict[str, list[m.Kpi]]:
        found: dict[str, list[m.Kpi]] = defaultdict(list)
        for kpi in self.org.kpis:
            found[kpi.unit].append(kpi)
        return found

    @cached_property
    def child_units(self) -> dict[str, list[m.Unit]]:
        found: dict[str, list[m.Unit]] = defaultdict(list)
        for unit in self.org.units:
            if unit.parent is not None:
                found[unit.parent].append(unit)
        return found

    @cached_property
    def descendant_objectives(self) -> dict[str, frozenset[str]]:
        """Each objective with every objective below it (itself included); cycle-safe."""
        result: dict[str, frozenset[str]] = {}
        for objective in self.org.objectives:
            seen: set[str] = set()
            stack = [objective.id]
            while stack:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                stack.extend(child.id for child in self.child_objectives.get(current, ()))
            result[objective.id] = frozenset(seen)
        return result

    def objectives_above(self, kpi_ids: Iterable[str]) -> set[str]:
        """Every objective that one of these KPIs measures, directly, through the KPIs above
        it, or as an ancestor of such an objective (cycle-safe; each item visited once)."""
        seen_kpis: set[str] = set()
        found: set[str] = set()
        stack = list(kpi_ids)
        objectives: list[str] = []
        while stack:
            current = stack.pop()
            if current in seen_kpis:
                continue
            seen_kpis.add(current)
            kpi = self.kpis.get(current)
            if kpi is None:
                continue
            objectives.extend(s.objective for s in kpi.supports)
            stack.extend(self.kpi_ups.get(current, ()))
        while objectives:
            current = objectives.pop()
            if current in found or current not in self.objectives:
                continue
            found.add(current)
            parent = self.objectives[current].parent
            if parent is not None:
                objectives.append(parent)
        return found

    def kpis_below(self, objective_id: str) -> set[str]:
        """The KPIs that measure an objective or any objective below it, with every KPI that
        feeds them (through `contributes_to` or a formula)."""
        found: set[str] = set()
        stack: list[str] = []
        for objective in self.descendant_objectives.get(objective_id, frozenset()):
            stack.extend(kpi.id for kpi, _ in self.supporters.get(objective, ()))
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(kpi.id for kpi in self.contributors.get(current, ()))
            stack.extend(self.formula_inputs.get(current, ()))
        return found

    def descendant_units(self, unit_id: str) -> frozenset[str]:
        """A unit with every unit below it (itself included); remembered per unit."""
        known = self._descendant_units.get(unit_id)
        if known is not None:
            return known
        result = frozenset(
            reachable([unit_id], lambda unit: (c.id for c in self.child_units.get(unit, ())))
        )
        self._descendant_units[unit_id] = result
        return result
