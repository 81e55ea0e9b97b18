"""Objective and unit rows of the frame scorecard: scores, statuses, and the counts and worst
item that keep a mean from hiding a red (see `engine.evaluate` for the reference)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.evaluate import COUNTS_TYPE, WORST_TYPE
from lineofsight.engine.scoring import Status, band_status

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames

STATUSES = [s.value for s in Status]
# (score, kind, id, status): ordered so that the lowest-scoring item sorts first.
Item = tuple[float, str, str, str]


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
    """The `counts` and `worst` columns for these ids, built column-wise (fast)."""
    empty = ([0] * len(STATUSES), None)
    found = [tallies.get(item, empty) for item in ids]
    numbers = {s: [n[i] for n, _ in found] for i, s in enumerate(STATUSES)}
    lows = [low for _, low in found]
    counts = pl.DataFrame(numbers, schema=dict.fromkeys(STATUSES, pl.Int64)).to_struct("counts")
    worst = pl.DataFrame(
        {
            "id": [low[2] if low else None for low in lows],
            "kind": [low[1] if low else None for low in lows],
            "status": [low[3] if low else None for low in lows],
            "score": [low[0] if low else None for low in lows],
        },
        schema={"id": pl.String, "kind": pl.String, "status": pl.String, "score": pl.Float64},
    )
    has = pl.Series([low is not None for low in lows], dtype=pl.Boolean)
    worst_col = worst.select(pl.when(has).then(pl.struct(pl.all())).alias("worst")).to_series()
    return counts.cast(COUNTS_TYPE), worst_col.cast(WORST_TYPE)


def rollup_objectives(defs: DefinitionFrames, scored: pl.DataFrame) -> pl.DataFrame:
    """Each objective's weighted score, coverage, counts and worst item."""
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


def rollup_units(defs: DefinitionFrames, scored: pl.DataFrame) -> pl.DataFrame:
    """Each unit's mean score of its own KPIs, counts and worst item."""
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
