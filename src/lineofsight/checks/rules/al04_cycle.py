from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext


class Cycle(Rule):
    """Objectives whose parents, or KPIs whose `contributes_to` links and formulas, go round
    in a circle.

    Why it matters:
        A cascade flows one way, from the mission down. In a circle no item is above the
        others: roll-ups cannot be computed, a formula has no value, and line of sight has no
        top. A cycle of one (an objective that is its own parent) counts too.

    Bad:
        kpis:
          - {id: leads, ..., contributes_to: [{kpi: pipeline}]}
          - {id: pipeline, ..., contributes_to: [{kpi: leads}]}

    Good:
        kpis:
          - {id: leads, ..., contributes_to: [{kpi: pipeline}]}
          - {id: pipeline, ..., contributes_to: [{kpi: bookings}]}
    """

    severity = Severity.ERROR

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        objective_edges = {
            o.id: [o.parent] if o.parent in ctx.objectives else [] for o in ctx.org.objectives
        }
        for cycle in _cycles(objective_edges):
            first = ctx.objectives[cycle[0]]
            yield ctx.finding(
                self, first, "objective parents form a cycle: " + " -> ".join([*cycle, cycle[0]])
            )
        for cycle in _cycles(ctx.kpi_ups):
            yield ctx.finding(
                self,
                ctx.kpis[cycle[0]],
                "KPIs form a cycle through contributes_to or formulas: "
                + " -> ".join([*cycle, cycle[0]]),
            )


def _cycles(all_edges: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle for each strongly connected component that has one, in file order."""
    order = {node: i for i, node in enumerate(all_edges)}
    edges = _without_acyclic(all_edges)
    return [] if not edges else _tarjan(edges, order)


def _without_acyclic(edges: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Only the nodes that can be on a cycle: peel off, again and again, every node whose
    edges all lead to nodes already peeled (a cascade is mostly a tree, so usually all go)."""
    pending = {node: len(targets) for node, targets in edges.items()}
    below: dict[str, list[str]] = {}
    for node, targets in edges.items():
        for target in targets:
            below.setdefault(target, []).append(node)
    ready = [node for node, count in pending.items() if count == 0]
    while ready:
        node = ready.pop()
        for source in below.get(node, ()):
            pending[source] -= 1
            if pending[source] == 0:
                ready.append(source)
    keep = {node for node, count in pending.items() if count > 0}
    return {node: [t for t in edges[node] if t in keep] for node in edges if node in keep}


def _tarjan(edges: Mapping[str, list[str]], order: Mapping[str, int]) -> list[list[str]]:
    """Tarjan's algorithm, written iteratively so that deep cascades cannot overflow the stack."""
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
