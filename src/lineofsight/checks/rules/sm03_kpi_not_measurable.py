from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain.model import SourceKind


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
        for kpi in ctx.org.kpis:
            if kpi.formula is not None or kpi.ratio is not None:
                continue
            if kpi.source is not None and kpi.source.kind is not SourceKind.MANUAL:
                continue
            if ctx.measurements.get(kpi.id):
                continue
            yield ctx.finding(
                self,
                kpi,
                f"KPI '{kpi.id}' has no formula, ratio or source and has never been measured",
            )
