"""What the rules look at: the organisation, the as-of date, the measurements when there is a
store, and indexes over the cascade that several rules share (built once, on first use)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import NamedTuple

from lineofsight.checks.base import Finding, Rule, Severity, Subject, SubjectKind
from lineofsight.domain import model as m
from lineofsight.domain.formula import Expr
from lineofsight.domain.graph import organisation_graph, reachable_in


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
        self.graph = organisation_graph(org)

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

    @property
    def kpis(self) -> dict[str, m.Kpi]:
        return self.graph.kpis

    @property
    def objectives(self) -> dict[str, m.Objective]:
        return self.graph.objectives

    @property
    def units(self) -> dict[str, m.Unit]:
        return self.graph.units

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

    # ------------------------------------------------------------ the cascade (the graph's)

    @property
    def formulas(self) -> dict[str, Expr]:
        """Parsed formulas of formula KPIs."""
        return self.graph.formulas

    @property
    def formula_inputs(self) -> dict[str, tuple[str, ...]]:
        """For each formula KPI, the KPI ids its formula reads (known KPIs only)."""
        return self.graph.formula_inputs

    @property
    def formula_users(self) -> dict[str, list[str]]:
        """For each KPI, the formula KPIs that read it."""
        return self.graph.formula_users

    @property
    def kpi_ups(self) -> dict[str, list[str]]:
        """For each KPI, the KPIs directly above it (contributions and formulas)."""
        return self.graph.kpi_ups

    @property
    def supporters(self) -> dict[str, list[tuple[m.Kpi, m.Support]]]:
        """For each objective, the KPIs that support it, with the link."""
        return self.graph.supporters

    @property
    def child_objectives(self) -> dict[str, list[m.Objective]]:
        return self.graph.child_objectives

    @property
    def contributors(self) -> dict[str, list[m.Kpi]]:
        """For each KPI, the KPIs that contribute to it."""
        return self.graph.contributors

    @property
    def kpis_of_unit(self) -> dict[str, list[m.Kpi]]:
        return self.graph.kpis_of_unit

    @property
    def child_units(self) -> dict[str, list[m.Unit]]:
        return self.graph.child_units

    def objectives_above(self, kpi_ids: Iterable[str]) -> set[str]:
        """Every objective that one of these KPIs measures, directly, through the KPIs above
        it, or as an ancestor of such an objective (cycle-safe; each item visited once)."""
        kpis, ups = self.kpis, self.kpi_ups
        objectives: list[str] = []
        for current in reachable_in(kpi_ids, ups):
            kpi = kpis.get(current)
            if kpi is not None:
                objectives.extend(s.objective for s in kpi.supports)
        found: set[str] = set()
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
        start: list[str] = []
        for objective in self.graph.objectives_below(objective_id):
            start.extend(kpi.id for kpi, _ in self.supporters.get(objective, ()))
        return self.graph.feeding(start)

    def descendant_units(self, unit_id: str) -> frozenset[str]:
        """A unit with every unit below it (itself included); remembered per unit."""
        return self.graph.subtree(unit_id)
