"""The stored values `los check`'s data rules look at, read from the store as frames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from lineofsight.checks.base import Selection
from lineofsight.checks.context import Observation
from lineofsight.checks.data import CheckData, CheckValues, by_hand
from lineofsight.domain import model as m
from lineofsight.engine.calendar import evaluation_period
from lineofsight.engine.values import unsigned
from lineofsight.gcpause import paused_gc
from lineofsight.services.evaluate import read_kpi_frame, read_measurement_frame
from lineofsight.store.check_reads import read_ratios_without_denominator, read_recent_values
from lineofsight.store.database import Store
from lineofsight.store.organization import read_ratio_scales


def read_observations(store: Store) -> dict[str, list[Observation]]:
    """Every stored value, by KPI, as the rules look at them (ratios already divided)."""
    scales = read_ratio_scales(store).rows()
    return _observations(read_measurement_frame(store), scales)


def read_check_values(
    store: Store, data: CheckData, as_of: dt.date, selection: Selection
) -> CheckValues:
    """The stored values the data rules need: the same findings as with every value, from a
    fraction of a large store.

    The values of the recent periods are read: those of each KPI from the first day of the
    earliest period that DA01 (stale data) can ask about at its frequency; it looks at nothing
    older. Older values are read only for the KPIs the recent ones say nothing about: a KPI
    with no recent value at all (SM03 asks whether it was ever measured), and a formula's
    input with no recent value at its own unit (CF01 takes the latest one).
    """
    floors = _due_starts(data, as_of, selection)
    scales = data.kpis.select(kpi_id="id", scale="ratio_scale")
    recent = read_recent_values(store, floors)
    kpis = data.kpis
    read = {i for inputs in data.formula_inputs.values() for i in inputs}
    inputs = pl.Series(sorted(read), dtype=pl.String)
    with_own = recent.filter(
        pl.col("kpi_id").is_in(inputs.implode()) & pl.col("value").is_not_null()
    ).join(kpis.select(kpi_id="id", unit_id="unit"), on=["kpi_id", "unit_id"], how="semi")["kpi_id"]
    # An input without a recent value at its own unit; a KPI measured by hand with none.
    unseen = pl.concat(
        [
            kpis.filter(pl.col("id").is_in(inputs.implode())).join(
                with_own.to_frame("id"), on="id", how="anti"
            ),
            by_hand(kpis.filter(~pl.col("id").is_in(inputs.implode()))).join(
                recent.select(id="kpi_id"), on="id", how="anti"
            ),
        ]
    )
    older = unseen["id"].to_list()
    if older:
        # Values read twice (a KPI's between its floor and the latest one) change no finding.
        before = dt.date.fromordinal(max(floors.values()).toordinal() - 1)
        frame = read_kpi_frame(store, older, (dt.date.min, before))
        recent = pl.concat([_scaled(frame, scales), recent])
    return CheckValues(recent, read_ratios_without_denominator(store))


def _due_starts(data: CheckData, as_of: dt.date, selection: Selection) -> dict[str, dt.date]:
    """For each frequency, the first day of the earliest period DA01 looks at in the values
    of its KPIs: their own periods (that of the longest grace), and the periods of the
    formulas that read them."""
    given = selection.options.get("DA01", {}).get("grace_days")
    grace = (
        pl.lit(int(given), pl.Int64)
        if given is not None
        else pl.col("due_days").fill_null(data.calendar.due_days)
    )
    kpis = data.kpis.select("id", "frequency", grace=grace)
    pairs = kpis.select("frequency", "grace").unique()
    made = [
        evaluation_period(
            m.Frequency(frequency), as_of - dt.timedelta(days=days), data.calendar
        ).start
        for frequency, days in pairs.iter_rows()
    ]
    periods = pairs.with_columns(start=pl.Series(made, dtype=pl.Date))
    firsts = periods.group_by("frequency").agg(pl.col("start").min())
    inputs = data.formula_inputs
    if inputs:
        # A formula asks for its measured inputs' values within its own period.
        asked = [
            (kpi_id, leaf) for kpi_id, leaves in data.formula_leaves.items() for leaf in leaves
        ]
        leaves = pl.DataFrame(
            {"id": [a[0] for a in asked], "leaf": [a[1] for a in asked]},
            schema={"id": pl.String, "leaf": pl.String},
        )
        formulas = kpis.join(periods, on=["frequency", "grace"]).select("id", "start")
        through = (
            leaves.join(formulas, on="id")
            .join(kpis.select(leaf="id", leaf_frequency="frequency"), on="leaf")
            .select(frequency="leaf_frequency", start="start")
        )
        firsts = pl.concat([firsts, through]).group_by("frequency").agg(pl.col("start").min())
    floors = dict(firsts.iter_rows()) or {m.Frequency.MONTHLY.value: as_of}
    if selection.wants("AC01"):
        # AC01 looks back `periods` periods from the latest due one.
        count = int(selection.options.get("AC01", {}).get("periods", 2))
        for frequency, start in list(floors.items()):
            for _ in range(max(0, count - 1)):
                start = evaluation_period(
                    m.Frequency(frequency), start - dt.timedelta(days=1), data.calendar
                ).start
            floors[frequency] = start
    return floors


def _scaled(frame: pl.DataFrame, scales: pl.DataFrame) -> pl.DataFrame:
    """Measurement rows as the rules see them (a ratio's value divided out, null for a zero
    denominator), with each KPI's ratio scale (`scales`: kpi_id, scale) joined on."""
    scale = pl.col("scale")
    divided = unsigned(scale * pl.col("numerator") / pl.col("denominator"))
    value = (
        pl.when(pl.col("numerator").is_null() | scale.is_null())
        .then(pl.col("value"))
        .when(pl.col("denominator") != 0)
        .then(divided)
        .otherwise(None)
    )
    return frame.join(scales, on="kpi_id", how="left", maintain_order="left").select(
        "kpi_id", "unit_id", "period_start", "period_end", value.alias("value")
    )


def _divided(ratio_scale: Mapping[str, float]) -> pl.Expr:
    """A ratio's value divided out over the whole column at once, as the scalar sum did it
    ((scale * numerator) / denominator); a zero denominator gives no value."""
    value = pl.col("value")
    if not ratio_scale:
        return value
    scale = pl.col("kpi_id").replace_strict(ratio_scale, default=None, return_dtype=pl.Float64)
    divided = unsigned(scale * pl.col("numerator") / pl.col("denominator"))
    return (
        pl.when(pl.col("numerator").is_null() | scale.is_null())
        .then(value)
        .when(pl.col("denominator") != 0)
        .then(divided)
        .otherwise(None)
    )


def _observations(frame: pl.DataFrame, scales: Sequence[Any]) -> dict[str, list[Observation]]:
    """Measurement rows as the rules see them, by KPI in the frame's order (a ratio's value
    divided out, None for a zero denominator)."""
    ratio_scale = {kpi_id: scale for kpi_id, scale in scales if scale is not None}
    value = _divided(ratio_scale)
    # Each KPI's rows together, in the frame's order (a stable sort): a KPI's list is then
    # one slice, and nothing is done per row in Python but making its tuple.
    frame = frame.select(
        "kpi_id", "unit_id", value.alias("value"), "period_start", "period_end"
    ).sort("kpi_id", maintain_order=True)
    kpi_id = pl.col("kpi_id")
    firsts = frame.select(kpi_id.ne_missing(kpi_id.shift()).arg_true()).to_series().to_list()
    kpi_ids = frame.get_column("kpi_id").gather(firsts).to_list()
    # Column by column: millions of rows share a few dozen dates, so each date is made once.
    units, values = (frame.get_column(name).to_list() for name in ("unit_id", "value"))
    starts, ends = (_dates(frame.get_column(name)) for name in ("period_start", "period_end"))
    with paused_gc():  # millions of tuples, none in a cycle (the callers may pause it too)
        rows = list(map(Observation, units, starts, ends, values))
        bounds = zip(firsts, [*firsts[1:], len(rows)][: len(firsts)], strict=True)
        return {kpi: rows[start:end] for kpi, (start, end) in zip(kpi_ids, bounds, strict=True)}


def _dates(column: pl.Series) -> list[dt.date]:
    distinct = column.unique()
    made = dict(zip(distinct.to_physical().to_list(), distinct.to_list(), strict=True))
    return [made[day] for day in column.to_physical().to_list()]
