"""Objective and unit rows of the scorecard (SPEC section 3): weighted scores, coverage, status
bands, and the counts and worst item that keep a mean from hiding a red."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.scoring import Status

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames

STATUSES = [s.value for s in Status]
# `counts`: how many direct items have each status; `worst`: the lowest-scoring direct item.
COUNTS_TYPE = pl.Struct({s: pl.Int64 for s in STATUSES})
WORST_TYPE = pl.Struct(
    {"id": pl.String, "kind": pl.String, "status": pl.String, "score": pl.Float64}
)


def _band(score: pl.Expr, scoring: m.Scoring) -> pl.Expr:
    """An objective's or unit's status from its score: `green_at`, `amber_at` bands."""
    return (
        pl.when(score.is_null())
        .then(pl.lit("no_data"))
        .when(score >= scoring.green_at)
        .then(pl.lit("green"))
        .when(score >= scoring.amber_at)
        .then(pl.lit("amber"))
        .otherwise(pl.lit("red"))
    )


def _tally(items: pl.DataFrame, by: str, ids: pl.DataFrame, *more: pl.Expr) -> pl.DataFrame:
    """Per group of items (`by`, kind, item_id, status, score): `counts` by status and
    `worst`, the lowest-scoring item (ties: KPIs before objectives, then by id), and `more`
    aggregations of the group's items, one row per id of `ids` (a frame with the column
    `id`)."""
    counts = items.group_by(by).agg(
        *more, *[(pl.col("status") == s).sum().alias(s) for s in STATUSES]
    )
    # Only the items at their group's lowest score are sorted (ties are few), within it.
    worst = (
        items.filter(pl.col("score") == pl.col("score").min().over(by))
        .group_by(by)
        .agg(pl.all().sort_by("score", "kind", "item_id").first())
        .select(
            by,
            pl.struct(pl.col("item_id").alias("id"), "kind", "status", "score").alias("worst"),
        )
    )
    return (
        ids.join(counts, left_on="id", right_on=by, how="left", maintain_order="left")
        .join(worst, left_on="id", right_on=by, how="left", maintain_order="left")
        .select(
            "id",
            *(e.meta.output_name() for e in more),
            pl.struct([pl.col(s).fill_null(0).cast(pl.Int64) for s in STATUSES])
            .cast(COUNTS_TYPE)
            .alias("counts"),
            pl.col("worst").cast(WORST_TYPE),
        )
    )


def rolled_up(objectives: pl.DataFrame) -> pl.DataFrame:
    """The objectives with the links their scores roll up along: a closed objective (`status:
    closed`, SPEC section 2) keeps its own row but is no item of its parent's (not in its
    score, coverage, counts or worst item), as if it had none."""
    closed = pl.col("status") == m.ObjectiveStatus.CLOSED.value
    return objectives.with_columns(parent_id=pl.when(closed).then(None).otherwise("parent_id"))


def rollup_objectives(
    defs: DefinitionFrames,
    scored: pl.DataFrame,
    only: Collection[str] | None = None,
    kept: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Each objective's weighted score, coverage, counts and worst item; or only the rows of
    the objectives `only` (which must hold the ancestors of each of them), the others' scores
    read from `kept` (rows of an earlier roll-up of the same definitions), in order of
    position."""
    own_rows = (
        scored.lazy()
        .filter(pl.col("own_unit"))
        .select(pl.col("id").alias("kpi_id"), "score", "status")
        .collect()
    )
    supports = defs.supports
    if only is not None:
        supports = supports.filter(pl.col("objective_id").is_in(list(only)))
        own_rows = own_rows.filter(pl.col("kpi_id").is_in(supports["kpi_id"].unique().implode()))
    # One join of the supports with their KPIs' rows, for the sums and the items; none when
    # each KPI supports one objective, in the order of its rows: they are set side by side.
    rows = own_rows.with_columns(_scored=pl.lit(True))
    if supports.height == rows.height and supports["kpi_id"].equals(rows["kpi_id"]):
        supported = supports.hstack(rows.drop("kpi_id"))
    else:
        supported = supports.join(rows, on="kpi_id", how="left")
    by_kpi = supported.group_by("objective_id").agg(
        pl.col("weight").sum().alias("total"),
        pl.col("weight").filter(pl.col("score").is_not_null()).sum().alias("scored"),
        (pl.col("weight") * pl.col("score")).sum().alias("weighted"),
    )
    objectives = rolled_up(defs.objectives.sort("position"))
    if only is None:
        frame = _scores_by_height(objectives, by_kpi)
        if frame is not None:
            return _objective_rows(defs, frame, supported, objectives, None)
    sums = {
        objective: (total, scored, weighted)
        for objective, total, scored, weighted in by_kpi.iter_rows()
    }
    if only is not None and kept is not None:
        found = _some_scores(objectives, set(only), sums, kept)
        if found is not None:
            some, scores = found
            frame = _scores_frame(some, scores)
            return _objective_rows(defs, frame, supported, objectives, kept)
    every = objectives["id"].to_list()
    known = set(every)
    parents = dict(zip(every, objectives["parent_id"].to_list(), strict=True))
    weights = dict(zip(every, objectives["weight"].to_list(), strict=True))
    children: dict[str, list[str]] = {}
    for objective_id in every:
        parent = parents[objective_id]
        if parent in known:
            children.setdefault(parent, []).append(objective_id)
    done: dict[str, tuple[float | None, float]] = {}
    ids = every
    if only is not None:
        # The objectives outside `only` keep their rows: their scores as the parents read them.
        wanted = set(only)
        ids = [i for i in every if i in wanted]
        if kept is not None:
            done = {
                i: (score, coverage)
                for i, score, coverage in kept.select("id", "score", "coverage").iter_rows()
                if i not in wanted
            }
    _walk(ids, children, weights, sums, done)
    return _objective_rows(
        defs,
        _scores_frame(ids, done),
        supported,
        objectives,
        kept if only is not None else None,
    )


Sums = dict[str, tuple[float, float, float]]
Scores = dict[str, tuple[float | None, float]]


def _walk(
    ids: list[str],
    children: dict[str, list[str]],
    weights: dict[str, float],
    sums: Sums,
    done: Scores,
) -> None:
    """Score and coverage of each objective of `ids` into `done` (which holds those known
    already), depth-first, children before parents; a cycle of parents scores nothing."""
    for root in ids:
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


def _some_scores(
    objectives: pl.DataFrame, only: set[str], sums: Sums, kept: pl.DataFrame
) -> tuple[list[str], Scores] | None:
    """The walk of `rollup_objectives` for the objectives `only` (in order of position)
    over their part of the tree alone: their children, and the kept scores of the children
    outside `only`; None when one of those is not kept (then the whole tree is walked)."""
    asked = list(only)
    mine = objectives.filter(pl.col("id").is_in(asked))
    ids = mine["id"].to_list()
    below = objectives.filter(pl.col("parent_id").is_in(ids)).select("id", "parent_id", "weight")
    children: dict[str, list[str]] = {}
    weights: dict[str, float] = {}
    for child, parent, weight in below.iter_rows():  # in order of position
        children.setdefault(parent, []).append(child)
        weights[child] = weight
    outside = [c for c in weights if c not in only]
    scores = kept.filter(pl.col("id").is_in(outside)).select("id", "score", "coverage")
    done: Scores = {i: (score, coverage) for i, score, coverage in scores.iter_rows()}
    if len(done) < len(set(outside)):
        return None
    _walk(ids, children, weights, sums, done)
    return ids, done


def _scores_frame(ids: list[str], done: Scores) -> pl.DataFrame:
    """The objectives `ids` with their scores and coverages of `done`."""
    return pl.DataFrame(
        {
            "id": ids,
            "score": [done[i][0] for i in ids],
            "coverage": [done[i][1] for i in ids],
        },
        schema={"id": pl.String, "score": pl.Float64, "coverage": pl.Float64},
    )


def _objective_rows(
    defs: DefinitionFrames,
    frame: pl.DataFrame,
    supported: pl.DataFrame,
    objectives: pl.DataFrame,
    kept: pl.DataFrame | None,
) -> pl.DataFrame:
    """The objective rows of `frame` (id, score, coverage) with their status, counts and worst
    item (`kept`: the rows of the objectives outside `frame`, for their statuses)."""
    ids = frame["id"].implode()
    frame = frame.with_columns(status=_band(pl.col("score"), defs.scoring))
    kpi_items = supported.filter(pl.col("_scored").is_not_null()).select(
        "objective_id",
        pl.lit("kpi").alias("kind"),
        pl.col("kpi_id").alias("item_id"),
        "status",
        "score",
    )
    statuses = frame.select("id", "status", "score")
    if kept is not None:
        statuses = pl.concat(
            [kept.select(statuses.columns).filter(~pl.col("id").is_in(ids)), statuses]
        )
    child_items = (
        objectives.filter(pl.col("parent_id").is_in(ids))
        .select(pl.col("parent_id").alias("objective_id"), pl.col("id").alias("item_id"))
        .join(statuses, left_on="item_id", right_on="id")
        .select(
            "objective_id",
            pl.lit("objective").alias("kind"),
            "item_id",
            "status",
            "score",
        )
    )
    tallied = _tally(pl.concat([kpi_items, child_items]), "objective_id", frame.select("id"))
    # (the tally's rows are those of `frame`, in its order)
    return frame.hstack(tallied.select("counts", "worst")).select(
        "id", "score", "status", "coverage", "counts", "worst"
    )


def _scores_by_height(objectives: pl.DataFrame, by_kpi: pl.DataFrame) -> pl.DataFrame | None:
    """Every objective's score and coverage (id, score, coverage; in the order of
    `objectives`), one objective after another from the leaves up (each as soon as all of
    its children are done): the sums of the walk of `rollup_objectives`, added in the same
    order (its KPIs' sums, then each child in order of position), without its stack; None
    for a cycle of parents (left to the walk). The leaves (most objectives: their KPIs'
    sums alone) are worked out on columns, the objectives with children one by one."""
    sums = [pl.col(c).fill_null(0.0) for c in ("total", "scored", "weighted")]
    total, scored, weighted = sums
    frame = (
        objectives.select("id", "parent_id", "weight")
        .with_row_index("i")
        .join(
            objectives.select(pl.col("id").alias("parent_id")).with_row_index("p"),
            on="parent_id",
            how="left",
            maintain_order="left",
        )
        .join(by_kpi, left_on="id", right_on="objective_id", how="left", maintain_order="left")
        .with_columns(
            score=pl.when(scored > 0).then(weighted / scored),
            coverage=pl.when(total > 0).then(scored / total).otherwise(0.0),
        )
    )
    # Each objective with children: its children's row numbers, in order of position.
    below = frame.filter(pl.col("p").is_not_null()).group_by("p", maintain_order=True).agg("i")
    children: dict[int, list[int]] = dict(below.iter_rows())
    # Each of them with its parent and its KPIs' sums.
    with_children = frame.filter(pl.col("i").is_in(below["p"].implode())).select("i", "p", *sums)
    inner = {node: (parent, own) for node, parent, *own in with_children.iter_rows()}
    # Children before parents (Kahn's order), among the objectives with children.
    waiting = {node: sum(1 for c in kids if c in children) for node, kids in children.items()}
    order = [node for node, w in waiting.items() if w == 0]
    for node in order:  # grows while it is read
        parent = inner[node][0]
        if parent is not None:
            waiting[parent] -= 1
            if waiting[parent] == 0:
                order.append(parent)
    if len(order) < len(children):
        return None  # a cycle of parents never gets ready
    if not order:
        return frame.select("id", "score", "coverage")
    weights = frame["weight"].to_list()
    scores: list[float | None] = frame["score"].to_list()
    coverages: list[float] = frame["coverage"].to_list()
    for node in order:
        total_, scored_, weighted_ = inner[node][1]
        for child in children[node]:
            weight = weights[child]
            total_ += weight
            child_score = scores[child]
            if child_score is not None:
                scored_ += weight
                weighted_ += weight * child_score
        scores[node] = weighted_ / scored_ if scored_ > 0 else None
        coverages[node] = scored_ / total_ if total_ > 0 else 0.0
    return pl.DataFrame(
        {"id": frame["id"], "score": scores, "coverage": coverages},
        schema={"id": pl.String, "score": pl.Float64, "coverage": pl.Float64},
    )


def rollup_units(
    defs: DefinitionFrames, scored: pl.DataFrame, only: Collection[str] | None = None
) -> pl.DataFrame:
    """Each unit's mean score of its own KPIs, counts and worst item; or only the rows of the
    units `only` (a unit's row depends on its own KPIs' rows alone), in order of position."""
    own_rows = scored.lazy().filter(pl.col("own_unit"))
    ids = defs.units.sort("position").select("id")
    if only is not None:
        ids = ids.filter(pl.col("id").is_in(list(only)))
        own_rows = own_rows.filter(pl.col("unit").is_in(list(only)))
    items = own_rows.select(
        "unit",
        pl.lit("kpi").alias("kind"),
        pl.col("id").alias("item_id"),
        "status",
        "score",
    ).collect()
    # The mean score of each unit's KPIs, in the tally's grouping of them.
    return (
        _tally(items, "unit", ids, pl.col("score").mean())
        .with_columns(status=_band(pl.col("score"), defs.scoring))
        .select("id", "score", "status", "counts", "worst")
    )
