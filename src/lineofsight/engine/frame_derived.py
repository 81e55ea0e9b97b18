"""Values of the frame scorecard that are not one unit's own measurements: formulas, and units
that take their value from the units below, at (KPI, unit, slot)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain.formula_tree import Expr
from lineofsight.engine.frame_values import derive

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames


def derived_values(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    triples: list[tuple[str, str, int]],
    as_of: dt.date,
    slots: pl.DataFrame,
) -> dict[tuple[str, str, int], float | None]:
    """Values of formulas and of units that take theirs from below, at (KPI, unit, slot):
    computed on columns (engine.frame_values) over the KPIs concerned and their inputs."""
    if not triples:
        return {}
    asked = pl.DataFrame(
        triples,
        schema={"kpi_id": pl.String, "unit_id": pl.String, "slot": pl.Int64},
        orient="row",
    )
    found = derive(
        kpis,
        defs.units.select("id", "parent_id"),
        measurements,
        measured,
        asked,
        slots,
        defs.calendar.fiscal_year_start - 1,
        _Formulas(kpis),
    )
    keys = zip(
        found["kpi_id"].to_list(), found["unit_id"].to_list(), found["slot"].to_list(), strict=True
    )
    return dict(zip(keys, found["value"].to_list(), strict=True))


class _Formulas(Mapping[str, Expr]):
    """The KPIs' formulas, parsed when first read (only those a scorecard reaches)."""

    def __init__(self, kpis: pl.DataFrame) -> None:
        self._texts: dict[str, str] = dict(
            kpis.filter(pl.col("formula").is_not_null()).select("id", "formula").iter_rows()
        )
        self._parsed: dict[str, Expr] = {}

    def __getitem__(self, kpi_id: str) -> Expr:
        found = self._parsed.get(kpi_id)
        if found is None:
            from lineofsight.domain.formula import parse_formula

            found = self._parsed[kpi_id] = parse_formula(self._texts[kpi_id])
        return found

    def __contains__(self, kpi_id: object) -> bool:
        return kpi_id in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)
