"""The last known value of the scorecard's rows that have none in the slots already read
(SPEC section 3, "Evaluation period": the latest value before the row's period, however old).

`engine.frames` finds most rows' last value in the `LOOKBACK` slots after the row's own. The
rows still without one are looked for here, further back: their KPIs' measurements, and those
of the KPIs their formulas read, before the slots' days (from `older`, which reads them for
these KPIs only, else from the measurements handed to the engine), each frequency's periods
numbered on as slots from its last one down to the period of the earliest of those values.
A measured row's last value is its latest period with a value there; a formula's, or a
unit's value derived from the units below, is derived (`frame_derived`) at the periods that
may have one, nearest first, a few at a time, until one has a value. A formula one of whose
inputs (through inner formulas) never had a value has none at any period (SPEC section 2: no
value when an input has none) and is not derived.

With `older`, the values of the `NEAR` days before the slots' are read first: a row whose
last value is a period starting within them has it there (every value a period's value
derives from is of a period ending within it, so read), and only the KPIs of the rows still
without one are read further back, over their whole history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain.formula_tree import references
from lineofsight.domain.periods import Period, PeriodError, previous_period
from lineofsight.engine.calendar import period_named, uses_fiscal
from lineofsight.engine.frame_derived import KEYS, _Formulas, derived_values
from lineofsight.engine.frame_measured import integer_keys, measured_values
from lineofsight.engine.frame_values import across_units
from lineofsight.engine.lag import LOOKBACK

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames

__all__ = ["Older", "older_values"]

# The measurements of these KPIs (every unit) whose period ends before the first day, and
# on or after the second when one is given, as the engine takes them
# (`engine.values.MEASUREMENT_SCHEMA`).
Older = Callable[[Collection[str], dt.date, dt.date | None], pl.DataFrame]

# How far before the slots' days the first read of older values reaches: a KPI silent for
# some months has its last value there (a year: a yearly KPI's last period too).
NEAR = dt.timedelta(days=366)

# How many periods of each row a round of derivations asks for, round after round (the last
# size for every later round): most last values are a few periods back.
_ROUNDS = (8, 64)


def older_values(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    older: Older | None,
    kpis: pl.DataFrame,
    rows: pl.DataFrame,
    lacking: pl.Series,
    as_of: dt.date,
    slots: pl.DataFrame,
) -> pl.DataFrame:
    """The last known value, beyond the slots read, of the `rows` (k, kpi_id, unit_id, slot:
    the row's chosen one) that are `lacking` one: row (its number in `rows`), last_value,
    last_period, for those that have one. `kpis`: the scored KPIs (k, id, frequency);
    `slots`: the slots' frame of `frames._slots`."""
    if older is None:
        found = _looked(defs, measurements, None, kpis, rows, lacking, as_of, slots, None)
        return found.drop("start")
    since = _boundary(slots) - NEAR
    near = _looked(defs, measurements, older, kpis, rows, lacking, as_of, slots, since)
    near = near.filter(pl.col("start") >= since)
    rest = lacking & ~pl.int_range(0, rows.height, dtype=pl.Int64, eager=True).is_in(
        near["row"].implode()
    )
    if not rest.any():
        return near.drop("start")
    far = _looked(defs, measurements, older, kpis, rows, rest, as_of, slots, None)
    return pl.concat([near, far]).drop("start")


def _boundary(slots: pl.DataFrame) -> dt.date:
    """The day from which the engine is handed every KPI's measurements: the latest first
    day of a frequency's slots (`services.evaluate._selection`)."""
    boundary = slots.group_by("frequency").agg(pl.col("p_start").min())["p_start"].max()
    assert isinstance(boundary, dt.date)
    return boundary


def _looked(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    older: Older | None,
    kpis: pl.DataFrame,
    rows: pl.DataFrame,
    lacking: pl.Series,
    as_of: dt.date,
    slots: pl.DataFrame,
    since: dt.date | None,
) -> pl.DataFrame:
    """`older_values`, with the first day of the periods' values its history holds when
    `older` reads only those ending on or after `since`: row, last_value, last_period,
    start."""
    found = pl.DataFrame(
        schema={
            "row": pl.Int64,
            "last_value": pl.Float64,
            "last_period": pl.String,
            "start": pl.Date,
        }
    )
    missing = (
        rows.select("k", "kpi_id", "unit_id", "slot")
        .with_columns(row=pl.int_range(0, rows.height, dtype=pl.Int64))
        .filter(lacking)
        .with_columns(
            # Slots up to the chosen one and the LOOKBACK after it are read already.
            first=pl.col("slot") + LOOKBACK + 1,
            frequency=pl.lit(kpis["frequency"]).gather(pl.col("k")),
        )
        .drop("k", "slot")
    )
    formulas = _Formulas(defs.kpis)
    needed = _with_inputs(set(missing["kpi_id"].unique().to_list()), formulas)
    history = _history(measurements, older, needed, slots, since)
    if history.is_empty():
        return found
    earliest = history["period_end"].min()
    assert isinstance(earliest, dt.date)
    sub = defs.kpis.filter(pl.col("id").is_in(list(needed))).with_columns(across=across_units())
    deep, first = _deep_slots(slots, set(sub["frequency"].to_list()), earliest, defs)
    shift = defs.calendar.fiscal_year_start - 1 if uses_fiscal(defs.calendar) else 0
    sub, coded, _, units = integer_keys(sub, history, defs.unit_targets)
    sub = sub.join(first, on="frequency", how="left", maintain_order="left")
    measured = measured_values(sub, deep, coded, shift, units, deep.height + 1)
    kinds = sub.select(
        pl.col("id").alias("kpi_id"),
        pl.col("formula").is_not_null().alias("is_formula"),
        (pl.col("across") != "none").alias("is_across"),
        "n_slots",
        "base",
    )
    missing = missing.join(kinds, on="kpi_id", how="left", maintain_order="left")
    # Formulas an input of which never had a value here have none at any period.
    valued = set(history["kpi_id"].unique().to_list())
    missing = missing.filter(
        ~pl.col("kpi_id").is_in(list(_without_values(needed, valued, formulas)))
    )
    # Measured rows: the nearest slot with a value of their own.
    nearest = (
        missing.filter(~pl.col("is_formula"))
        .join(
            measured.filter(pl.col("actual").is_not_null()).select(
                "kpi_id", "unit_id", "slot", "actual"
            ),
            on=["kpi_id", "unit_id"],
        )
        .filter(pl.col("slot") >= pl.col("first"))
        .sort("row", "slot")
        .unique("row", keep="first", maintain_order=True)
        .select("row", "slot", pl.col("actual").alias("value"))
    )
    derived = _derived(defs, history, sub, measured, missing, nearest, as_of, deep)
    best = (
        pl.concat([nearest, derived])
        .sort("row", "slot")
        .unique("row", keep="first", maintain_order=True)
        .join(missing.select("row", "base"), on="row")
    )
    at = best["base"] + best["slot"]
    return best.select(
        "row",
        pl.col("value").alias("last_value"),
        deep["period"].gather(at).alias("last_period"),
        deep["p_start"].gather(at).alias("start"),
    )


def _with_inputs(ids: set[str], formulas: _Formulas) -> set[str]:
    """The KPIs `ids` and every KPI their formulas read, through inner formulas."""
    found, frontier = set(ids), list(ids)
    while frontier:
        kpi_id = frontier.pop()
        if kpi_id not in formulas:
            continue
        for input_id in references(formulas[kpi_id]):
            if input_id not in found:
                found.add(input_id)
                frontier.append(input_id)
    return found


def _without_values(needed: set[str], valued: set[str], formulas: _Formulas) -> set[str]:
    """The formulas of `needed` an input of which, through inner formulas, is a KPI of
    `needed` with no value at all (not in `valued`, the KPIs with measurements)."""
    empty = {kpi_id for kpi_id in needed if kpi_id not in formulas and kpi_id not in valued}
    found: set[str] = set()
    changed = bool(empty)
    while changed:
        changed = False
        for kpi_id in needed:
            if (
                kpi_id in formulas
                and kpi_id not in found
                and any(i in empty or i in found for i in references(formulas[kpi_id]))
            ):
                found.add(kpi_id)
                changed = True
    return found


def _history(
    measurements: pl.DataFrame,
    older: Older | None,
    needed: set[str],
    slots: pl.DataFrame,
    since: dt.date | None = None,
) -> pl.DataFrame:
    """Every measurement of the KPIs `needed` up to the slots' last day (from `since` on
    when given): those handed to the engine, and, with `older`, those before the day from
    which the engine is handed every KPI's (`_boundary`)."""
    mine = measurements.filter(pl.col("kpi_id").is_in(list(needed)))
    if older is None:
        return mine
    boundary = _boundary(slots)
    before = older(needed, boundary, since).select(measurements.columns)
    return pl.concat([before, mine.filter(pl.col("period_end") >= boundary)])


def _deep_slots(
    slots: pl.DataFrame, frequencies: set[str], earliest: dt.date, defs: DefinitionFrames
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The slots' frame with the `frequencies`' periods laid on past their last slot, down
    to the one holding `earliest` (each slot keeps its number), and each frequency's number
    of slots and `base` (its first slot's row) in it."""
    rows: list[tuple[object, ...]] = []
    first: list[tuple[str, int, int]] = []
    for (frequency,), own in slots.group_by("frequency", maintain_order=True):
        base = len(rows)
        rows.extend(own.iter_rows())
        if frequency in frequencies:
            last = own.row(own.height - 1, named=True)
            period: Period = period_named(last["period"], defs.calendar)
            number = int(last["slot"])
            while period.start > earliest:
                try:
                    period = previous_period(period, defs.calendar)
                except PeriodError:  # before the first supported date
                    break
                number += 1
                rows.append(
                    (
                        frequency,
                        number,
                        period.start,
                        period.end,
                        period.label,
                        int(period.grain),
                        period.fiscal,
                    )
                )
        first.append((str(frequency), len(rows) - base, base))
    deep = pl.DataFrame(rows, schema=slots.schema, orient="row")
    return deep, pl.DataFrame(
        first,
        schema={"frequency": pl.String, "n_slots": pl.Int64, "base": pl.Int64},
        orient="row",
    )


def _derived(
    defs: DefinitionFrames,
    history: pl.DataFrame,
    sub: pl.DataFrame,
    measured: pl.DataFrame,
    missing: pl.DataFrame,
    nearest: pl.DataFrame,
    as_of: dt.date,
    deep: pl.DataFrame,
) -> pl.DataFrame:
    """The nearest slot with a derived value of the missing rows that may have one: row,
    slot, value. A formula's at any of its slots; a unit's taking its value from the units
    below at the slots nearer than its nearest own value where the KPI has a measured value
    at some unit."""
    none = pl.DataFrame(schema={"row": pl.Int64, "slot": pl.Int64, "value": pl.Float64})
    formulas = missing.filter(pl.col("is_formula")).select(
        "row", "kpi_id", "unit_id", slot=pl.int_ranges("first", "n_slots")
    )
    across = (
        missing.filter(~pl.col("is_formula") & pl.col("is_across"))
        .join(nearest.select("row", pl.col("slot").alias("own")), on="row", how="left")
        .join(measured.select("kpi_id", "slot").unique(), on="kpi_id")
        .filter(
            (pl.col("slot") >= pl.col("first"))
            & (pl.col("own").is_null() | (pl.col("slot") < pl.col("own")))
        )
        .group_by("row", "kpi_id", "unit_id")
        .agg(pl.col("slot").sort())
    )
    candidates = (
        pl.concat([formulas, across.select(formulas.columns)])
        .explode("slot")
        .drop_nulls("slot")
        .sort("row", "slot")
        .with_columns(rank=pl.int_range(pl.len()).over("row"))
    )
    if candidates.is_empty():
        return none
    parts, low = [], 0
    sizes = iter(_ROUNDS)
    size = next(sizes)
    while not candidates.is_empty():
        asked = candidates.filter(pl.col("rank") < low + size)
        candidates = candidates.filter(pl.col("rank") >= low + size)
        known = derived_values(defs, history, sub, measured, asked, as_of, deep)
        values = asked.join(known, on=KEYS, how="left", maintain_order="left").filter(
            pl.col("value").is_not_null()
        )
        found = values.sort("row", "slot").unique("row", keep="first", maintain_order=True)
        parts.append(found.select("row", "slot", "value"))
        candidates = candidates.join(found.select("row"), on="row", how="anti")
        low += size
        size = next(sizes, size)
    return pl.concat(parts)
