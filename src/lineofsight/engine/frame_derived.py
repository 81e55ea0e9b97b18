"""Values of the frame scorecard that are not one unit's own measurements: formulas, and units
that take their value from the units below, at (KPI, unit, slot)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain.formula_tree import Expr, references
from lineofsight.engine.frame_formulas import _compile, _positions, formula_plans
from lineofsight.engine.frame_values import across_units, derive

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames


# A value at a (KPI, unit, slot) (`derived_values`).
VALUE_SCHEMA = pl.Schema(
    {"kpi_id": pl.String, "unit_id": pl.String, "slot": pl.Int64, "value": pl.Float64}
)
KEYS = ["kpi_id", "unit_id", "slot"]


def derived_values(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    asked: pl.DataFrame,
    as_of: dt.date,
    slots: pl.DataFrame,
) -> pl.DataFrame:
    """Values of formulas and of units that take theirs from below, at the `asked` (KPI, unit,
    slot)s (kpi_id, unit_id, slot): computed on columns (engine.frame_values) over the KPIs
    concerned and their inputs. Each asked one once, with its value (null: none): kpi_id,
    unit_id, slot, value."""
    asked = asked.select(KEYS).unique(maintain_order=True)
    if asked.is_empty():
        return pl.DataFrame(schema=VALUE_SCHEMA)
    formulas = _Formulas(kpis)
    direct = direct_formulas(kpis, measured, asked, formulas)
    if not direct.is_empty():
        asked = asked.join(direct, on=KEYS, how="anti")
    if asked.is_empty():
        return direct
    found = derive(
        kpis,
        defs.units.select("id", "parent_id"),
        measurements,
        measured,
        asked,
        slots,
        defs.calendar.fiscal_year_start - 1,
        formulas,
    )
    return pl.concat([direct, found.select(*KEYS, "value").cast(VALUE_SCHEMA)])


def direct_formulas(
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    asked: pl.DataFrame,
    formulas: Mapping[str, Expr],
) -> pl.DataFrame:
    """The asked (kpi_id, unit_id, slot)s of formulas whose value is read straight from
    their inputs' own measured values, with that value: kpi_id, unit_id, slot, value.

    That is the value `engine.frame_values` derives when the formula is asked at its own
    unit and every input is a measured KPI of that unit and of the formula's frequency
    (its slots are the formula's periods) that has a row of its own there, or takes no
    value from the units below (`across_units` none): each input is then read at that unit,
    its own value at its own slot. The formulas of one shape are evaluated together
    (`frame_formulas`). The others are left to `frame_values.derive`. `kpis`: the rows of
    `frames.score_kpis` (row number `k`, and `n_slots`, the number of their frequency's slots)."""
    none = pl.DataFrame(schema=VALUE_SCHEMA)
    if "k" not in kpis.columns or "n_slots" not in kpis.columns or not formulas:
        return none
    mine = (
        kpis.filter(pl.col("formula").is_not_null())
        .filter(pl.col("id").is_in(asked["kpi_id"].unique().implode()))
        .select("id", "unit_id", "frequency", "formula")
    )
    if mine.is_empty():
        return none
    plans, examples = formula_plans(mine.select("id", "formula"), formulas)
    # Each input of each formula (`pos`: its place among the formula's inputs) with what the
    # formula needs of it: its row number `k`, whether it takes values from the units below
    # (`below`), and whether it is a measured KPI of the formula's unit and frequency (`ok`).
    inputs = plans.select(
        "id",
        "shape",
        pl.col("reads").alias("input_id"),
        pos=pl.int_ranges(0, pl.col("reads").list.len()),
    ).explode("input_id", "pos")
    inputs = (
        inputs.join(mine.select("id", "unit_id", "frequency"), on="id", maintain_order="left")
        .join(
            kpis.filter(pl.col("id").is_in(inputs["input_id"].drop_nulls().implode())).select(
                pl.col("id").alias("input_id"),
                "k",
                pl.col("unit_id").alias("input_unit"),
                pl.col("frequency").alias("input_frequency"),
                pl.col("formula").is_null().alias("measured"),
                (across_units() != "none").alias("below"),
            ),
            on="input_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            ok=(
                pl.col("measured")
                & pl.col("input_unit").eq_missing(pl.col("unit_id"))
                & (pl.col("input_frequency") == pl.col("frequency"))
            ).fill_null(False)
        )
    )
    # The formulas whose every input is such a KPI (and that read one at least), with their
    # inputs' row numbers and `below` in order of their places.
    direct = (
        inputs.group_by("id", maintain_order=True)
        .agg(
            pl.col("shape", "unit_id").first(),
            pl.col("ok").all(),
            pl.col("k").sort_by("pos"),
            pl.col("below").sort_by("pos"),
        )
        .filter("ok")
    )
    if direct.is_empty():
        return none
    # The inputs' own measured rows by KPI row number and slot (`x`: the value), each once
    # (even one with no value: it wins over the units below, `held`).
    own = (
        measured.lazy()
        .filter(pl.col("own") & pl.col("k").is_in(inputs["k"].drop_nulls().unique().implode()))
        .select("k", "slot", x="actual", held=pl.lit(True))
        .collect()
    )
    parts = []
    for shape in direct["shape"].unique(maintain_order=True).to_list():
        example = formulas[examples[shape]]
        positions = _positions(references(example))
        # Each formula of the shape with its own unit and its inputs' row numbers (`k{pos}`)
        # and whether they take values from the units below (`b{pos}`): one join, then one
        # of each input's own rows.
        table = direct.filter(pl.col("shape") == shape).select(
            pl.col("id").alias("kpi_id"),
            pl.col("unit_id").alias("own_unit"),
            *(
                pl.col(column).list.get(pos).alias(f"{name}{pos}")
                for pos in range(len(positions))
                for column, name in (("k", "k"), ("below", "b"))
            ),
        )
        plan = (
            asked.lazy()
            .join(table.lazy(), on="kpi_id")
            .filter(pl.col("unit_id") == pl.col("own_unit"))
        )
        for pos in range(len(positions)):
            plan = plan.join(
                own.lazy().rename({"x": f"x{pos}", "held": f"h{pos}"}),
                left_on=[f"k{pos}", "slot"],
                right_on=["k", "slot"],
                how="left",
            )
        parts.append(
            plan.filter(
                pl.all_horizontal(
                    pl.col(f"h{pos}").fill_null(False) | ~pl.col(f"b{pos}")
                    for pos in range(len(positions))
                )
            )
            .select(
                "kpi_id",
                "unit_id",
                "slot",
                _compile(example, positions).cast(pl.Float64).alias("value"),
            )
            .collect()
        )
    return pl.concat(parts) if parts else none


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
