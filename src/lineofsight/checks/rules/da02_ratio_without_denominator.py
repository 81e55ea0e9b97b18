from __future__ import annotations

from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain.limits import denominator_problem


class RatioWithoutDenominator(Rule):
    """A stored value of a ratio KPI whose denominator makes no ratio: 0 under a numerator
    that is not 0, or a negative one.

    Such a value is refused when it is entered, loaded or fetched; a store written before
    that check may still hold one. It counts as no value (the period looks unmeasured), so it
    is said here with its KPI, unit and period, and kept: correct it by loading or entering
    the period again, or delete it (`los measurement delete`). This rule needs the store's
    measurements; checking a bare strategy file skips it.

    Why it matters:
        890 complaints over 0 orders is a typo or a broken export, not a rate. Shown as no
        value, it hides the mistake and the period it belongs to.

    Bad:
        # complaint_rate (a ratio) holds numerator 890, denominator 0 for 2026-03 at unit co

    Good:
        # complaint_rate holds numerator 890, denominator 41200 for 2026-03 (or 0 over 0 for
        # a period with nothing to count)
    """

    severity = Severity.ERROR
    needs_data = True

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        if ctx.measurements is None:
            return
        # Values outlive a KPI removed from the file: only the defined KPIs' are said.
        rows = ctx.measurements.ratios.join(
            ctx.data.kpis.select(kpi_id="id"), on="kpi_id", how="semi"
        ).sort("kpi_id", "unit_id", "period", maintain_order=True)
        for kpi_id, unit_id, period, numerator, denominator in rows.iter_rows():
            reason = denominator_problem(numerator, denominator)
            if reason is None:
                continue
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' has a stored value at unit '{unit_id}' for {period} that makes "
                f"no ratio: the denominator {reason}; it counts as no value until that period "
                "is loaded again or deleted",
            )
