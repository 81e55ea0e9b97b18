"""The scorecard of a whole organisation computed on data frames, for large organisations.

It gives the same rows as `evaluate.evaluate_organization` (a test compares the two) but
works column by column with Polars over the store's tables, so that 100,000 KPIs take a
fraction of a second. The few KPIs that need more than one measured value per row (formulas,
values derived across units) are handed to the reference path, given as `derived`.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Grain, Period
from lineofsight.engine.calendar import period_named, uses_fiscal
from lineofsight.engine.evaluate import COUNTS_TYPE, WORST_TYPE
from lineofsight.engine.lag import (
    AWAITING,
    LOOKBACK,
    OVERDUE,
    REPORTED,
    first_due,
    period_slots,
)
from lineofsight.engine.scoring import Status, band_status
from lineofsight.engine.values import PERIOD_AGGREGATES, _period_start_expr, period_value

DAY = dt.timedelta(days=1)
STATUSES = [s.value for s in Status]
# (score, kind, id, status): ordered so that the lowest-scoring item sorts first.
Item = tuple[float, str, str, str]


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
    kpis: pl.DataFrame  # id, unit, period, actual, target, miss, score, status, achievement
    objectives: pl.DataFrame  # id, score, status, coverage
    units: pl.DataFrame  # id, score, status


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


def _spans(labels: pl.Series, calendar: m.Calendar) -> pl.DataFrame:
    """Start and end of each distinct period name (few distinct names: parse each once)."""
    rows = []
    for label in labels.unique().drop_nulls().to_list():
        p: Period = period_named(label, calendar)
        rows.append((label, p.start, p.end))
    return pl.DataFrame(
        rows, schema={"label": pl.String, "start": pl.Date, "end": pl.Date}, orient="row"
    )


def _glide(
    target: pl.Expr, by: pl.Expr, base_value: pl.Expr, base_end: pl.Expr, end: pl.Expr
) -> pl.Expr:
    """SPEC section 3's glide path, column-wise (days differenced)."""
    elapsed = (end - base_end).dt.total_days()
    span = (by - base_end).dt.total_days()
    return (
        pl.when(target.is_null())
        .then(None)
        .when(base_value.is_null())
        .then(target)
        .when(end >= by)
        .then(target)
        .when(end <= base_end)
        .then(base_value)
        .otherwise(base_value + (target - base_value) * elapsed / span)
    )


def evaluate_frames(
    defs: DefinitionFrames, measurements: pl.DataFrame, as_of: dt.date, lag: bool = True
) -> FrameEvaluation:
    """Score every KPI row, objective and unit as of a date: with reporting lag, or as a
    period report (`lag=False`)."""
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
    kpis = kpis.join(first, on=["frequency", "due_days"], how="left").join(
        slots.filter(pl.col("slot") == 0).select("frequency", "grain", "fiscal"),
        on="frequency",
        how="left",
    )
    measured = _measured(kpis, slots, measurements, shift)
    # The period of each KPI: its first slot with a value at its own unit, up to its first
    # due slot. Measured values first; formulas and values derived across units for the
    # slots where no measured value decides.
    own = measured.join(
        kpis.select(pl.col("id").alias("kpi_id"), pl.col("unit_id")), on=["kpi_id", "unit_id"]
    ).filter(pl.col("actual").is_not_null())
    candidates = kpis.select(
        pl.col("id").alias("kpi_id"),
        "unit_id",
        "formula",
        "across",
        pl.int_ranges(0, pl.col("due_index") + 1).alias("slot"),
    ).explode("slot")
    # Only the slots before the first measured one can change the choice.
    first_own = own.group_by("kpi_id").agg(pl.col("slot").min().alias("first_own"))
    asked = (
        candidates.filter(pl.col("formula").is_not_null() | (pl.col("across") != "none"))
        .join(first_own, on="kpi_id", how="left")
        .filter(pl.col("first_own").is_null() | (pl.col("slot") < pl.col("first_own")))
    )
    derived_own = _derived_values(
        defs,
        measurements,
        kpis,
        measured,
        list(asked.select("kpi_id", "unit_id", "slot").iter_rows()),
        as_of,
        slots,
    )
    with_value = pl.concat(
        [
            own.select("kpi_id", "slot"),
            pl.DataFrame(
                [(k, i) for (k, _, i), v in derived_own.items() if v is not None],
                schema={"kpi_id": pl.String, "slot": pl.Int64},
                orient="row",
            ),
        ]
    )
    chosen = (
        kpis.select(pl.col("id").alias("kpi_id"), "due_index")
        .join(
            with_value.group_by("kpi_id").agg(pl.col("slot").min().alias("first")),
            on="kpi_id",
            how="left",
        )
        .select(
            "kpi_id",
            pl.when(pl.col("first") <= pl.col("due_index"))
            .then(pl.col("first"))
            .otherwise(pl.col("due_index"))
            .alias("slot"),
        )
    )
    kpis = (
        kpis.drop("grain", "fiscal")
        .join(chosen.rename({"kpi_id": "id"}), on="id")
        .join(slots, on=["frequency", "slot"], how="left")
    )
    # Every row: the KPI's own unit, units with values at its period, units with a target.
    at_period = measured.join(chosen, on=["kpi_id", "slot"]).filter(pl.col("actual").is_not_null())
    own_rows = kpis.select(pl.col("id").alias("kpi_id"), "unit_id")
    target_rows = defs.unit_targets.select("kpi_id", "unit_id")
    rows = (
        pl.concat([own_rows, at_period.select("kpi_id", "unit_id"), target_rows])
        .unique(maintain_order=True)
        .join(
            kpis.select(
                pl.col("id").alias("kpi_id"),
                pl.col("unit_id").alias("own_unit_id"),
                "position",
                "formula",
                "across",
                pl.col("slot").alias("chosen"),
                "n_slots",
            ),
            on="kpi_id",
        )
        .with_columns(own_unit=pl.col("unit_id") == pl.col("own_unit_id"))
    )
    # Each row's values at its chosen slot and the LOOKBACK slots before it.
    history = rows.select(
        "kpi_id",
        "unit_id",
        "formula",
        "across",
        "chosen",
        pl.int_ranges(
            pl.col("chosen"), pl.min_horizontal(pl.col("n_slots"), pl.col("chosen") + LOOKBACK + 1)
        ).alias("slot"),
    ).explode("slot")
    history = history.join(measured, on=["kpi_id", "unit_id", "slot"], how="left")
    needs = history.filter(
        pl.col("formula").is_not_null()
        | (pl.col("actual").is_null() & (pl.col("across") != "none"))
    )
    triples = list(needs.select("kpi_id", "unit_id", "slot").iter_rows())
    known = {**derived_own}
    ask = [t for t in triples if t not in known]
    if ask:
        known.update(_derived_values(defs, measurements, kpis, measured, ask, as_of, slots))
    if triples:
        patch = pl.DataFrame(
            [(k, u, i, known.get((k, u, i))) for k, u, i in triples],
            schema={
                "kpi_id": pl.String,
                "unit_id": pl.String,
                "slot": pl.Int64,
                "derived": pl.Float64,
            },
            orient="row",
        )
        history = history.join(patch, on=["kpi_id", "unit_id", "slot"], how="left").with_columns(
            actual=pl.when(pl.col("formula").is_not_null() | pl.col("actual").is_null())
            .then(pl.col("derived"))
            .otherwise(pl.col("actual"))
        )
    current = history.filter(pl.col("slot") == pl.col("chosen")).select(
        "kpi_id", "unit_id", "actual"
    )
    last = (
        history.filter((pl.col("slot") > pl.col("chosen")) & pl.col("actual").is_not_null())
        .sort("slot")
        .group_by("kpi_id", "unit_id")
        .agg(pl.first("actual").alias("last_value"), pl.first("slot").alias("last_slot"))
    )
    rows = (
        rows.join(current, on=["kpi_id", "unit_id"], how="left")
        .join(last, on=["kpi_id", "unit_id"], how="left")
        .join(kpis.select(pl.col("id").alias("kpi_id"), "frequency"), on="kpi_id")
        .join(
            slots.select(
                "frequency",
                pl.col("slot").alias("last_slot"),
                pl.col("period").alias("last_period"),
            ),
            on=["frequency", "last_slot"],
            how="left",
        )
        .select("kpi_id", "unit_id", "own_unit", "position", "actual", "last_value", "last_period")
    )
    rows = rows.join(_targets(defs, kpis), on=["kpi_id", "unit_id"], how="left").join(
        kpis.select(
            pl.col("id").alias("kpi_id"),
            "period",
            "direction",
            "range_low",
            "range_high",
            "tolerance",
            "tolerance_abs",
            (pl.col("p_end") + pl.duration(days=pl.col("due_days"))).alias("due"),
        ),
        on="kpi_id",
    )
    scored = _score(rows, as_of)
    objectives = _objectives(defs, scored)
    units = _units(defs, scored)
    return FrameEvaluation(as_of, scored, objectives, units)


def _measured(
    kpis: pl.DataFrame, slots: pl.DataFrame, measurements: pl.DataFrame, shift: int
) -> pl.DataFrame:
    """Each KPI's measured value per unit and slot: kpi_id, unit_id, slot, actual."""
    info = kpis.select(
        pl.col("id").alias("kpi_id"),
        "frequency",
        "grain",
        pl.when(pl.col("fiscal")).then(shift).otherwise(0).alias("shift"),
        pl.col("aggregation").fill_null("mean").alias("agg"),
        "ratio_scale",
    )
    return (
        measurements.lazy()
        .join(info.lazy(), on="kpi_id", how="inner")
        .with_columns(
            start=_period_start_expr(pl.col("grain"), pl.col("shift"), pl.col("period_end"))
        )
        .join(
            slots.lazy().select("frequency", "slot", pl.col("p_start").alias("start")),
            on=["frequency", "start"],
            how="inner",
        )
        .sort("period_end", "period_start")
        .group_by("kpi_id", "unit_id", "slot")
        .agg(pl.first("agg"), pl.first("ratio_scale"), *PERIOD_AGGREGATES)
        .select("kpi_id", "unit_id", "slot", period_value("ratio_scale").alias("actual"))
        .collect()
    )


def _derived_values(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    triples: list[tuple[str, str, int]],
    as_of: dt.date,
    slots: pl.DataFrame,
) -> dict[tuple[str, str, int], float | None]:
    """Values of formulas and of units that take theirs from below, at (KPI, unit, slot)."""
    if not triples:
        return {}
    derived = _direct_formulas(kpis, measured, triples)
    rest = [t for t in triples if t not in derived]
    if rest:
        periods = {
            (f, i): Period(start, end, Grain(grain), label, fiscal)
            for f, i, start, end, label, grain, fiscal in slots.iter_rows()
        }
        derived.update(_derive(defs, measurements, kpis, rest, periods))
    return derived


def _targets(defs: DefinitionFrames, kpis: pl.DataFrame) -> pl.DataFrame:
    calendar = defs.calendar
    spans = _spans(
        pl.concat(
            [
                defs.period_targets["period"],
                kpis["baseline_period"],
                defs.unit_targets["baseline_period"],
            ]
        ),
        calendar,
    )
    evaluated = kpis.select(
        pl.col("id").alias("kpi_id"),
        "p_start",
        "p_end",
        "period",
        "direction",
        "range_low",
        "range_high",
        "tolerance",
        "tolerance_abs",
        "target_value",
        "target_by",
        "baseline_value",
        pl.col("unit_id").alias("own_unit"),
        pl.col("baseline_period"),
    )
    overrides = (
        defs.period_targets.join(spans, left_on="period", right_on="label")
        .join(evaluated.select("kpi_id", "p_start", "p_end"), on="kpi_id")
        .filter((pl.col("start") == pl.col("p_start")) & (pl.col("end") == pl.col("p_end")))
        .select("kpi_id", pl.col("unit_id").alias("scope"), pl.col("value").alias("override"))
        .unique(subset=["kpi_id", "scope"], keep="first", maintain_order=True)
    )
    base_end = spans.select(pl.col("label").alias("baseline_period"), pl.col("end").alias("b_end"))
    own = (
        evaluated.join(base_end, on="baseline_period", how="left")
        .join(overrides.filter(pl.col("scope") == ""), on="kpi_id", how="left")
        .select(
            "kpi_id",
            pl.col("own_unit").alias("unit_id"),
            pl.coalesce(
                "override",
                _glide(
                    pl.col("target_value"),
                    pl.col("target_by"),
                    pl.col("baseline_value"),
                    pl.col("b_end"),
                    pl.col("p_end"),
                ),
            ).alias("target"),
        )
    )
    unit_base = spans.select(pl.col("label").alias("baseline_period"), pl.col("end").alias("b_end"))
    per_unit = (
        defs.unit_targets.join(evaluated.select("kpi_id", "p_end", "own_unit"), on="kpi_id")
        .filter(pl.col("unit_id") != pl.col("own_unit"))
        .join(unit_base, on="baseline_period", how="left")
        .join(
            overrides.rename({"scope": "unit_id"}),
            on=["kpi_id", "unit_id"],
            how="left",
        )
        .select(
            "kpi_id",
            "unit_id",
            pl.coalesce(
                "override",
                _glide(
                    pl.col("value"),
                    pl.col("by_date"),
                    pl.col("baseline_value"),
                    pl.col("b_end"),
                    pl.col("p_end"),
                ),
            ).alias("target"),
        )
    )
    return pl.concat([own, per_unit])


def _score(rows: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    is_range = pl.col("direction") == "range"
    target = (
        pl.when(is_range)
        .then((pl.col("range_low") + pl.col("range_high")) / 2)
        .otherwise(pl.col("target"))
    )
    # Nothing infinite or NaN goes into a score (as evaluate.score_kpi).
    rows = rows.with_columns(
        target=pl.when(target.is_finite()).then(target),
        actual=pl.when(pl.col("actual").is_finite()).then(pl.col("actual")),
    )
    actual, target = pl.col("actual"), pl.col("target")
    miss = (
        pl.when(pl.col("direction") == "increase")
        .then(pl.max_horizontal(pl.lit(0.0), target - actual))
        .when(pl.col("direction") == "decrease")
        .then(pl.max_horizontal(pl.lit(0.0), actual - target))
        .otherwise(
            pl.max_horizontal(
                pl.lit(0.0), pl.col("range_low") - actual, actual - pl.col("range_high")
            )
        )
    ).clip(upper_bound=sys.float_info.max)
    tol = pl.coalesce(
        "tolerance_abs", pl.col("tolerance").fill_null(m.DEFAULT_TOLERANCE) * target.abs()
    )
    rows = rows.with_columns(miss=miss, tol=tol)
    miss, tol = pl.col("miss"), pl.col("tol")
    score = (
        pl.when(tol == 0)
        .then(pl.when(miss == 0).then(100.0).otherwise(0.0))
        .otherwise((100.0 - 50.0 * (miss / tol)).clip(0.0, 100.0))  # as scoring.score_of
    )
    status = (
        pl.when(actual.is_null())
        .then(pl.lit("no_data"))
        .when(target.is_null())
        .then(pl.lit("no_target"))
        .when(miss == 0)
        .then(pl.lit("green"))
        .when(miss <= tol)
        .then(pl.lit("amber"))
        .otherwise(pl.lit("red"))
    )
    known = actual.is_not_null() & target.is_not_null()
    achievement = (
        pl.when(pl.col("direction") == "decrease")
        .then(pl.when(actual != 0).then(target / actual))
        .otherwise(pl.when(target != 0).then(actual / target))
    )
    achievement = pl.when(achievement.is_finite()).then(achievement)
    return (
        rows.with_columns(
            status=status,
            score=pl.when(known).then(score),
            miss=pl.when(known).then(miss),
            achievement=pl.when(known).then(achievement),
            data=pl.when(actual.is_not_null())
            .then(pl.lit(REPORTED))
            .when(pl.col("due") <= as_of)
            .then(pl.lit(OVERDUE))
            .otherwise(pl.lit(AWAITING)),
        )
        .sort("position", pl.col("own_unit").not_(), "unit_id")
        .select(
            pl.col("kpi_id").alias("id"),
            pl.col("unit_id").alias("unit"),
            "period",
            "actual",
            "target",
            "miss",
            "score",
            "status",
            "achievement",
            "own_unit",
            "due",
            "data",
            "last_value",
            "last_period",
        )
    )


def _band(score: pl.Expr, scoring: m.Scoring) -> pl.Expr:
    return (
        pl.when(score.is_null())
        .then(pl.lit("no_data"))
        .when(score >= scoring.green_at)
        .then(pl.lit("green"))
        .when(score >= scoring.amber_at)
        .then(pl.lit("amber"))
        .otherwise(pl.lit("red"))
    )


def _kpi_tally(items: pl.DataFrame, by: str) -> dict[str, tuple[list[int], Item | None]]:
    """Per group of KPI rows (kpi_id, score, status): counts by status and the lowest-scoring
    KPI (ties by id)."""
    counts = items.group_by(by).agg(*[(pl.col("status") == s).sum().alias(s) for s in STATUSES])
    worst = (
        items.filter(pl.col("score").is_not_null())
        .sort("score", "kpi_id")
        .group_by(by, maintain_order=True)
        .first()
    )
    found: dict[str, tuple[list[int], Item | None]] = {
        row[0]: (list(row[1:]), None) for row in counts.select(by, *STATUSES).iter_rows()
    }
    for key, kpi_id, score, status in worst.select(by, "kpi_id", "score", "status").iter_rows():
        found[key] = (found[key][0], (score, "kpi", kpi_id, status))
    return found


def _tally_frame(
    ids: list[str], tallies: dict[str, tuple[list[int], Item | None]]
) -> tuple[pl.Series, pl.Series]:
    empty = ([0] * len(STATUSES), None)
    counts = []
    worst = []
    for item in ids:
        numbers, low = tallies.get(item, empty)
        counts.append(dict(zip(STATUSES, numbers, strict=True)))
        worst.append(
            None
            if low is None
            else {"id": low[2], "kind": low[1], "status": low[3], "score": low[0]}
        )
    return (
        pl.Series("counts", counts, dtype=COUNTS_TYPE),
        pl.Series("worst", worst, dtype=WORST_TYPE),
    )


def _objectives(defs: DefinitionFrames, scored: pl.DataFrame) -> pl.DataFrame:
    own_rows = scored.filter(pl.col("own_unit")).select(
        pl.col("id").alias("kpi_id"), "score", "status"
    )
    scores = own_rows.select("kpi_id", "score")
    kpi_tallies = _kpi_tally(defs.supports.join(own_rows, on="kpi_id", how="inner"), "objective_id")
    by_kpi = (
        defs.supports.join(scores, on="kpi_id", how="left")
        .group_by("objective_id")
        .agg(
            pl.col("weight").sum().alias("total"),
            pl.col("weight").filter(pl.col("score").is_not_null()).sum().alias("scored"),
            (pl.col("weight") * pl.col("score")).sum().alias("weighted"),
        )
    )
    sums = {
        objective: (total, scored, weighted)
        for objective, total, scored, weighted in by_kpi.iter_rows()
    }
    objectives = defs.objectives.sort("position")
    ids = objectives["id"].to_list()
    known = set(ids)
    parents = dict(zip(ids, objectives["parent_id"].to_list(), strict=True))
    weights = dict(zip(ids, objectives["weight"].to_list(), strict=True))
    children: dict[str, list[str]] = {}
    for objective_id in ids:
        parent = parents[objective_id]
        if parent in known:
            children.setdefault(parent, []).append(objective_id)
    done: dict[str, tuple[float | None, float]] = {}
    for root in ids:
        # Depth-first, children before parents; a cycle of parents scores nothing.
        stack: list[tuple[str, bool]] = [(root, False)]
        visiting: set[str] = set()
        while stack:
            node, expanded = stack.pop()
            if node in done:
                continue
            if not expanded:
                if node in visiting:
                    done[node] = (None, 0.0)
                    continue
                visiting.add(node)
                stack.append((node, True))
                stack.extend((c, False) for c in children.get(node, ()) if c not in done)
                continue
            total, scored, weighted = sums.get(node, (0.0, 0.0, 0.0))
            for child in children.get(node, ()):
                weight = weights[child]
                total += weight
                child_score = done.get(child, (None, 0.0))[0]
                if child_score is not None:
                    scored += weight
                    weighted += weight * child_score
            value = weighted / scored if scored > 0 else None
            done[node] = (value, scored / total if total > 0 else 0.0)
    tallies: dict[str, tuple[list[int], Item | None]] = {}
    scoring = defs.scoring
    for objective_id in ids:
        numbers, low = kpi_tallies.get(objective_id, ([0] * len(STATUSES), None))
        numbers = list(numbers)
        for child in children.get(objective_id, ()):
            child_score = done.get(child, (None, 0.0))[0]
            status = band_status(child_score, scoring).value
            numbers[STATUSES.index(status)] += 1
            if child_score is not None:
                candidate: Item = (child_score, "objective", child, status)
                if low is None or candidate[:3] < low[:3]:
                    low = candidate
        tallies[objective_id] = (numbers, low)
    counts, worst = _tally_frame(ids, tallies)
    frame = pl.DataFrame(
        {
            "id": ids,
            "score": [done[i][0] for i in ids],
            "coverage": [done[i][1] for i in ids],
        },
        schema={"id": pl.String, "score": pl.Float64, "coverage": pl.Float64},
    )
    return frame.with_columns(
        status=_band(pl.col("score"), defs.scoring), counts=counts, worst=worst
    ).select("id", "score", "status", "coverage", "counts", "worst")


def _units(defs: DefinitionFrames, scored: pl.DataFrame) -> pl.DataFrame:
    own_rows = scored.filter(pl.col("own_unit"))
    per_unit = own_rows.group_by("unit").agg(
        pl.col("score").mean().alias("score"), pl.len().alias("kpis")
    )
    ids = defs.units.sort("position")["id"].to_list()
    counts, worst = _tally_frame(
        ids,
        _kpi_tally(
            own_rows.select(pl.col("id").alias("kpi_id"), "unit", "score", "status"), "unit"
        ),
    )
    return (
        pl.DataFrame({"id": ids}, schema={"id": pl.String})
        .join(per_unit, left_on="id", right_on="unit", how="left")
        .with_columns(status=_band(pl.col("score"), defs.scoring), counts=counts, worst=worst)
        .select("id", "score", "status", "counts", "worst")
    )


def _direct_formulas(
    kpis: pl.DataFrame, measured: pl.DataFrame, triples: list[tuple[str, str, int]]
) -> dict[tuple[str, str, int], float | None]:
    """Formulas whose inputs are measured KPIs of the same period grain: evaluated straight
    from the inputs' own values at the same slot (the same period: slots are per frequency).
    Anything else (nested formulas, inputs of another grain or derived across units) is left
    for the reference path."""
    from lineofsight.domain.formula import evaluate, parse_formula, references

    columns = ("id", "formula", "grain", "fiscal", "unit_id", "across", "aggregation")
    formulas = kpis.filter(
        pl.col("formula").is_not_null() & pl.col("id").is_in(list({k for k, _, _ in triples}))
    )
    inputs_of: dict[str, tuple[str, ...]] = {
        kpi_id: references(parse_formula(formula))
        for kpi_id, formula in formulas.select("id", "formula").iter_rows()
    }
    involved = set(inputs_of) | {i for inputs in inputs_of.values() for i in inputs}
    info = {
        row[0]: row[1:]
        for row in kpis.filter(pl.col("id").is_in(list(involved))).select(columns).iter_rows()
    }
    wanted = {i for inputs in inputs_of.values() for i in inputs}
    values = {
        (kpi_id, unit_id, slot): actual
        for kpi_id, unit_id, slot, actual in measured.filter(pl.col("kpi_id").is_in(list(wanted)))
        .select("kpi_id", "unit_id", "slot", "actual")
        .iter_rows()
    }
    result: dict[tuple[str, str, int], float | None] = {}
    for kpi_id, unit_id, slot in triples:
        inputs = inputs_of.get(kpi_id)
        if inputs is None:
            continue  # not a formula: a value derived across units
        formula, grain, fiscal = info[kpi_id][0], info[kpi_id][1], info[kpi_id][2]
        known: dict[str, float] = {}
        direct = True
        for input_id in inputs:
            found = info.get(input_id)
            if found is None or found[0] is not None or (found[1], found[2]) != (grain, fiscal):
                direct = False
                break
            across = found[4]
            value = values.get((input_id, unit_id, slot))
            if value is None and across != "none":
                direct = False  # the unit may take a value from below
                break
            if value is None and found[3] != unit_id:
                value = values.get((input_id, found[3], slot))
                if value is None and across != "none":
                    direct = False
                    break
            if value is None:
                known = {}
                break
            known[input_id] = value
        if not direct:
            continue
        complete = len(known) == len(inputs)
        result[(kpi_id, unit_id, slot)] = (
            evaluate(parse_formula(formula), known) if complete else None
        )
    return result


def _derive(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    triples: list[tuple[str, str, int]],
    periods: dict[tuple[str, int], Period],
) -> dict[tuple[str, str, int], float | None]:
    """Values of formulas and of units that take theirs from below, by the reference rules
    (engine.values), over only the KPIs concerned."""
    from lineofsight.domain.formula import parse_formula, references
    from lineofsight.engine.values import ValueTable

    formulas = dict(
        kpis.filter(pl.col("formula").is_not_null()).select("id", "formula").iter_rows()
    )
    wanted: set[str] = set()
    stack = [kpi_id for kpi_id, _, _ in triples]
    while stack:
        kpi_id = stack.pop()
        if kpi_id in wanted:
            continue
        wanted.add(kpi_id)
        formula = formulas.get(kpi_id)
        if formula is not None:
            stack.extend(references(parse_formula(formula)))
    rows = {r["id"]: r for r in kpis.filter(pl.col("id").is_in(list(wanted))).iter_rows(named=True)}
    wanted &= set(rows)
    subset = tuple(_minimal_kpi(rows[kpi_id]) for kpi_id in sorted(wanted))
    subset_measurements = measurements.filter(pl.col("kpi_id").is_in(list(wanted)))
    # Only the units that carry these KPIs' values or rows, with their ancestors (which
    # connect them): values are derived upwards from units that have data.
    parents = dict(zip(defs.units["id"].to_list(), defs.units["parent_id"].to_list(), strict=True))
    needed: set[str] = set(subset_measurements["unit_id"].unique().to_list())
    needed.update(unit_id for _, unit_id, _ in triples)
    needed.update(str(rows[kpi_id]["unit_id"]) for kpi_id in wanted)
    for start in list(needed):
        current = parents.get(start)
        while current is not None and current not in needed:
            needed.add(current)
            current = parents.get(current)
    units = tuple(
        m.Unit(id=unit_id, name=unit_id, level=m.UnitLevel.TEAM, parent=parents.get(unit_id))
        for unit_id in sorted(needed)
        if unit_id in parents
    )
    org = m.Organization(name="", calendar=defs.calendar, units=units, kpis=subset)
    table = ValueTable(org, subset_measurements)
    result: dict[tuple[str, str, int], float | None] = {}
    for kpi_id, unit_id, slot in triples:
        period = periods[(str(rows[kpi_id]["frequency"]), slot)]
        result[(kpi_id, unit_id, slot)] = table.value(kpi_id, period, unit_id)
    return result


def _minimal_kpi(row: dict[str, object]) -> m.Kpi:
    """A KPI with what values need: frequency, aggregation, across units, ratio, formula."""
    scale = row["ratio_scale"]
    return m.Kpi(
        id=str(row["id"]),
        name=str(row["id"]),
        unit=str(row["unit_id"]),
        frequency=m.Frequency(str(row["frequency"])),
        direction=m.Direction(str(row["direction"])),
        aggregation=m.Aggregation(str(row["aggregation"])) if row["aggregation"] else None,
        across_units=m.AcrossUnits(str(row["across_units"])) if row["across_units"] else None,
        formula=str(row["formula"]) if row["formula"] is not None else None,
        ratio=m.Ratio("", "", float(scale)) if scale is not None else None,  # type: ignore[arg-type]
    )
