"""The scorecard engine: every KPI row, objective and unit of an organisation as of a date.

Every scorecard (`los status`, `los tree`, the web pages, the API) comes from here. It works
column by column with Polars over the store's tables (or `frame_definitions` of domain
objects), so that 100,000 KPIs take a fraction of a second. This module chooses each KPI's
period and reads its values; targets and scores of the KPI rows are in `frame_scores`,
objective and unit rows in `frame_rollups`. The few KPIs that need more than one measured
value per row (formulas, values derived across units) take their values from `engine.values`
through `frame_derived`. A slow reference evaluation in the tests (`tests/engine/oracle.py`)
checks these rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import uses_fiscal
from lineofsight.engine.frame_derived import derived_values
from lineofsight.engine.frame_rollups import rollup_objectives, rollup_units
from lineofsight.engine.frame_scores import kpi_targets, score_rows
from lineofsight.engine.lag import (
    LOOKBACK,
    first_due,
    period_slots,
)
from lineofsight.engine.values import _period_start_expr, period_aggregates, period_value


@dataclass
class DefinitionFrames:
    """The definitions a scorecard needs, one frame per store table.

    kpis: id, position, unit_id, frequency, direction, aggregation, across_units, formula,
      ratio_scale, range_low, range_high, baseline_period, baseline_value, target_value,
      target_by, tolerance, tolerance_abs
    period_targets: kpi_id, unit_id ("" for the KPI's own), period, value
    unit_targets: kpi_id, unit_id, value, by_date, baseline_period, baseline_value
    supports: kpi_id, objective_id, weight
    objectives: id, position, parent_id, weight
    units: id, position, parent_id
    """

    kpis: pl.DataFrame
    period_targets: pl.DataFrame
    unit_targets: pl.DataFrame
    supports: pl.DataFrame
    objectives: pl.DataFrame
    units: pl.DataFrame
    calendar: m.Calendar
    scoring: m.Scoring


@dataclass
class FrameEvaluation:
    as_of: dt.date
    # id, unit, period, actual, target, miss, score, status, achievement, own_unit, due, data,
    # last_value, last_period
    kpis: pl.DataFrame
    objectives: pl.DataFrame  # id, score, status, coverage, counts, worst
    units: pl.DataFrame  # id, score, status, counts, worst


def _slots(
    kpis: pl.DataFrame, calendar: m.Calendar, as_of: dt.date, lag: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each frequency's slots (engine.lag), and each (frequency, due_days)'s first due slot."""
    longest = kpis.group_by("frequency").agg(pl.col("due_days").max())
    rows = []
    of: dict[str, tuple[Period, ...]] = {}
    for frequency, due in longest.iter_rows():
        of[frequency] = period_slots(m.Frequency(frequency), as_of, calendar, due if lag else None)
        for index, p in enumerate(of[frequency]):
            rows.append((frequency, index, p.start, p.end, p.label, int(p.grain), p.fiscal))
    slots = pl.DataFrame(
        rows,
        schema={
            "frequency": pl.String,
            "slot": pl.Int64,
            "p_start": pl.Date,
            "p_end": pl.Date,
            "period": pl.String,
            "grain": pl.Int8,
            "fiscal": pl.Boolean,
        },
        orient="row",
    )
    pairs = kpis.select("frequency", "due_days").unique()
    first = pl.DataFrame(
        [
            (f, d, first_due(of[f], as_of, d if lag else None), len(of[f]))
            for f, d in pairs.iter_rows()
        ],
        schema={
            "frequency": pl.String,
            "due_days": pl.Int64,
            "due_index": pl.Int64,
            "n_slots": pl.Int64,
        },
        orient="row",
    )
    return slots, first


def evaluate_frames(
    defs: DefinitionFrames, measurements: pl.DataFrame, as_of: dt.date, lag: bool = True
) -> FrameEvaluation:
    """Score every KPI row, objective and unit as of a date: with reporting lag, or as a
    period report (`lag=False`)."""
    scored = score_kpis(defs, measurements, as_of, lag)
    return rollup(defs, scored, as_of)


def rollup(defs: DefinitionFrames, scored: pl.DataFrame, as_of: dt.date) -> FrameEvaluation:
    """The scorecard of these KPI rows: with their objectives' and units' rows."""
    return FrameEvaluation(
        as_of, scored, rollup_objectives(defs, scored), rollup_units(defs, scored)
    )


def score_kpis(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    as_of: dt.date,
    lag: bool = True,
    only: Collection[str] | None = None,
) -> pl.DataFrame:
    """The KPI rows of the scorecard: of every KPI, or of the KPIs `only` (which must hold the
    inputs of its formulas; `measurements` need only hold theirs). A KPI's rows are the same
    either way: the periods each frequency looks at follow from every KPI of the store."""
    calendar = defs.calendar
    shift = calendar.fiscal_year_start - 1 if uses_fiscal(calendar) else 0
    kpis = defs.kpis.with_columns(
        pl.col("due_days").fill_null(calendar.due_days).cast(pl.Int64),
        across=pl.col("across_units").fill_null(
            pl.when(pl.col("aggregation").is_in(["sum", "last"]))
            .then(pl.lit("sum"))
            .otherwise(pl.lit("none"))
        ),
    )
    slots, first = _slots(kpis, calendar, as_of, lag)
    if only is not None:
        kpis = kpis.filter(pl.col("id").is_in(list(only)))
    # Rows are matched on integer keys, not on their text ids: `k` a KPI's row number here,
    # `key` a (KPI, unit) pair, `ks` a (KPI, unit, slot) triple (see `_codes`).
    spread = slots.height + 1  # more than any slot's number
    kpis, coded, unit_targets, units = _codes(kpis, measurements, defs.unit_targets)
    kpis = kpis.join(first, on=["frequency", "due_days"], how="left").join(
        slots.filter(pl.col("slot") == 0).select("frequency", "grain", "fiscal"),
        on="frequency",
        how="left",
    )
    measured = _measured(kpis, slots, coded, shift, units, spread)
    # The period of each KPI: its first slot with a value at its own unit, up to its first
    # due slot. Measured values first; formulas and values derived across units for the
    # slots where no measured value decides.
    own = measured.filter(pl.col("actual").is_not_null()).join(
        kpis.select("key"), on="key", how="semi"
    )
    candidates = kpis.select(
        pl.col("id").alias("kpi_id"),
        "k",
        "unit_id",
        "formula",
        "across",
        pl.int_ranges(0, pl.col("due_index") + 1).alias("slot"),
    ).filter(pl.col("formula").is_not_null() | (pl.col("across") != "none"))
    # Only the slots before the first measured one can change the choice.
    first_own = own.group_by("k").agg(pl.col("slot").min().alias("first_own"))
    asked = (
        candidates.explode("slot")
        .join(first_own, on="k", how="left")
        .filter(pl.col("first_own").is_null() | (pl.col("slot") < pl.col("first_own")))
    )
    derived_own = derived_values(
        defs,
        measurements,
        kpis,
        measured,
        list(asked.select("kpi_id", "unit_id", "slot").iter_rows()),
        as_of,
        slots,
    )
    found = pl.DataFrame(
        [(k, i) for (k, _, i), v in derived_own.items() if v is not None],
        schema={"kpi_id": pl.String, "slot": pl.Int64},
        orient="row",
    )
    with_value = pl.concat(
        [
            own.select("k", "slot"),
            found.join(kpis.select(pl.col("id").alias("kpi_id"), "k"), on="kpi_id").select(
                "k", "slot"
            ),
        ]
    )
    chosen = (
        kpis.select("k", "due_index")
        .join(
            with_value.group_by("k").agg(pl.col("slot").min().alias("first")),
            on="k",
            how="left",
        )
        .select(
            "k",
            pl.when(pl.col("first") <= pl.col("due_index"))
            .then(pl.col("first"))
            .otherwise(pl.col("due_index"))
            .alias("slot"),
        )
    )
    kpis = (
        kpis.drop("grain", "fiscal")
        .join(chosen, on="k")
        .join(slots, on=["frequency", "slot"], how="left")
    )
    # Every row: the KPI's own unit, units with values at its period, units with a target.
    pair = ["k", "key", "kpi_id", "unit_id"]
    at_period = measured.join(chosen, on=["k", "slot"]).filter(pl.col("actual").is_not_null())
    own_rows = kpis.select("k", "key", pl.col("id").alias("kpi_id"), "unit_id")
    rows = (
        pl.concat([own_rows, at_period.select(pair), unit_targets.select(pair)])
        .unique(subset="key", maintain_order=True)
        .join(
            kpis.select(
                "k",
                pl.col("key").alias("own_key"),
                "position",
                "formula",
                "across",
                pl.col("slot").alias("chosen"),
                "n_slots",
                "frequency",
            ),
            on="k",
        )
        .with_columns(own_unit=pl.col("key") == pl.col("own_key"))
    )
    # Each row's values at its chosen slot and the LOOKBACK slots before it.
    history = (
        rows.select(
            "kpi_id",
            "unit_id",
            "key",
            "formula",
            "across",
            "chosen",
            pl.int_ranges(
                pl.col("chosen"),
                pl.min_horizontal(pl.col("n_slots"), pl.col("chosen") + LOOKBACK + 1),
            ).alias("slot"),
        )
        .explode("slot")
        .with_columns(ks=pl.col("key") * spread + pl.col("slot"))
    )
    history = history.join(measured.select("ks", "actual"), on="ks", how="left")
    needs = history.filter(
        pl.col("formula").is_not_null()
        | (pl.col("actual").is_null() & (pl.col("across") != "none"))
    )
    triples = list(needs.select("kpi_id", "unit_id", "slot").iter_rows())
    known = {**derived_own}
    ask = [t for t in triples if t not in known]
    if ask:
        known.update(derived_values(defs, measurements, kpis, measured, ask, as_of, slots))
    if triples:
        patch = needs.select(
            "ks", pl.Series("derived", [known.get(t) for t in triples], dtype=pl.Float64)
        )
        history = history.join(patch, on="ks", how="left").with_columns(
            actual=pl.when(pl.col("formula").is_not_null() | pl.col("actual").is_null())
            .then(pl.col("derived"))
            .otherwise(pl.col("actual"))
        )
    current = history.filter(pl.col("slot") == pl.col("chosen")).select("key", "actual")
    last = (
        history.filter((pl.col("slot") > pl.col("chosen")) & pl.col("actual").is_not_null())
        .sort("slot")
        .group_by("key")
        .agg(pl.first("actual").alias("last_value"), pl.first("slot").alias("last_slot"))
    )
    rows = (
        rows.join(current, on="key", how="left")
        .join(last, on="key", how="left")
        .join(
            slots.select(
                "frequency",
                pl.col("slot").alias("last_slot"),
                pl.col("period").alias("last_period"),
            ),
            on=["frequency", "last_slot"],
            how="left",
        )
        .select(
            "k",
            "kpi_id",
            "unit_id",
            "own_unit",
            "position",
            "actual",
            "last_value",
            "last_period",
        )
    )
    rows = (
        rows.join(kpi_targets(defs, kpis), on=["kpi_id", "unit_id"], how="left")
        .join(
            kpis.select(
                "k",
                "period",
                "direction",
                "range_low",
                "range_high",
                "tolerance",
                "tolerance_abs",
                (pl.col("p_end") + pl.duration(days=pl.col("due_days"))).alias("due"),
            ),
            on="k",
        )
        .drop("k")
    )
    return score_rows(rows, as_of)


def _codes(
    kpis: pl.DataFrame, measurements: pl.DataFrame, unit_targets: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, int]:
    """The KPIs, measurements and unit targets with integer keys: `k` (the KPI's row number),
    `key` (its KPI and unit: one number per pair of ids), and for the measurements `u` (the
    unit's code). Units are coded in one pass over every unit id the three hold, so that equal
    ids get equal codes (joins on numbers instead of text)."""
    kpis = kpis.with_row_index("k").with_columns(pl.col("k").cast(pl.Int64))
    targets = unit_targets.select("kpi_id", "unit_id").join(
        kpis.select(pl.col("id").alias("kpi_id"), "k"), on="kpi_id"
    )
    sizes = [measurements.height, kpis.height, targets.height]
    codes = (
        pl.concat([measurements["unit_id"], kpis["unit_id"], targets["unit_id"]])
        .cast(pl.Categorical)
        .to_physical()
        .cast(pl.Int64)
    )
    # `key` = KPI row number x units + unit code, `ks` (in `_measured` and the history) =
    # key x spread + slot: numbers far below 2^63 (KPIs x units x slots).
    units = int(codes.max() or 0) + 1  # type: ignore[arg-type]
    measured = measurements.with_columns(u=codes.slice(0, sizes[0]))
    kpis = kpis.with_columns(key=pl.col("k") * units + codes.slice(sizes[0], sizes[1]))
    targets = targets.with_columns(key=pl.col("k") * units + codes.slice(sum(sizes[:2])))
    return kpis, measured, targets, units


def _measured(
    kpis: pl.DataFrame,
    slots: pl.DataFrame,
    measurements: pl.DataFrame,
    shift: int,
    units: int,
    spread: int,
) -> pl.DataFrame:
    """Each KPI's measured value per unit and slot: kpi_id, unit_id, slot, actual, with the
    integer keys k, key and ks (`_codes`)."""
    info = kpis.select(
        pl.col("id").alias("kpi_id"),
        "k",
        "frequency",
        pl.col("aggregation").fill_null("mean").alias("agg"),
        "ratio_scale",
    )
    joined = measurements.join(info, on="kpi_id", how="inner")
    # The slot of each row's period at its KPI's frequency: worked out once for each
    # frequency and distinct last day (a handful), not for each of the hundreds of thousands
    # of rows (a frequency's grain and fiscal year are those of its slots).
    frequencies = slots.filter(pl.col("slot") == 0).select(
        "frequency",
        "grain",
        pl.when(pl.col("fiscal")).then(shift).otherwise(0).alias("shift"),
    )
    by_end = ["frequency", "period_end"]
    ends = (
        joined.select(by_end)
        .unique()
        .join(frequencies, on="frequency")
        .with_columns(
            start=_period_start_expr(pl.col("grain"), pl.col("shift"), pl.col("period_end"))
        )
        .join(
            slots.select("frequency", "slot", pl.col("p_start").alias("start")),
            on=["frequency", "start"],
            how="inner",
        )
        .select(*by_end, "slot")
    )
    keys = ["ks", "kpi_id", "unit_id", "slot", "k", "key"]
    rows = (
        joined.join(ends, on=by_end, how="inner")
        .with_columns(key=pl.col("k") * units + pl.col("u"))
        .with_columns(ks=pl.col("key") * spread + pl.col("slot"))
        .with_columns(_several=pl.col("ks").is_duplicated())
    )
    # Most periods hold one row (a monthly value of a monthly KPI): its aggregates are the
    # row's own values, as `period_aggregates` makes them for a group of one (a sum of no
    # value is 0), without grouping; the others are grouped.
    value = pl.col("value")
    parts = [
        rows.filter(~pl.col("_several")).select(
            *keys,
            "agg",
            "ratio_scale",
            v_sum=value.fill_null(0.0),
            v_mean=value,
            v_last=value,
            v_min=value,
            v_max=value,
            num=pl.col("numerator").fill_null(0.0),
            den=pl.col("denominator").fill_null(0.0),
        )
    ]
    several = rows.filter(pl.col("_several")).drop("_several")
    if not several.is_empty():
        parts.append(
            period_aggregates(several.lazy(), ["ks"], *keys[1:], "agg", "ratio_scale").select(
                parts[0].columns
            )
        )
    return pl.concat(parts).select(*keys, period_value("ratio_scale").alias("actual"))
