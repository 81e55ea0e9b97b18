from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.checks.data import by_hand


class KpiNotMeasurable(Rule):
    """A KPI with no formula, no ratio, no automatic source and not one measurement.

    This rule needs the store's measurements; checking a bare strategy file skips it.

    Why it matters:
        A KPI that nobody has ever measured, and that nothing computes or fetches, is a
        wish. Either say how it is measured (a formula, a ratio, a source) or load its
        values.

    Bad:
        kpis:
          - {id: innovation_index, name: Innovation index, unit: rnd, frequency: quarterly,
             direction: increase}
        # and no measurement of innovation_index was ever loaded

    Good:
        kpis:
          - id: innovation_index
            ...
            source: {kind: csv, path: data/innovation.csv}
    """

    severity = Severity.WARNING
    needs_data = True

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        if ctx.measurements is None:
            return
        measured = ctx.measurements.measured
        unmeasured = by_hand(ctx.data.kpis).filter(~pl.col("id").is_in(measured.implode()))
        for kpi_id in unmeasured["id"].to_list():
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' has no formula, ratio or source and has never been measured",
            )
