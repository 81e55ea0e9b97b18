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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import uses_fiscal
from lineofsight.engine.frame_derived import KEYS, VALUE_SCHEMA, derived_values
from lineofsight.engine.frame_measured import (
    integer_keys,
    laid_out,
    measured_values,
    per_kpi,
    slot_offsets,
)
from lineofsight.engine.frame_older import Older, older_values
from lineofsight.engine.frame_rollups import rollup_objectives, rollup_units
from lineofsight.engine.frame_scores import own_targets, row_targets, score_rows
from lineofsight.engine.frame_values import across_units
from lineofsight.engine.lag import (
    LOOKBACK,
    first_due,
    period_slots,
)


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
    """Each frequency's slots (engine.lag), one frequency after another, and each
    (frequency, due_days)'s first due slot, number of slots and `base`, the row of its
    frequency's first slot in the slots' frame (a slot's row is `base + slot`). `kpis`:
    the KPIs' frequency and due_days (each pair once is enough)."""
    longest = kpis.group_by("frequency").agg(pl.col("due_days").max())
    rows: list[tuple[object, ...]] = []
    of: dict[str, tuple[Period, ...]] = {}
    base: dict[str, int] = {}
    for frequency, due in longest.iter_rows():
        of[frequency] = period_slots(m.Frequency(frequency), as_of, calendar, due if lag else None)
        base[frequency] = len(rows)
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
            (f, d, first_due(of[f], as_of, d if lag else None), len(of[f]), base[f])
            for f, d in pairs.iter_rows()
        ],
        schema={
            "frequency": pl.String,
            "due_days": pl.Int64,
            "due_index": pl.Int64,
            "n_slots": pl.Int64,
            "base": pl.Int64,
        },
        orient="row",
    )
    return slots, first


def evaluate_frames(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    as_of: dt.date,
    lag: bool = True,
    older: Older | None = None,
) -> FrameEvaluation:
    """Score every KPI row, objective and unit as of a date: with reporting lag, or as a
    period report (`lag=False`). `older`: see `score_kpis`."""
    scored = score_kpis(defs, measurements, as_of, lag, older=older)
    return rollup(defs, scored, as_of)


def rollup(defs: DefinitionFrames, scored: pl.DataFrame, as_of: dt.date) -> FrameEvaluation:
    """The scorecard of these KPI rows: with their objectives' and units' rows (the units'
    rolled up in a second thread while the objectives' tree is walked in Python: Polars
    lets go of Python's lock while it works)."""
    with ThreadPoolExecutor(1) as pool:
        units = pool.submit(rollup_units, defs, scored)
        objectives = rollup_objectives(defs, scored)
        return FrameEvaluation(as_of, scored, objectives, units.result())


def score_kpis(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    as_of: dt.date,
    lag: bool = True,
    only: Collection[str] | None = None,
    older: Older | None = None,
) -> pl.DataFrame:
    """The KPI rows of the scorecard: of every KPI, or of the KPIs `only` (which must hold the
    inputs of its formulas; `measurements` need only hold theirs). A KPI's rows are the same
    either way: the periods each frequency looks at follow from every KPI of the store.

    `measurements` holds at least those of the days of the slots (`services.evaluate`
    reads them); a row's last known value older than these is looked for in `older`'s
    (`frame_older`), else in `measurements`, which must then hold every older value."""
    calendar = defs.calendar
    shift = calendar.fiscal_year_start - 1 if uses_fiscal(calendar) else 0
    due_days = pl.col("due_days").fill_null(calendar.due_days).cast(pl.Int64)
    # The slots follow from every KPI's frequency and due days, whatever KPIs are scored.
    slots, first = _slots(defs.kpis.select("frequency", due_days).unique(), calendar, as_of, lag)
    kpis = defs.kpis if only is None else defs.kpis.filter(pl.col("id").is_in(list(only)))
    kpis = kpis.with_columns(
        due_days,
        across=across_units(),
    )
    # Rows are matched on integer keys, not on their text ids: `k` a KPI's row number here,
    # `key` a (KPI, unit) pair, `ks` a (KPI, unit, slot) triple (see `frame_measured.integer_keys`).
    spread = slots.height + 1  # more than any slot's number (only a factor of `ks`)
    kpis, coded, unit_targets, units = integer_keys(kpis, measurements, defs.unit_targets)
    kpis = kpis.join(first, on=["frequency", "due_days"], how="left", maintain_order="left")
    measured = measured_values(kpis, slots, coded, shift, units, spread)
    # The KPIs' own measured values laid out side by side, each KPI as wide as its frequency's
    # slots (`frame_measured.laid_out`): a KPI's value at slot s is at `offsets[k] + s`.
    numbers = measured.select(pl.when(pl.col("own")).then(pl.col("k"))).to_series()
    offsets, size = slot_offsets(kpis["n_slots"])
    laid = laid_out(measured, numbers, offsets, size)
    chosen, derived_own = _chosen_slots(
        defs, measurements, kpis, measured, laid, offsets, as_of, slots
    )
    # Each KPI's period: its slot's row of the slots' frame (`_slots`), gathered by number.
    kpis = kpis.with_columns(slot=chosen).hstack(
        slots.select("p_start", "p_end", "period").gather(kpis["base"] + chosen)
    )
    rows, derived_others = _row_slots(
        defs, measurements, kpis, measured, _rows(kpis, measured, unit_targets), as_of, slots
    )
    actual, last_value, last_slot = _history(
        defs,
        measurements,
        kpis,
        measured,
        rows,
        laid,
        offsets,
        pl.concat([derived_own, derived_others]),
        as_of,
        slots,
    )
    n = kpis.height
    own = kpis.select(
        pl.col("id").alias("kpi_id"),
        "unit_id",
        pl.lit(True).alias("own_unit"),
        "position",
        own_targets(defs, kpis).alias("target"),
    )
    k, row_slot = rows["k"], rows["slot"]
    attributes = kpis.select(
        "direction",
        "range_low",
        "range_high",
        "tolerance",
        "tolerance_abs",
        "due_days",
        "base",
    )
    if rows.height > n:  # rows at other units than the KPI's own: their own periods
        attributes = attributes.gather(k)
        spans = slots.select("p_start", "p_end", "period").gather(attributes["base"] + row_slot)
        others = (
            rows.slice(n)
            .select("kpi_id", "unit_id", pl.lit(False).alias("own_unit"))
            .with_columns(position=kpis["position"].gather(k.slice(n)))
        )
        targets = row_targets(defs, others.hstack(spans.slice(n).select("p_start", "p_end")), kpis)
        own = pl.concat([own, others.with_columns(target=targets)])
        attributes = attributes.with_columns(period=spans["period"], p_end=spans["p_end"])
    else:
        attributes = attributes.hstack(kpis.select("period", "p_end"))
    attributes = attributes.select(
        "period",
        "direction",
        "range_low",
        "range_high",
        "tolerance",
        "tolerance_abs",
        (pl.col("p_end") + pl.duration(days=pl.col("due_days"))).alias("due"),
    )
    periods = slots["period"].gather(kpis["base"].gather(k) + last_slot)
    lacking = last_value.is_null()
    if lacking.any():  # the rows with no value in the slots read: looked for further back
        found = older_values(defs, measurements, older, kpis, rows, lacking, as_of, slots)
        if not found.is_empty():
            last_value = last_value.scatter(found["row"], found["last_value"])
            periods = periods.scatter(found["row"], found["last_period"])
    return score_rows(
        own.with_columns(
            actual=actual,
            last_value=last_value,
            last_period=periods,
        ).hstack(attributes),
        as_of,
    )


# Up to how many slots each KPI's first measured one is read slot by slot (beyond: grouped).
FEW_SLOTS = 8


def _chosen_slots(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    laid: pl.Series,
    offsets: pl.Series,
    as_of: dt.date,
    slots: pl.DataFrame,
) -> tuple[pl.Series, pl.DataFrame]:
    """Each KPI's slot (in the order of `kpis`): its first with a value at its own unit, up
    to its first due slot. Measured values first; formulas and values derived across units
    for the slots where no measured value decides (those derived are returned too)."""
    n = kpis.height
    # The first slot with a value at the KPI's own unit, up to its first due one (a later one
    # is never chosen): read slot by slot from `laid` when every KPI is due within a few
    # slots, else grouped from the measured values (one pass, however many slots).
    due = kpis["due_index"]
    last = int(due.max() or 0)  # type: ignore[arg-type]
    if last < FEW_SLOTS:  # one query: the first slot up to the due one with a value
        values, at, until = pl.lit(laid), pl.lit(offsets), pl.lit(due)
        first_own = pl.select(
            pl.coalesce(
                pl.when(values.gather(pl.when(slot <= until).then(at + slot)).is_not_null()).then(
                    pl.lit(slot, dtype=pl.Int64)
                )
                for slot in range(last + 1)
            )
        ).to_series()
    else:
        first_own = per_kpi(
            n,
            measured.lazy()
            .filter(pl.col("own") & pl.col("actual").is_not_null())
            .group_by("k")
            .agg(pl.col("slot").min())
            .collect(),
            "slot",
        )
    # Only the slots before the first measured one can change the choice. A formula's value
    # is derived at every slot its row shows (`_history`: its slot and the LOOKBACK after
    # it), so all of them are asked at once (those after the choice cannot change it).
    formula = pl.col("formula").is_not_null()
    asked = (
        kpis.with_columns(first_own=first_own)
        .filter(formula | (pl.col("across") != "none"))
        .select(
            pl.col("id").alias("kpi_id"),
            "unit_id",
            pl.int_ranges(
                0,
                pl.when(formula)
                .then(pl.min_horizontal(pl.col("due_index") + LOOKBACK + 1, pl.col("n_slots")))
                .otherwise(pl.min_horizontal(pl.col("due_index") + 1, pl.col("first_own"))),
            ).alias("slot"),
        )
        .explode("slot")
        .drop_nulls("slot")
    )
    derived_own = derived_values(defs, measurements, kpis, measured, asked, as_of, slots)
    found = derived_own.filter(pl.col("value").is_not_null()).select("kpi_id", "slot")
    first = first_own
    if not found.is_empty():
        by_kpi = (
            found.group_by("kpi_id")
            .agg(pl.col("slot").min())
            .join(kpis.select(pl.col("id").alias("kpi_id"), "k"), on="kpi_id")
        )
        first = pl.select(pl.min_horizontal(first, per_kpi(n, by_kpi, "slot"))).to_series()
    return (
        pl.select(pl.when(first <= due).then(first).otherwise(due).alias("slot")).to_series(),
        derived_own,
    )


def _rows(kpis: pl.DataFrame, measured: pl.DataFrame, unit_targets: pl.DataFrame) -> pl.DataFrame:
    """The rows of the scorecard: the KPIs' own units (one each, in the order of `kpis`,
    row number `k`), then the other units with a value of their own at one of the KPI's
    slots up to its first due one, or a target of their own: k, key, kpi_id, unit_id, slot
    (the own rows' the KPI's; the others' their first slot with a measured value up to the
    first due one, null for a unit with a target and no such value)."""
    pair = ["k", "key", "kpi_id", "unit_id"]
    own = kpis.select(pl.col("k"), "key", pl.col("id").alias("kpi_id"), "unit_id", "slot")
    measured_here = (
        measured.filter(
            ~pl.col("own")
            & pl.col("actual").is_not_null()
            & (pl.col("slot") <= pl.lit(kpis["due_index"]).gather(pl.col("k")))
        )
        .group_by(pair, maintain_order=True)
        .agg(pl.col("slot").min())
    )
    targets = unit_targets.filter(pl.col("key") != pl.lit(kpis["key"]).gather(pl.col("k")))
    if measured_here.is_empty() and targets.is_empty():
        return own
    others = pl.concat([measured_here, targets.select(*pair, slot=pl.lit(None, pl.Int64))]).unique(
        subset="key", keep="first", maintain_order=True
    )
    return pl.concat([own, others])


def _row_slots(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    rows: pl.DataFrame,
    as_of: dt.date,
    slots: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows with each one's slot chosen as its KPI's own row's is (`_chosen_slots`): its
    first slot with a value up to the KPI's first due one, else the first due one. The rows
    at other units of formulas and of values derived across units are asked for derived
    values at the slots before their first measured one (those derived are returned too)."""
    n = kpis.height
    found = pl.DataFrame(schema=VALUE_SCHEMA)
    if rows.height == n:
        return rows, found
    others = rows.slice(n)
    per_row = kpis.select("due_index", "formula", "across").gather(others["k"])
    derived = per_row["formula"].is_not_null() | (per_row["across"] != "none")
    due = per_row["due_index"]
    slot = others["slot"]
    if derived.any():
        asked = (
            others.select(
                "kpi_id",
                "unit_id",
                pl.int_ranges(
                    0, pl.min_horizontal(due + 1, pl.col("slot").fill_null(due + 1))
                ).alias("asked"),
                row=pl.int_range(0, others.height),
            )
            .filter(derived)
            .explode("asked")
            .drop_nulls("asked")
            .rename({"asked": "slot"})
        )
        found = derived_values(defs, measurements, kpis, measured, asked, as_of, slots)
        with_value = asked.join(
            found.filter(pl.col("value").is_not_null()), on=KEYS, how="semi", maintain_order="left"
        )
        if not with_value.is_empty():
            first = with_value.group_by("row").agg(pl.col("slot").min())
            earlier = pl.repeat(None, others.height, dtype=pl.Int64, eager=True).scatter(
                first["row"], first["slot"]
            )
            slot = pl.select(pl.coalesce(earlier, slot)).to_series()
    chosen = pl.select(pl.coalesce(slot, due)).to_series()
    return pl.concat([rows.head(n), others.with_columns(slot=chosen)]), found


def _history(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    rows: pl.DataFrame,
    laid: pl.Series,
    offsets: pl.Series,
    derived: pl.DataFrame,
    as_of: dt.date,
    slots: pl.DataFrame,
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Each row's value at its slot (`rows`' slot), and the last known value before it with
    its slot (the first of the LOOKBACK slots after it with one), in the order of `rows`.

    `laid`, `offsets`: the KPIs' own measured values (`frame_measured.laid_out`); the other
    rows' are laid after them, and each row's values gathered by position instead of joined."""
    n = kpis.height
    k = rows["k"]
    per_row = kpis.select("n_slots", "formula", "across")
    if rows.height > n:  # the other rows' values laid after the KPIs' own
        per_row = per_row.gather(k)
        others = rows.slice(n).select("key", number=pl.int_range(0, rows.height - n))
        number = (
            measured.select("key", "own")
            .join(others, on="key", how="left", maintain_order="left")
            .select(pl.when(~pl.col("own")).then(pl.col("number")))
            .to_series()
        )
        placed, size = slot_offsets(per_row["n_slots"].slice(n))
        offsets = offsets.append(placed + laid.len())
        laid = laid.append(laid_out(measured, number, placed, size))
    chosen, n_slots = rows["slot"], per_row["n_slots"]
    start = offsets + chosen
    values = []
    for step in range(LOOKBACK + 1):
        value = laid.gather(start + step)
        values.append(pl.select(pl.when(chosen + step < n_slots).then(value)).to_series())
    # Formulas, and units that take their value from the units below where none is
    # measured: their values derived (engine.frame_derived).
    formula = per_row["formula"].is_not_null()
    across = per_row["across"] != "none"
    needs = []
    for step, value in enumerate(values):
        wanted = (chosen + step < n_slots) & (formula | (value.is_null() & across))
        needs.append(
            rows.select("kpi_id", "unit_id", slot=chosen + step)
            .with_columns(row=pl.int_range(0, rows.height), step=pl.lit(step))
            .filter(wanted)
        )
    need = pl.concat(needs)
    if not need.is_empty():
        # Values derived already (`derived`: each at most once), and the others now.
        ask = need.join(derived, on=KEYS, how="anti")
        if not ask.is_empty():
            more = derived_values(defs, measurements, kpis, measured, ask, as_of, slots)
            derived = pl.concat([derived, more])
        value = need.join(derived, on=KEYS, how="left", maintain_order="left")["value"]
        steps, at = need["step"], need["row"]
        for step in range(len(values)):
            mine = steps == step
            values[step] = values[step].scatter(at.filter(mine), value.filter(mine))
    last_value = pl.repeat(None, rows.height, dtype=pl.Float64, eager=True)
    last_slot = pl.repeat(None, rows.height, dtype=pl.Int64, eager=True)
    for step in range(LOOKBACK, 0, -1):  # the nearest slot with a value last, so it wins
        found = values[step].is_not_null()
        last_value = pl.select(pl.when(found).then(values[step]).otherwise(last_value)).to_series()
        last_slot = pl.select(pl.when(found).then(chosen + step).otherwise(last_slot)).to_series()
    return values[0], last_value, last_slot
