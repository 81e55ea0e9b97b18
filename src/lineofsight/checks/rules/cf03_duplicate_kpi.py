from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
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
        kpis = ctx.data.kpis.with_row_index("order")
        names = kpis["name"].unique().to_list()
        keys = [
            kpis.select(
                "order",
                "id",
                "unit",
                what=pl.lit(0),
                value=pl.col("name").replace_strict(
                    names, [normalise(n) for n in names], return_dtype=pl.String
                ),
            )
        ]
        formulas = ctx.formulas
        if formulas:
            texts = pl.DataFrame(
                {"id": list(formulas), "value": [to_text(e) for e in formulas.values()]},
                schema={"id": pl.String, "value": pl.String},
            )
            keys.append(
                kpis.join(texts, on="id").select(
                    "order", "id", "unit", what=pl.lit(1), value="value"
                )
            )
        ratios = kpis.filter(pl.col("ratio_numerator").is_not_null())
        if not ratios.is_empty():
            parts = ratios.select("ratio_numerator", "ratio_denominator", "ratio_scale").unique()
            made = parts.with_columns(
                value=pl.Series(
                    [
                        f"{normalise(numerator)}/{normalise(denominator)}*{scale:g}"
                        for numerator, denominator, scale in parts.iter_rows()
                    ],
                    dtype=pl.String,
                )
            )
            keys.append(
                ratios.join(
                    made,
                    on=["ratio_numerator", "ratio_denominator", "ratio_scale"],
                    nulls_equal=True,
                ).select("order", "id", "unit", what=pl.lit(2), value="value")
            )
        # Each key's first KPI in file order; a later KPI with the same key is a copy of it,
        # reported once, for its first key (name, then formula, then ratio) that has one.
        found = pl.concat(keys)
        first = (
            found.sort("order")
            .group_by("unit", "what", "value", maintain_order=True)
            .agg(first_order=pl.col("order").first(), first=pl.col("id").first())
        )
        copies = (
            found.join(first, on=["unit", "what", "value"], nulls_equal=True)
            .filter(pl.col("order") > pl.col("first_order"))
            .sort("order", "what")
            .group_by("order", maintain_order=True)
            .first()
        )
        for kpi_id, unit, what, first_id in copies.select(
            "id", "unit", "what", "first"
        ).iter_rows():
            yield ctx.finding(
                self,
                SubjectKind.KPI,
                kpi_id,
                f"KPI '{kpi_id}' has the same {_WHAT[what]} as '{first_id}' in unit '{unit}'",
            )


_WHAT = ("name", "formula", "ratio")
