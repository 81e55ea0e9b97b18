"""The measured values of the frame scorecard (`engine.frames`): the KPIs, measurements and
unit targets with integer keys, each KPI's measured value per unit and slot, and those values
laid out in one array by row and slot, so that a row's values are gathered by position
instead of joined."""

from __future__ import annotations

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.lag import LOOKBACK
from lineofsight.engine.values import period_aggregates, period_value

__all__ = ["integer_keys", "laid_out", "measured_values", "per_kpi", "slot_offsets"]

AGGREGATIONS = pl.Enum([a.value for a in m.Aggregation])


def integer_keys(
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


def measured_values(
    kpis: pl.DataFrame,
    slots: pl.DataFrame,
    measurements: pl.DataFrame,
    shift: int,
    units: int,
    spread: int,
) -> pl.DataFrame:
    """Each KPI's measured value per unit and slot: kpi_id, unit_id, slot, actual, with the
    integer keys k, key and ks (`integer_keys`), and `own` (at the KPI's own unit)."""
    frequency_codes = {f: i for i, f in enumerate(slots["frequency"].unique(maintain_order=True))}
    info = kpis.select(
        pl.col("id").alias("kpi_id"),
        "k",
        pl.col("key").alias("own_key"),
        pl.col("frequency")
        .replace_strict(frequency_codes, default=-1, return_dtype=pl.Int32)
        .alias("f"),
        # (an enum's codes are gathered for each row, not its text; any other text, as none,
        # is a mean)
        pl.col("aggregation").cast(AGGREGATIONS, strict=False).fill_null("mean").alias("agg"),
        "ratio_scale",
    )
    # The slot of each row: the one of its KPI's frequency whose days hold its last day (the
    # periods of a frequency tile the calendar, so each day is in one slot at most). Read
    # from a table of every frequency's days from the first slot's start to the last slot's
    # end, by position, so that the cost does not grow with the number of slots.
    # (days as day numbers: a date's physical value)
    first, last = slots.select(
        pl.col("p_start").to_physical().min().cast(pl.Int64),
        pl.col("p_end").to_physical().max().cast(pl.Int64),
    ).row(0)
    width = last - first + 1
    days = slots.select(
        pl.col("frequency").replace_strict(frequency_codes, return_dtype=pl.Int64).alias("f"),
        "slot",
        day=pl.int_ranges(
            pl.col("p_start").to_physical() - first, pl.col("p_end").to_physical() - first + 1
        ),
    ).explode("day")
    table = pl.repeat(None, len(frequency_codes) * width, dtype=pl.Int64, eager=True).scatter(
        days["f"] * width + days["day"], days["slot"]
    )
    day = pl.col("period_end").to_physical().cast(pl.Int64) - first
    slot = pl.lit(table).gather(
        pl.when((day >= 0) & (day < width) & (pl.col("f") >= 0)).then(pl.col("f") * width + day)
    )
    keys = ["ks", "kpi_id", "unit_id", "slot", "k", "key", "own"]
    rows = (
        measurements.lazy()
        .join(info.lazy(), on="kpi_id", how="inner")
        .with_columns(slot=slot, key=pl.col("k") * units + pl.col("u"))
        .filter(pl.col("slot").is_not_null())
        .with_columns(
            ks=pl.col("key") * spread + pl.col("slot"), own=pl.col("key") == pl.col("own_key")
        )
        .collect()
    )
    # Most periods hold one row (a monthly value of a monthly KPI): its aggregates are the
    # row's own values, as `period_aggregates` makes them for a group of one (a sum of no
    # value is 0), without grouping; the others are grouped.
    value = pl.col("value")
    shared = _shared(rows["ks"])
    several = rows.filter(shared)
    single = (
        (rows if several.is_empty() else rows.filter(~shared))
        .lazy()
        .select(
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
    )
    if not several.is_empty():
        grouped = period_aggregates(several.lazy(), ["ks"], *keys[1:], "agg", "ratio_scale")
        single = pl.concat([single, grouped.lazy().select(single.collect_schema().names())])
    return single.select(*keys, period_value("ratio_scale").alias("actual")).collect()


def _shared(keys: pl.Series) -> pl.Series:
    """Whether each key is another's too (`is_duplicated`), from the keys in sorted order:
    a sort of integers costs less than hashing them."""
    if keys.has_nulls():
        return keys.is_duplicated()
    order = keys.arg_sort()
    ordered = keys.gather(order)
    same = (ordered.diff() == 0).fill_null(False)
    held = same | same.shift(-1, fill_value=False)
    return pl.repeat(False, keys.len(), dtype=pl.Boolean, eager=True).scatter(order, held)


def slot_offsets(n_slots: pl.Series) -> tuple[pl.Series, int]:
    """Where each row's slots start in an array that lays rows of `n_slots` slots each side
    by side (each row only as wide as its own frequency's slots, so that a frequency with
    many slots widens its own KPIs' rows only), and the array's size: with room after the
    last row for reading `LOOKBACK` slots past its end (such reads are masked by the caller)."""
    widths = n_slots.cast(pl.Int64)
    offsets = widths.cum_sum() - widths
    return offsets, int(widths.sum() or 0) + LOOKBACK + 1


def laid_out(measured: pl.DataFrame, number: pl.Series, offsets: pl.Series, size: int) -> pl.Series:
    """The measured values of rows laid out in one array of `size`, each row's slots side by
    side from its offset (`slot_offsets`): the value of row `number` (a series beside
    `measured`, null for a value of no row) at slot s is at `offsets[number] + s`."""
    placed = measured.select(
        place=offsets.gather(number) + pl.col("slot"), actual=pl.col("actual")
    ).drop_nulls("place")
    laid = pl.repeat(None, size, dtype=pl.Float64, eager=True).alias("actual")
    return laid.scatter(placed["place"], placed["actual"])


def per_kpi(n: int, frame: pl.DataFrame, column: str) -> pl.Series:
    """A column of `frame` (with a KPI row number `k` each, once) as a series of the `n`
    KPIs, in their order (null for the KPIs it does not hold)."""
    values = pl.repeat(None, n, dtype=frame.schema[column], eager=True).alias(column)
    if not frame.is_empty():
        values.scatter(frame["k"], frame[column])
    return values
