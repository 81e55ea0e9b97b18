from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain.text import plural


class BadWeights(Rule):
    """A negative weight, or an objective whose weights are all zero.

    Weights are those of `supports` links, of objectives in their parent, and of
    `contributes_to` links.

    Why it matters:
        A negative weight turns a KPI's success into its objective's failure, and an
        objective whose items all weigh zero cannot have a score at all.

    Bad:
        kpis:
          - {id: revenue, supports: [{objective: grow, weight: -1}], ...}

    Good:
        kpis:
          - {id: revenue, supports: [{objective: grow, weight: 2}], ...}
    """

    severity = Severity.ERROR

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        objectives = ctx.data.objectives
        negative = pl.col("weight") < 0
        for objective_id, weight, parent in (
            objectives.filter(negative).select("id", "weight", "parent").iter_rows()
        ):
            where = f" in '{parent}'" if parent else ""
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"objective '{objective_id}' has the negative weight {weight:g}{where}",
            )
        for kpi_id, objective_id, weight in (
            ctx.data.supports.filter(negative).select("kpi_id", "objective", "weight").iter_rows()
        ):
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' supports '{objective_id}' with the negative weight {weight:g}",
            )
        for kpi_id, above, weight in (
            ctx.data.contributions.filter(negative).select("kpi_id", "kpi", "weight").iter_rows()
        ):
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' contributes to '{above}' with the negative weight "
                f"{weight:g} (use effect: negative for an inverse link)",
            )
        # The weights under each objective: its supporting KPIs' and its children's.
        under = (
            pl.concat(
                [
                    ctx.data.supports.select(pl.col("objective").alias("id"), "weight"),
                    objectives.select(pl.col("parent").alias("id"), "weight"),
                ]
            )
            .group_by("id")
            .agg(count=pl.len(), zero=(pl.col("weight") == 0).all())
        )
        zero = objectives.select("id").join(
            under.filter(pl.col("zero")), on="id", maintain_order="left"
        )
        for objective_id, count, _zero in zero.iter_rows():
            yield ctx.finding(
                self,
                SubjectKind.OBJECTIVE,
                objective_id,
                f"all {plural(count, 'weight')} under objective "
                f"'{objective_id}' are zero: it can have no score",
            )
