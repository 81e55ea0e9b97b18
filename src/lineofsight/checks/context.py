"""What the rules look at: the organisation's columns (`data.CheckData`), the as-of date, the
stored values when there is a store, and indexes over the cascade that several rules share
(built once, on first use).

The rules work over columns: a large organisation has 100,000 KPIs, and a rule looks at each
item in bulk (a Polars filter or join) and at single items only where it makes a finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import NamedTuple

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, Subject, SubjectKind
from lineofsight.checks.data import CheckData, CheckValues
from lineofsight.domain import model as m
from lineofsight.domain.formula import Expr
from lineofsight.domain.graph import children_of, reachable_in


class Observation(NamedTuple):
    """One stored value of a KPI: its unit, its period's days and its value (None when a
    ratio's denominator is 0)."""

    unit: str
    start: dt.date
    end: dt.date
    value: float | None


EDGES = {"from": pl.String, "to": pl.String}


class CheckContext:
    """The organisation under check, with shared indexes."""

    def __init__(
        self, data: CheckData, as_of: dt.date, measurements: CheckValues | None = None
    ) -> None:
        self.data = data
        self.as_of = as_of
        self.measurements = measurements
        self.calendar = data.calendar

    # ------------------------------------------------------------ findings

    def finding(
        self,
        rule: Rule,
        kind: SubjectKind,
        item_id: str,
        message: str,
        severity: Severity | None = None,
    ) -> Finding:
        line = self.data.lines[kind.value].get(item_id)
        return Finding(
            code=rule.code,
            name=rule.name,
            severity=severity or rule.severity,
            subject=Subject(kind, item_id),
            message=message,
            location=self.data.location(kind.value, item_id, line),
        )

    def findings(
        self, rule: Rule, kind: SubjectKind, found: Iterable[tuple[str, str]]
    ) -> Iterator[Finding]:
        """`finding` for each (item id, message) of `found`, of the rule's severity: what
        is the same for all of them worked out once (a rule may make tens of thousands)."""
        where = kind.value
        lines = self.data.lines[where]
        location = self.data.location
        code, name, severity = rule.code, rule.name, rule.severity
        for item_id, message in found:
            yield Finding(
                code=code,
                name=name,
                severity=severity,
                subject=Subject(kind, item_id),
                message=message,
                location=location(where, item_id, lines.get(item_id)),
            )

    # ------------------------------------------------------------ items

    @cached_property
    def kpi_ids(self) -> set[str]:
        return set(self.data.kpis["id"].to_list())

    @cached_property
    def objective_parents(self) -> dict[str, str | None]:
        """Each objective's parent (as written: it may name no objective)."""
        frame = self.data.objectives
        return dict(zip(frame["id"].to_list(), frame["parent"].to_list(), strict=True))

    @cached_property
    def objective_levels(self) -> dict[str, str]:
        frame = self.data.objectives
        return dict(zip(frame["id"].to_list(), frame["level"].to_list(), strict=True))

    @cached_property
    def child_objectives(self) -> dict[str, list[str]]:
        """Each objective's children, in file order."""
        return children_of(self.objective_parents.items())

    @cached_property
    def child_units(self) -> dict[str, list[str]]:
        """Each unit's child units, in file order."""
        frame = self.data.units
        return children_of(zip(frame["id"].to_list(), frame["parent"].to_list(), strict=True))

    def descendant_units(self, unit_id: str) -> set[str]:
        """A unit with every unit below it (itself included)."""
        return reachable_in([unit_id], self.child_units)

    # ------------------------------------------------------------ the cascade

    @property
    def whole(self) -> dict[str, m.Kpi]:
        """The KPIs with a formula, those formulas read, and those with targets by period or
        unit, whole."""
        return self.data.whole

    @property
    def formulas(self) -> dict[str, Expr]:
        """Parsed formulas of formula KPIs, in file order."""
        return self.data.formulas

    @property
    def formula_inputs(self) -> dict[str, tuple[str, ...]]:
        """For each formula KPI, the KPI ids its formula reads (known KPIs only)."""
        return self.data.formula_inputs

    def measured_inputs(self, kpi_id: str) -> set[str]:
        """The measured KPIs a KPI's value comes from, through nested formulas."""
        leaves = self.data.formula_leaves.get(kpi_id)
        return {kpi_id} if leaves is None else set(leaves)

    @cached_property
    def up_edges(self) -> pl.DataFrame:
        """Each link from a KPI to a KPI directly above it (`from` below, `to` above): the KPIs
        it contributes to (known ones), then the formulas that read it."""
        contributions = self.data.contributions.select(
            pl.col("kpi_id").alias("from"), pl.col("kpi").alias("to")
        ).filter(pl.col("to").is_in(self.data.kpis["id"].implode()))
        pairs = [(i, f) for f, inputs in self.formula_inputs.items() for i in inputs]
        formulas = pl.DataFrame(
            {"from": [p[0] for p in pairs], "to": [p[1] for p in pairs]}, schema=EDGES
        )
        return pl.concat([contributions, formulas])

    def kpis_above(self, start: Iterable[str]) -> pl.Series:
        """These KPIs with every KPI above them (the links up), as a column of ids."""
        return reach(start, self.up_edges, "from", "to")

    def kpis_feeding(self, start: Iterable[str]) -> pl.Series:
        """These KPIs with every KPI that feeds them (contributions and formula inputs)."""
        return reach(start, self.up_edges, "to", "from")

    @cached_property
    def parent_edges(self) -> pl.DataFrame:
        """Each objective's link to its parent (`from` the objective, `to` its parent), for
        the parents that are objectives."""
        objectives = self.data.objectives
        return objectives.select(pl.col("id").alias("from"), pl.col("parent").alias("to")).filter(
            pl.col("to").is_in(objectives["id"].implode())
        )

    def objectives_up(self, objective_ids: pl.Series) -> pl.Series:
        """These objectives (known ones) with every objective above them."""
        known = objective_ids.filter(objective_ids.is_in(self.data.objectives["id"].implode()))
        return reach(known, self.parent_edges, "from", "to")

    def objectives_down(self, objective_ids: pl.Series) -> pl.Series:
        """These objectives with every objective below them."""
        return reach(objective_ids, self.parent_edges, "to", "from")


def reach(start: Iterable[str], edges: pl.DataFrame, source: str, target: str) -> pl.Series:
    """`start` with every id reached from it along `edges` (`source` to `target`), one step of
    the frontier at a time over the whole column: cycle-safe, each id taken once."""
    given = start if isinstance(start, pl.Series) else pl.Series(list(start), dtype=pl.String)
    frontier = given.unique(maintain_order=True).alias("id")
    found = [frontier]
    # The links into what was found lead nowhere new: they are dropped as the walk goes, so
    # each step looks only at links to ids not found yet (with a large start, most of an
    # organisation, few are left from the first step).
    links = edges.select(pl.col(source).alias("a"), pl.col(target).alias("b"))
    while frontier.len():
        links = links.filter(~pl.col("b").is_in(frontier.implode()))
        frontier = links.filter(pl.col("a").is_in(frontier.implode()))["b"].unique().alias("id")
        found.append(frontier)
    return pl.concat(found)
