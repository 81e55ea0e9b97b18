"""The organisation's graph: unit and objective trees, who supports and feeds whom, and what
each formula reads. Built once per organisation (`organisation_graph`) and shared by the
checks, permissions, the web pages and the services, so that none derives it again.

Every walk here is cycle-safe: a broken file (an objective that is its own parent, KPIs that
feed each other) ends the walk instead of looping; the alignment check reports the cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Generic, TypeVar

from lineofsight.domain import model as m

if TYPE_CHECKING:
    from lineofsight.domain.formula import Expr


def reachable(start: Iterable[str], next_of: Callable[[str], Iterable[str]]) -> set[str]:
    """Every id reachable from `start` (itself included) by following `next_of`; a cycle in a
    broken file ends the walk instead of looping."""
    found: set[str] = set()
    stack = list(start)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(next_of(current))
    return found


def reachable_in(start: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """`reachable` along the links of a mapping (an id to the ids it leads to): the same walk
    with a dictionary look-up instead of a call per id, for walks over a whole organisation."""
    found: set[str] = set()
    stack = list(start)
    get = edges.get
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(get(current, ()))
    return found


def children_of(pairs: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Each parent's children, from (child, parent) pairs in their order."""
    children: dict[str, list[str]] = {}
    for child, parent in pairs:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    return children


def cycles(edges: Mapping[str, list[str]], order: Mapping[str, int]) -> list[list[str]]:
    """One cycle for each strongly connected component of `edges` (an id to the ids it leads
    to, in the order written) that has one, a link of an id to itself included; each starts
    at its first member by `order` (every id's place in the file), and they come in that order.

    Tarjan's algorithm, written iteratively so that deep cascades cannot overflow the stack.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, []):
                    components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    cycles = [_walk(sorted(c, key=order.__getitem__), edges) for c in components]
    return sorted(cycles, key=lambda c: order[c[0]])


def _walk(members: list[str], edges: Mapping[str, list[str]]) -> list[str]:
    """A readable cycle through a component, starting at its first member in file order."""
    inside = set(members)
    start = members[0]
    path = [start]
    seen = {start}
    current = start
    while True:
        nxt = next((t for t in edges.get(current, []) if t in inside), None)
        if nxt is None or nxt == start:
            return path
        if nxt in seen:
            return path[path.index(nxt) :]
        path.append(nxt)
        seen.add(nxt)
        current = nxt


class OrgGraph:
    """The links of one organisation, each index made on first use and kept.

    Lists keep the order of the strategy file. A KPI's formula is parsed once, here; a
    formula that does not parse (never in a validated file) reads nothing.
    """

    def __init__(self, org: m.Organization) -> None:
        self.org = org
        self._subtrees: dict[str, frozenset[str]] = {}
        self._unparsed: tuple[str, ...] = ()

    # ------------------------------------------------------------ items by id

    @cached_property
    def kpis(self) -> dict[str, m.Kpi]:
        return {k.id: k for k in self.org.kpis}

    @cached_property
    def objectives(self) -> dict[str, m.Objective]:
        return {o.id: o for o in self.org.objectives}

    @cached_property
    def units(self) -> dict[str, m.Unit]:
        return {u.id: u for u in self.org.units}

    # ------------------------------------------------------------ units

    @cached_property
    def unit_parents(self) -> dict[str, str | None]:
        """Each unit's parent unit (None at the top)."""
        return {u.id: u.parent for u in self.org.units}

    @cached_property
    def child_units(self) -> dict[str, list[m.Unit]]:
        found: dict[str, list[m.Unit]] = {}
        for unit in self.org.units:
            if unit.parent is not None:
                found.setdefault(unit.parent, []).append(unit)
        return found

    @cached_property
    def unit_children(self) -> dict[str, list[str]]:
        """Each unit's child unit ids."""
        return {parent: [u.id for u in units] for parent, units in self.child_units.items()}

    def subtree(self, unit_id: str) -> frozenset[str]:
        """A unit with every unit below it (itself included); remembered per unit."""
        known = self._subtrees.get(unit_id)
        if known is None:
            children = self.unit_children
            known = frozenset(reachable_in([unit_id], children))
            self._subtrees[unit_id] = known
        return known

    def within(self, unit_id: str, top: str) -> bool:
        """Whether `unit_id` is `top` or a unit below it."""
        units = self.units
        current: str | None = unit_id
        for _ in range(len(units) + 1):  # a cycle in a broken file must not loop forever
            if current is None:
                return False
            if current == top:
                return True
            unit = units.get(current)
            current = unit.parent if unit is not None else None
        return False

    @cached_property
    def kpis_of_unit(self) -> dict[str, list[m.Kpi]]:
        found: dict[str, list[m.Kpi]] = {}
        for kpi in self.org.kpis:
            found.setdefault(kpi.unit, []).append(kpi)
        return found

    # ------------------------------------------------------------ objectives

    @cached_property
    def child_objectives(self) -> dict[str, list[m.Objective]]:
        found: dict[str, list[m.Objective]] = {}
        for objective in self.org.objectives:
            if objective.parent is not None:
                found.setdefault(objective.parent, []).append(objective)
        return found

    def objectives_below(self, objective_id: str) -> set[str]:
        """An objective with every objective below it (itself included)."""
        children = self.child_objectives
        return reachable([objective_id], lambda o: (c.id for c in children.get(o, ())))

    @cached_property
    def supporters(self) -> dict[str, list[tuple[m.Kpi, m.Support]]]:
        """For each objective, the KPIs that support it, with the link."""
        found: dict[str, list[tuple[m.Kpi, m.Support]]] = {}
        for kpi in self.org.kpis:
            for support in kpi.supports:
                found.setdefault(support.objective, []).append((kpi, support))
        return found

    # ------------------------------------------------------------ KPIs

    @cached_property
    def contributors(self) -> dict[str, list[m.Kpi]]:
        """For each KPI, the KPIs that contribute to it."""
        found: dict[str, list[m.Kpi]] = {}
        for kpi in self.org.kpis:
            for link in kpi.contributes_to:
                found.setdefault(link.kpi, []).append(kpi)
        return found

    @cached_property
    def formulas(self) -> dict[str, Expr]:
        """The parsed formula of each formula KPI."""
        # Imported here: the formula module walks with `reachable` from this one.
        from lineofsight.domain.formula import FormulaError, parse_formula

        found: dict[str, Expr] = {}
        unparsed: list[str] = []
        for kpi in self.org.kpis:
            if kpi.formula is not None:
                try:
                    found[kpi.id] = parse_formula(kpi.formula)
                except FormulaError:
                    unparsed.append(kpi.id)
        self._unparsed = tuple(unparsed)
        return found

    @property
    def unparsed_formulas(self) -> tuple[str, ...]:
        """The formula KPIs whose formula does not parse (never in a validated file)."""
        _ = self.formulas
        return self._unparsed

    @cached_property
    def formula_inputs(self) -> dict[str, tuple[str, ...]]:
        """For each formula KPI, the KPIs its formula reads (known KPIs only, in formula order)."""
        from lineofsight.domain.formula import references

        kpis = self.kpis
        return {
            kpi_id: tuple(ref for ref in references(expr) if ref in kpis)
            for kpi_id, expr in self.formulas.items()
        }

    @cached_property
    def formula_users(self) -> dict[str, list[str]]:
        """For each KPI, the formula KPIs that read it."""
        users: dict[str, list[str]] = {}
        for kpi_id, inputs in self.formula_inputs.items():
            for input_id in inputs:
                users.setdefault(input_id, []).append(kpi_id)
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

    def measured_inputs(self, kpi_id: str) -> set[str]:
        """The measured KPIs a KPI's value comes from, through nested formulas: itself when it
        has no formula."""
        inputs = self.formula_inputs
        leaves: set[str] = set()
        for current in reachable_in([kpi_id], inputs):
            if current not in inputs:
                leaves.add(current)
        return leaves

    def read_through(self, kpi_ids: Iterable[str]) -> set[str]:
        """These KPIs (those the organisation holds) with every KPI their formulas read, all
        the way down: the KPIs whose values theirs come from."""
        kpis, inputs = self.kpis, self.formula_inputs
        return reachable_in((k for k in kpi_ids if k in kpis), inputs)

    @cached_property
    def kpi_downs(self) -> dict[str, list[str]]:
        """For each KPI, the ids directly below it: the KPIs that contribute to it, then those
        its formula reads."""
        downs: dict[str, list[str]] = {
            kpi_id: [k.id for k in kpis] for kpi_id, kpis in self.contributors.items()
        }
        for kpi_id, inputs in self.formula_inputs.items():
            downs.setdefault(kpi_id, []).extend(inputs)
        return downs

    def feeding(self, kpi_ids: Iterable[str]) -> set[str]:
        """These KPIs with every KPI that feeds them, through `contributes_to` or a formula."""
        return reachable_in(kpi_ids, self.kpi_downs)


T = TypeVar("T")


class PerOrganisation(Generic[T]):
    """Something made from an organisation once per organisation object and shared by every
    caller; an organisation is immutable, so what is made from it never goes stale. Keyed by
    identity (hashing a large organisation would cost as much as what is made), with the
    organisation held so that its id cannot be reused while kept: the organisation in use and
    the one before it (a server between two revisions)."""

    KEPT = 2

    def __init__(self, make: Callable[[m.Organization], T]) -> None:
        self._make = make
        self._kept: dict[int, tuple[m.Organization, T]] = {}
        self._lock = threading.Lock()  # the web app's threads share it

    def __call__(self, org: m.Organization) -> T:
        with self._lock:
            known = self._kept.get(id(org))
            if known is not None and known[0] is org:
                return known[1]
            made = self._make(org)
            if len(self._kept) >= self.KEPT:
                self._kept.pop(next(iter(self._kept)))
            self._kept[id(org)] = (org, made)
            return made


_GRAPHS = PerOrganisation(OrgGraph)


def organisation_graph(org: m.Organization) -> OrgGraph:
    """The graph of `org`, made once and shared by every caller."""
    return _GRAPHS(org)
