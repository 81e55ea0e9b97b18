"""Objective scores worked out from the leaves of the tree up are the walk's (one objective
after another, children first), to the last bit: random forests of objectives with weights,
KPIs with and without a score, long chains, and cycles of parents (left to the walk)."""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.domain import model as m
from lineofsight.engine.frame_rollups import rollup_objectives
from lineofsight.engine.frames import DefinitionFrames

Objective = tuple[str, int, str | None, float]


def _defs(objectives: list[Objective], supports: list[tuple[str, str, float]]) -> DefinitionFrames:
    empty = pl.DataFrame()
    return DefinitionFrames(
        kpis=empty,
        period_targets=empty,
        unit_targets=empty,
        supports=pl.DataFrame(
            supports,
            schema={
                "kpi_id": pl.String,
                "objective_id": pl.String,
                "weight": pl.Float64,
            },
            orient="row",
        ),
        objectives=pl.DataFrame(
            objectives,
            schema={
                "id": pl.String,
                "position": pl.Int64,
                "parent_id": pl.String,
                "weight": pl.Float64,
                "status": pl.String,
            },
            orient="row",
        ),
        units=empty,
        calendar=m.Calendar(1),
        scoring=m.Scoring(),
    )


def _case(rng: random.Random, size: int, chain: int = 0, cycle: bool = False):  # type: ignore[no-untyped-def]
    ids = [f"o{i}" for i in range(size)]
    objectives = []
    for i, objective in enumerate(ids):
        if i < chain:  # a chain of `chain` levels: o0 <- o1 <- o2 ...
            parent = ids[i - 1] if i else None
        else:
            parent = rng.choice([None, None, "gone", *ids[:i]]) if i else None
        objectives.append(
            (
                objective,
                rng.randrange(10_000),
                parent,
                rng.choice([1.0, 0.5, 2.25, 0.1]),
                rng.choice(["active", "active", "active", "closed"]),
            )
        )
    if cycle and size > 3:
        objectives[1] = (ids[1], 1, ids[2], 1.0, "active")
        objectives[2] = (ids[2], 2, ids[1], 1.0, "active")
    rng.shuffle(objectives)
    kpis = [f"k{i}" for i in range(size * 2)]
    supports = [
        (kpi, rng.choice(ids), rng.choice([1.0, 0.3, 1.7, 0.0]))
        for kpi in kpis
        for _ in range(rng.choice([0, 1, 1, 2]))
    ]
    scores = [rng.choice([None, rng.uniform(0, 120), 100.0, 0.0]) for _ in kpis]
    scored = pl.DataFrame(
        {
            "id": kpis,
            "own_unit": [True] * len(kpis),
            "score": scores,
            "status": ["no_data" if s is None else "green" for s in scores],
        },
        schema={
            "id": pl.String,
            "own_unit": pl.Boolean,
            "score": pl.Float64,
            "status": pl.String,
        },
    )
    return _defs(objectives, supports), scored


@pytest.mark.parametrize("seed", range(40))
def test_scores_by_height_are_the_walks(seed: int) -> None:
    rng = random.Random(seed)
    defs, scored = _case(
        rng,
        rng.choice([1, 5, 40, 300]),
        chain=rng.choice([0, 0, 10, 90]),
        cycle=rng.random() < 0.2,
    )
    every = set(defs.objectives["id"].to_list())
    arrays = rollup_objectives(defs, scored)
    walk = rollup_objectives(defs, scored, only=every)  # every objective asked: the walk
    assert_frame_equal(arrays, walk, check_exact=True)


@pytest.mark.parametrize("seed", range(30))
def test_a_few_objectives_rolled_up_again_are_the_whole_trees(seed: int) -> None:
    """Rolling up only some objectives (each with its ancestors, the others' rows kept, as
    a kept scorecard's patch does: only their part of the tree is walked) gives the rows of
    rolling up every objective."""
    rng = random.Random(seed)
    defs, scored = _case(rng, rng.choice([5, 40, 300]), chain=rng.choice([0, 10]))
    whole = rollup_objectives(defs, scored)
    parents = dict(defs.objectives.select("id", "parent_id").iter_rows())
    only: set[str] = set()
    for start in rng.sample(list(parents), k=min(3, len(parents))):
        current: str | None = start
        while current is not None and current in parents and current not in only:
            only.add(current)
            current = parents[current]
    want = whole.filter(pl.col("id").is_in(sorted(only)))
    assert_frame_equal(rollup_objectives(defs, scored, only=only, kept=whole), want)


@pytest.mark.parametrize("seed", range(10))
def test_kpis_supporting_one_objective_each_in_their_rows_order_roll_up_as_joined(
    seed: int,
) -> None:
    """Supports of one objective per KPI, in the order of the KPIs' rows, are set beside the
    rows instead of joined to them: the same roll-up as the KPIs' rows in another order."""
    rng = random.Random(seed)
    defs, scored = _case(rng, rng.choice([5, 40, 300]), chain=rng.choice([0, 10]))
    objectives = defs.objectives["id"].to_list()
    defs.supports = pl.DataFrame(
        {
            "kpi_id": scored["id"],
            "objective_id": [rng.choice(objectives) for _ in range(scored.height)],
            "weight": [rng.choice([1.0, 0.3, 1.7, 0.0]) for _ in range(scored.height)],
        }
    )
    beside = rollup_objectives(defs, scored)
    joined = rollup_objectives(defs, scored.sample(fraction=1.0, shuffle=True, seed=seed))
    assert_frame_equal(beside, joined, check_exact=True)
    assert beside["score"].null_count() < beside.height
