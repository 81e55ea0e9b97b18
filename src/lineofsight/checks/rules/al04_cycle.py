from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain.graph import cycles


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
    return cycles(ordered, order)


def _without_acyclic(edges: pl.DataFrame) -> pl.DataFrame:
    """Only the links that can be on a cycle: drop, again and again, every link into a node
    that has no link out left (a cascade is mostly a tree, so usually all go)."""
    while True:
        sources = edges["from"].unique()
        kept = edges.filter(pl.col("to").is_in(sources.implode()))
        if kept.height == edges.height:
            return kept
        edges = kept
