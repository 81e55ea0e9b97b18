"""A kept scorecard brought up to date after writes of values (see `services.snapshots`): the
KPIs written since scored again with the formulas that read them, then only the objectives
and units whose rows can change rolled up again, their rows replaced in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from itertools import pairwise

import polars as pl

from lineofsight.services.snapshots import SECTIONS, Scorecard
from lineofsight.store.database import Store


def patch(
    store: Store,
    card: Scorecard,
    changed: Collection[str],
    lag: bool,
    as_of: dt.date | None = None,
) -> Scorecard:
    """The scorecard with the KPIs `changed` (and every formula that reads them) scored again
    from the store, and the objectives and units whose rows can change rolled up again: the
    objectives those KPIs support and their ancestors, the units of their rows. With `as_of`
    another date than the card's, the scorecard of that date, when `changed` holds every KPI
    whose rows can differ between the two dates (`snapshot_days.moved_kpis`)."""
    import polars as pl

    from lineofsight.engine.frame_rollups import rollup_objectives, rollup_units
    from lineofsight.engine.frames import FrameEvaluation, score_kpis
    from lineofsight.services.evaluate import frame_window, older_measurements, read_kpi_frame
    from lineofsight.services.scorecard_frames import (
        label_kpis,
        label_objectives,
        label_units,
    )

    defs, ev, inputs, labels = card.defs, card.evaluation, card.inputs, card.labels
    day = as_of or ev.as_of
    known = defs.kpis.filter(pl.col("id").is_in(list(changed)))["id"].to_list()
    affected = _closure(set(known), inputs, upwards=True)
    if not affected:
        if day == ev.as_of:
            return card
        same = Scorecard(
            day,
            None,
            defs,
            FrameEvaluation(day, ev.kpis, ev.objectives, ev.units),
            inputs,
            stored=card._stored,
            labels=labels,
            changes={s: dict((card._changes or {}).get(s, {})) for s in SECTIONS},
        )
        same.base = card.base
        return same
    needed = _closure(affected, inputs, upwards=False)
    measurements = read_kpi_frame(store, needed, frame_window(defs, day, lag))
    mine = pl.col("id").is_in(list(affected))
    fresh = (
        score_kpis(defs, measurements, day, lag, only=needed, older=older_measurements(store))
        .filter(mine)
        .join(defs.kpis.filter(mine).select("id", "position"), on="id", how="left")
        .sort("position", pl.col("own_unit").not_(), "unit")
        .drop("position")
    )
    numbers = {"kpis": _numbers(ev.kpis, affected)}
    old = ev.kpis[numbers["kpis"]]
    # The rows replace those kept in place, when they are at the same units; a value at a
    # unit other than the KPI's own can add or take away that unit's row: then in full.
    if old.select("id", "unit").equals(fresh.select("id", "unit")):
        kpis = replace_rows(ev.kpis, numbers["kpis"], fresh)
    else:
        return _rebuilt(card, fresh, affected, day)
    changes = {section: dict((card._changes or {}).get(section, {})) for section in SECTIONS}
    changes["kpis"].update(_lines(numbers["kpis"], label_kpis(fresh, defs.calendar, labels)))
    objectives = _ancestors(
        defs.objectives,
        defs.supports.filter(pl.col("kpi_id").is_in(list(affected)))["objective_id"],
    )
    units = set(old["unit"].to_list()) | set(fresh["unit"].to_list())
    numbers["objectives"] = _numbers(ev.objectives, objectives)
    numbers["units"] = _numbers(ev.units, units)
    new_objectives = rollup_objectives(defs, kpis, only=objectives, kept=ev.objectives)
    new_units = rollup_units(defs, kpis, only=units)
    changes["objectives"].update(
        _lines(numbers["objectives"], label_objectives(new_objectives, labels))
    )
    changes["units"].update(_lines(numbers["units"], label_units(new_units, labels)))
    ev = FrameEvaluation(
        day,
        kpis,
        replace_rows(ev.objectives, numbers["objectives"], new_objectives),
        replace_rows(ev.units, numbers["units"], new_units),
    )
    # The rows saved in full stay as read (their JSON rows too, with the changed ones beside).
    patched = Scorecard(
        day, None, defs, ev, inputs, stored=card._stored, labels=labels, changes=changes
    )
    patched.base = card.base
    return patched


def _rebuilt(card: Scorecard, fresh: pl.DataFrame, affected: set[str], day: dt.date) -> Scorecard:
    """The scorecard with the KPI rows `fresh` instead of those of the KPIs `affected`, every
    objective and unit rolled up again (saved in full)."""
    import polars as pl

    from lineofsight.engine.frames import rollup
    from lineofsight.services.scorecard_frames import json_rows, labelled

    defs = card.defs
    kpis = (
        pl.concat([card.evaluation.kpis.filter(~pl.col("id").is_in(list(affected))), fresh])
        .join(defs.kpis.select("id", "position"), on="id", how="left")
        .sort("position", pl.col("own_unit").not_(), "unit")
        .drop("position")
    )
    ev = rollup(defs, kpis, day)
    frames = labelled(ev, defs, card.labels)
    rows = {s: json_rows(getattr(frames, s)) for s in SECTIONS}
    # The definitions are those read back: their stored bytes are saved again as they are.
    rebuilt = Scorecard(day, rows, defs, ev, card.inputs, stored=card._stored, labels=card.labels)
    rebuilt.base = card.base  # changed stays None: saved in full
    return rebuilt


def _numbers(frame: pl.DataFrame, ids: Collection[str]) -> list[int]:
    """The row numbers of the rows of `ids`, in the frame's order."""
    import polars as pl

    return (
        frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("n"), "id")
        .filter(pl.col("id").is_in(list(ids)))["n"]
        .to_list()
    )


def _ancestors(objectives: pl.DataFrame, start: pl.Series) -> set[str]:
    """The objectives `start` and every objective above them."""
    parents = dict(objectives.select("id", "parent_id").iter_rows())
    found: set[str] = set()
    for objective in start.to_list():
        while objective is not None and objective not in found and objective in parents:
            found.add(objective)
            objective = parents[objective]
    return found


def _lines(numbers: list[int], labelled: pl.DataFrame) -> dict[int, bytes]:
    """The JSON rows of labelled rows, by their row numbers `numbers` (in order)."""
    from lineofsight.services.scorecard_frames import json_rows

    return {n: row.encode() for n, row in zip(numbers, json_rows(labelled), strict=True)}


# The chunks a frame of patched rows may hold before they are made one (`replace_rows`).
_MOST_CHUNKS = 64


def replace_rows(frame: pl.DataFrame, numbers: list[int], rows: pl.DataFrame) -> pl.DataFrame:
    """The frame with its rows at `numbers` replaced by `rows` (in order; same columns)."""
    import polars as pl

    if not numbers:
        return frame
    if len(numbers) <= 64 and all(a < b for a, b in pairwise(numbers)):
        # A few rows: the frame's slices between them, not copied, with the rows in between.
        parts, at = [], 0
        for i, number in enumerate(numbers):
            parts += [frame.slice(at, number - at), rows.slice(i, 1).select(frame.columns)]
            at = number + 1
        parts.append(frame.slice(at))
        out = pl.concat(parts, how="vertical_relaxed", rechunk=False)
        # A scorecard held in memory is patched again and again: its chunks made one again
        # before they slow every later read of it.
        return out.rechunk() if out.n_chunks() > _MOST_CHUNKS else out
    # The rows appended, then every row gathered from its place: no sort of the frame.
    places = pl.int_range(0, frame.height, dtype=pl.UInt32, eager=True).scatter(
        numbers, pl.int_range(frame.height, frame.height + rows.height, dtype=pl.UInt32, eager=True)
    )
    return pl.concat([frame, rows.select(frame.columns)], how="vertical_relaxed")[places]


def formula_inputs(kpis: pl.DataFrame) -> pl.DataFrame:
    """Each formula KPI and the KPIs its formula names: kpi_id, input_id."""
    import polars as pl

    from lineofsight.domain.formula import FormulaError, parse_formula, references

    pairs: list[tuple[str, str]] = []
    for kpi_id, formula in (
        kpis.filter(pl.col("formula").is_not_null()).select("id", "formula").iter_rows()
    ):
        try:
            pairs.extend((kpi_id, name) for name in references(parse_formula(formula)))
        except FormulaError:
            continue  # `los apply` refuses such a file; nothing to follow
    return pl.DataFrame(pairs, schema={"kpi_id": pl.String, "input_id": pl.String}, orient="row")


def _closure(start: set[str], inputs: pl.DataFrame, *, upwards: bool) -> set[str]:
    """`start` and the KPIs reached from it along formula links (`inputs`: kpi_id,
    input_id): from an input to the formulas reading it (`upwards`) or the reverse; one
    filter of the links per step, not a map of all of them."""
    import polars as pl

    source, target = ("input_id", "kpi_id") if upwards else ("kpi_id", "input_id")
    found = set(start)
    frontier = list(start)
    while frontier:
        following = inputs.filter(pl.col(source).is_in(frontier))[target].to_list()
        frontier = [i for i in dict.fromkeys(following) if i not in found]
        found.update(frontier)
    return found


__all__ = ["formula_inputs", "patch", "replace_rows"]
