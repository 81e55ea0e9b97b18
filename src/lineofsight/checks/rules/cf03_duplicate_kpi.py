from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

from lineofsight.checks.base import Finding, Rule, Severity
from lineofsight.checks.context import CheckContext
from lineofsight.domain.formula import to_text

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@functools.lru_cache(maxsize=65536)  # the same KPI names recur in unit after unit
def normalise(name: str) -> str:
    """A name with case, punctuation and spacing ignored."""
    return _NOT_WORD.sub("", name.casefold())


class DuplicateKpi(Rule):
    """Two KPIs of one unit with the same name (ignoring case, punctuation and spacing), or
    the same formula or ratio definition.

    Why it matters:
        Two copies of one measure split the attention and the data: one gets updated, the
        other goes stale, and the two disagree in the meeting.

    Bad:
        kpis:
          - {id: nps, name: Net Promoter Score, unit: cs, ...}
          - {id: nps_2, name: net promoter score., unit: cs, ...}

    Good:
        kpis:
          - {id: nps, name: Net Promoter Score, unit: cs, ...}
          - {id: nps_t1, name: Net Promoter Score, unit: cs_t1, ...}   # another unit
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        seen: dict[tuple[str, str, str], str] = {}
        for kpi in ctx.org.kpis:
            keys = [("name", normalise(kpi.name))]
            if kpi.id in ctx.formulas:
                keys.append(("formula", to_text(ctx.formulas[kpi.id])))
            if kpi.ratio is not None:
                ratio = kpi.ratio
                definition = f"{normalise(ratio.numerator)}/{normalise(ratio.denominator)}"
                keys.append(("ratio", f"{definition}*{ratio.scale:g}"))
            reported = False
            for what, value in keys:
                key = (kpi.unit, what, value)
                first = seen.get(key)
                if first is None:
                    seen[key] = kpi.id
                elif not reported:
                    reported = True
                    yield ctx.finding(
                        self,
                        kpi,
                        f"KPI '{kpi.id}' has the same {what} as '{first}' in unit '{kpi.unit}'",
                    )
