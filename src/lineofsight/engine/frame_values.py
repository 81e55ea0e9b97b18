"""Derived values on columns: formulas, and units that take their value from the units below,
at (KPI, unit, period), for the frame scorecard (SPEC section 3).

The rules are those of `engine.values.ValueTable` (the tests keep it as the oracle):
- a measured KPI's own value at a unit and period comes from that unit's measurements,
  combined by the KPI's aggregation (or as a ratio of sums);
- a unit without one takes a value from its child units by `across_units` (a recorded value,
  even one that is no value, always wins for its unit); sums and means are exact
  (`math.fsum`), a ratio is the ratio of its children's numerator and denominator sums;
- a formula is evaluated at the unit over its inputs at the same period, each read at that
  unit, else at the input's own unit; any missing input, a division by zero, a step past the
  largest float or a cycle of formulas gives no value.

Here the units below are combined one tree level at a time for every KPI and period at once,
and formulas of the same shape (`a - b`, `a / b * 100`) are evaluated together as one Polars
expression, so that thousands of KPIs cost a few frame operations rather than a Python call
per value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.formula_tree import Expr
from lineofsight.engine.frame_formulas import AT, KEY, VALUES, evaluate_level
from lineofsight.engine.values import (
    _period_start_expr,
    exact_total,
    period_aggregates,
    period_value,
    unsigned,
)


def across_units() -> pl.Expr:
    """A KPI's `across_units`, else what its aggregation implies (`m.ADDS_UP_ACROSS_UNITS`),
    as `Kpi.effective_across_units` says: over the columns `across_units` and `aggregation`
    (their values as written, null when not written)."""
    adds_up = sorted(a.value for a in m.ADDS_UP_ACROSS_UNITS)
    return pl.col("across_units").fill_null(
        pl.when(pl.col("aggregation").is_in(adds_up))
        .then(pl.lit(m.AcrossUnits.SUM.value))
        .otherwise(pl.lit(m.AcrossUnits.NONE.value))
    )


def derive(
    kpis: pl.DataFrame,
    units: pl.DataFrame,
    measurements: pl.DataFrame,
    measured: pl.DataFrame,
    asked: pl.DataFrame,
    slots: pl.DataFrame,
    fiscal_shift: int,
    formulas: Mapping[str, Expr],
) -> pl.DataFrame:
    """The value at each asked (kpi_id, unit_id, slot): the frame `asked` with a `value` column.

    kpis: id, unit_id, frequency, aggregation, across_units, ratio_scale, formula; units: id,
    parent_id; measured: each KPI's own value per unit at its own slots (kpi_id, unit_id, slot,
    actual); slots: frequency, slot, p_start, grain, fiscal; `formulas`: the parsed formula
    of (at least) every formula KPI the asked ones reach.
    """
    reads = _reads(asked["kpi_id"].unique().to_list(), formulas)
    reached = set(asked["kpi_id"].unique().to_list()) | {
        i for inputs in reads.values() for i in inputs
    }
    info = kpis.filter(pl.col("id").is_in(list(reached))).select(
        pl.col("id").alias("kpi_id"),
        pl.col("unit_id").alias("own_unit"),
        "frequency",
        pl.col("aggregation").fill_null("mean").alias("agg"),
        across_units().alias("across"),
        pl.col("ratio_scale").alias("scale"),
        pl.col("formula").is_not_null().alias("is_formula"),
    )
    asked = asked.join(info.select("kpi_id", "frequency"), on="kpi_id", how="left").join(
        slots.select("frequency", "slot", "grain", "fiscal", "p_start"),
        on=["frequency", "slot"],
        how="left",
    )
    demand = asked.select(*AT).unique()
    levels, edges = _formula_graph(demand["kpi_id"].unique().to_list(), reads, info)
    by_level = _formula_demand(demand, levels, edges)
    # The measured KPIs' values wanted: those asked, and the formulas' inputs at the reading
    # unit and at their own.
    reads_at = [
        d.join(edges, left_on="kpi_id", right_on="formula_id").select(
            pl.col("input_id").alias("kpi_id"), *KEY[1:], unit_id
        )
        for d in by_level.values()
        for unit_id in ("unit_id", pl.col("input_own").alias("unit_id"))
    ]
    wanted = (
        pl.concat([demand, *reads_at])
        .unique()
        .join(info.filter(~pl.col("is_formula")).select("kpi_id"), on="kpi_id", how="semi")
    )
    own = _own_values(
        measurements, measured, slots, wanted.select(KEY).unique(), info, fiscal_shift
    )
    values = _rolled_up(own, info, units, wanted)
    for level in sorted(by_level):
        computed = evaluate_level(by_level[level], edges, values, formulas, reads)
        values = pl.concat([values, computed], how="diagonal_relaxed")
    return asked.drop("frequency").join(
        values.select(*AT, "value"), on=list(AT), how="left", nulls_equal=True
    )


def _formula_graph(
    asked: Iterable[str], reads: Mapping[str, tuple[str, ...]], info: pl.DataFrame
) -> tuple[dict[str, int], pl.DataFrame]:
    """Each formula reached from `asked` with its level (1 + its inputs' highest; measured
    KPIs are 0), or -1 when it can have no value (a cycle or an unknown input on its way);
    and the edges formula_id, pos, input_id, input_own (inputs of the formulas with a level)."""
    levels: dict[str, int] = {}
    visiting: set[str] = set()
    known = set(info["kpi_id"].to_list())

    def level(kpi_id: str) -> int:
        if kpi_id not in known:
            return -1
        inputs = reads.get(kpi_id)
        if inputs is None:
            return 0
        found = levels.get(kpi_id)
        if found is not None:
            return found
        if kpi_id in visiting:
            return -1
        visiting.add(kpi_id)
        deepest = 0
        for input_id in inputs:
            inner = level(input_id)
            if inner < 0:
                deepest = -1
                break
            deepest = max(deepest, inner)
        visiting.discard(kpi_id)
        # Inside a cycle, the members met first see the others as "visiting": every formula
        # that reaches a cycle gets no value, as the value table's walk gives none.
        levels[kpi_id] = -1 if deepest < 0 else deepest + 1
        return levels[kpi_id]

    for kpi_id in asked:
        if kpi_id in reads:
            level(kpi_id)
    inputs = {i for f, at in levels.items() if at > 0 for i in reads[f]}
    own = dict(
        info.filter(pl.col("kpi_id").is_in(list(inputs))).select("kpi_id", "own_unit").iter_rows()
    )
    rows = [
        (formula_id, pos, input_id, own[input_id])
        for formula_id, at in levels.items()
        if at > 0
        for pos, input_id in enumerate(reads[formula_id])
    ]
    edges = pl.DataFrame(
        rows,
        schema={
            "formula_id": pl.String,
            "pos": pl.Int64,
            "input_id": pl.String,
            "input_own": pl.String,
        },
        orient="row",
    )
    return levels, edges


def _reads(asked: Iterable[str], formulas: Mapping[str, Expr]) -> dict[str, tuple[str, ...]]:
    """The inputs of each formula the asked KPIs reach, through inner formulas."""
    from lineofsight.domain.formula_tree import references

    found: dict[str, tuple[str, ...]] = {}
    stack = [kpi_id for kpi_id in asked if kpi_id in formulas]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found[current] = references(formulas[current])
        stack.extend(i for i in found[current] if i in formulas and i not in found)
    return found


def _formula_demand(
    demand: pl.DataFrame, levels: dict[str, int], edges: pl.DataFrame
) -> dict[int, pl.DataFrame]:
    """The (formula, period, unit)s to evaluate, by level: those asked, and the formulas they
    read, at the reading unit and at the input's own unit."""
    level_of = pl.DataFrame(
        {"kpi_id": list(levels), "level": list(levels.values())},
        schema={"kpi_id": pl.String, "level": pl.Int64},
    )
    frontier = demand.join(level_of, on="kpi_id")
    seen = frontier
    while not frontier.is_empty():
        reads = frontier.filter(pl.col("level") > 0).join(
            edges, left_on="kpi_id", right_on="formula_id"
        )
        inner = (
            pl.concat(
                [
                    reads.select(pl.col("input_id").alias("kpi_id"), *KEY[1:], "unit_id"),
                    reads.select(
                        pl.col("input_id").alias("kpi_id"),
                        *KEY[1:],
                        pl.col("input_own").alias("unit_id"),
                    ),
                ]
            )
            .unique()
            .join(level_of, on="kpi_id")
        )
        frontier = inner.join(seen, on=list(AT), how="anti", nulls_equal=True)
        seen = pl.concat([seen, frontier])
    return {
        int(level): part.drop("level")
        for (level,), part in seen.partition_by("level", as_dict=True).items()
        if int(level) > 0
    }


def _own_values(
    measurements: pl.DataFrame,
    measured: pl.DataFrame,
    slots: pl.DataFrame,
    keys: pl.DataFrame,
    info: pl.DataFrame,
    fiscal_shift: int,
) -> pl.DataFrame:
    """Each measured KPI's own value (with numerator and denominator sums) at every unit with
    measurements, for the periods of `keys`: taken from `measured` at the KPI's own periods
    when no ratio's sums are needed, else aggregated from the measurements."""
    slot_keys = slots.select("frequency", "slot", "grain", "fiscal", "p_start")
    kinds = info.select("kpi_id", "frequency", "scale", "across")
    simple = (
        keys.join(kinds, on="kpi_id")
        .join(slot_keys.drop("slot"), on=["frequency", *KEY[1:]], how="semi")
        .filter(pl.col("scale").is_null() | (pl.col("across") == "none"))
        .select(KEY)
    )
    from_measured = (
        measured.filter(pl.col("kpi_id").is_in(simple["kpi_id"].unique().to_list()))
        .join(kinds.select("kpi_id", "frequency"), on="kpi_id")
        .join(slot_keys, on=["frequency", "slot"])
        .join(simple, on=list(KEY), how="semi")
        .select(*AT, pl.col("actual").alias("value"), num=pl.lit(0.0), den=pl.lit(0.0))
    )
    keys = keys.join(simple, on=list(KEY), how="anti")
    if keys.is_empty():
        return from_measured
    return pl.concat(
        [from_measured, _aggregated(measurements, keys, info, fiscal_shift)],
        how="vertical_relaxed",
    )


def _aggregated(
    measurements: pl.DataFrame, keys: pl.DataFrame, info: pl.DataFrame, fiscal_shift: int
) -> pl.DataFrame:
    """Own values aggregated from the measurements at the periods of `keys`."""
    grains = (
        keys.select("kpi_id", "grain", "fiscal")
        .unique()
        .join(info.select("kpi_id", "agg", "scale"), on="kpi_id")
    )
    joined = (
        measurements.lazy()
        .join(grains.lazy(), on="kpi_id", how="inner")
        .with_columns(
            p_start=_period_start_expr(
                pl.col("grain"),
                pl.when(pl.col("fiscal")).then(fiscal_shift).otherwise(0),
                pl.col("period_end"),
            )
        )
        .join(keys.lazy(), on=list(KEY), how="semi")
    )
    grouped = period_aggregates(joined, AT, "agg", "scale")
    # A missing or zero sum is kept as 0.0, as the value table keeps it (`num or 0.0`).
    return grouped.select(
        *AT,
        period_value("scale").alias("value"),
        *(pl.when(pl.col(c) != 0).then(pl.col(c)).otherwise(0.0).alias(c) for c in ("num", "den")),
    )


def _depths(units: pl.DataFrame, starts: Iterable[str]) -> pl.DataFrame:
    """The depth in the tree (roots 0) and parent of the units `starts` and their ancestors:
    unit_id, parent_id, depth."""
    parents = dict(zip(units["id"].to_list(), units["parent_id"].to_list(), strict=True))
    depth: dict[str, int] = {}
    for start in starts:
        path: list[str] = []
        current: str | None = start
        while current is not None and current not in depth and current in parents:
            if len(path) > len(parents):
                break  # a cycle of units (refused when stored): leave them at the top
            path.append(current)
            current = parents[current]
        base = depth.get(current, -1) if current is not None else -1
        for offset, unit_id in enumerate(reversed(path)):
            depth[unit_id] = base + 1 + offset
    return pl.DataFrame(
        {
            "unit_id": list(depth),
            "parent_id": [parents[u] for u in depth],
            "depth": list(depth.values()),
        },
        schema={"unit_id": pl.String, "parent_id": pl.String, "depth": pl.Int64},
    )


def _rolled_up(
    own: pl.DataFrame, info: pl.DataFrame, units: pl.DataFrame, wanted: pl.DataFrame
) -> pl.DataFrame:
    """The measured KPIs' values at every unit that has one: its own, else its child units'
    combined by `across_units`, one tree level at a time from the bottom (only for the KPIs
    and periods where a `wanted` unit has no value of its own)."""
    own = own.join(info.select("kpi_id", "across", "scale"), on="kpi_id")
    missing = (
        wanted.join(own, on=list(AT), how="anti", nulls_equal=True)
        .join(info.filter(pl.col("across") != "none").select("kpi_id"), on="kpi_id", how="semi")
        .select(KEY)
        .unique()
    )
    if missing.is_empty():
        return own.select(*AT, *VALUES)
    own = pl.concat(
        [
            own.join(missing, on=list(KEY), how="anti", nulls_equal=True).with_columns(
                across=pl.lit("none")  # nothing to derive: the values as they are
            ),
            own.join(missing, on=list(KEY), how="semi", nulls_equal=True),
        ]
    )
    starts = own.filter(pl.col("across") != "none")["unit_id"].unique().to_list()
    tree = _depths(units, starts)
    own = own.join(tree, on="unit_id", how="left")
    rolling = own.filter((pl.col("across") != "none") & pl.col("depth").is_not_null())
    parts = [own.join(rolling, on=list(AT), how="anti", nulls_equal=True)]
    if rolling.is_empty():
        return parts[0].select(*AT, *VALUES)
    below: pl.DataFrame | None = None
    for depth in range(int(tree["depth"].max() or 0), -1, -1):  # type: ignore[arg-type]
        here = rolling.filter(pl.col("depth") == depth)
        if below is not None and not below.is_empty():
            combined = _combine(below).join(tree, on="unit_id", how="left")
            combined = combined.join(here, on=list(AT), how="anti", nulls_equal=True)
            here = pl.concat([here, combined], how="diagonal_relaxed")
        parts.append(here)
        below = here
    return pl.concat([p.select(*AT, *VALUES) for p in parts], how="vertical_relaxed")


def _combine(children: pl.DataFrame) -> pl.DataFrame:
    """The value of each parent unit from its children's values (those with one)."""
    present = children.filter(pl.col("value").is_not_null() & pl.col("parent_id").is_not_null())
    keys = [*KEY, "parent_id"]
    grouped = present.group_by(keys).agg(
        pl.first("across"),
        pl.first("scale"),
        pl.len().alias("n"),
        pl.col("value").sum().alias("total"),
        pl.col("value").min().alias("low"),
        pl.col("value").max().alias("high"),
        pl.col("num").sum(),
        pl.col("den").sum(),
    )
    several = grouped.filter(pl.col("n") > 1).select(keys)
    if not several.is_empty():
        # Sums of more than one child are made exact, so that they do not depend on order.
        lists = present.join(several, on=keys, how="semi").group_by(keys).agg("value", "num", "den")
        exact = lists.select(keys).with_columns(
            *(
                pl.Series(name, [exact_total(v) for v in lists[column].to_list()], pl.Float64)
                for name, column in (("total", "value"), ("num", "num"), ("den", "den"))
            )
        )
        grouped = grouped.update(exact, on=keys, how="left")
    # fsum gives +0.0 for a zero sum; keep that sign.
    grouped = grouped.with_columns(
        pl.when(pl.col(c) == 0).then(0.0).otherwise(pl.col(c)).alias(c)
        for c in ("total", "num", "den")
    )
    ratio = unsigned(pl.col("scale") * pl.col("num") / pl.col("den"))
    value = (
        pl.when(pl.col("scale").is_not_null())
        .then(pl.when(pl.col("den") != 0).then(ratio))
        .when(pl.col("across") == "sum")
        .then(pl.col("total"))
        .when(pl.col("across") == "mean")
        .then(pl.col("total") / pl.col("n"))
        .when(pl.col("across") == "min")
        .then(pl.col("low"))
        .otherwise(pl.col("high"))
    )
    is_ratio = pl.col("scale").is_not_null()
    return grouped.select(
        *KEY,
        pl.col("parent_id").alias("unit_id"),
        pl.when(value.is_finite()).then(value).alias("value"),
        pl.when(is_ratio).then(pl.col("num")).otherwise(0.0).alias("num"),
        pl.when(is_ratio).then(pl.col("den")).otherwise(0.0).alias("den"),
        "across",
        "scale",
    )
