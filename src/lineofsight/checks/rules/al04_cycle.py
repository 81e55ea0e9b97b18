from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        objectives = ctx.data.objectives
        objective_edges = objectives.select(
            pl.col("id").alias("from"), pl.col("parent").alias("to")
        )
        for cycle in _cycles(objective_edges, objectives["id"]):
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                cycle[0],
                "objective parents form a cycle: " + " -> ".join([*cycle, cycle[0]]),
            )
        for cycle in _cycles(ctx.up_edges, ctx.data.kpis["id"]):
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                cycle[0],
                "KPIs form a cycle through contributes_to or formulas: "
                + " -> ".join([*cycle, cycle[0]]),
            )


def _cycles(all_edges: pl.DataFrame, nodes: pl.Series) -> list[list[str]]:
    """One cycle for each strongly connected component that has one, in file order of the
    `nodes`; `all_edges` (from, to) in the order each node's links are written."""
    edges = _without_acyclic(all_edges.filter(pl.col("to").is_in(nodes.implode())))
    if edges.is_empty():
        return []
    order = {node: i for i, node in enumerate(nodes.to_list())}
    found: dict[str, list[str]] = {}
    for source, target in edges.iter_rows():
        found.setdefault(source, []).append(target)
    ordered = dict(sorted(found.items(), key=lambda item: order[item[0]]))
    return _tarjan(ordered, order)


def _without_acyclic(edges: pl.DataFrame) -> pl.DataFrame:
    """Only the links that can be on a cycle: drop, again and again, every link into a node
    that has no link out left (a cascade is mostly a tree, so usually all go)."""
    while True:
        sources = edges["from"].unique()
        kept = edges.filter(pl.col("to").is_in(sources.implode()))
        if kept.height == edges.height:
            return kept
        edges = kept


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
