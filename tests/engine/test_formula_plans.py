"""Formula KPIs planned on columns for the frame scorecard: the KPIs a formula reads and its
shape, read from the text for sums of ids and from the parsed tree for the others, are the
parsed tree's (`references`, and formulas share a shape number when their trees have one
shape). The measured rows of one KPI, unit and slot are found as hashing would find them."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineofsight.domain.formula import parse_formula
from lineofsight.domain.formula_tree import references
from lineofsight.engine.frame_formulas import _positions, _shape, formula_plans
from lineofsight.engine.frame_measured import _shared

_IDS = st.sampled_from(["a", "b", "k01", "k_2", "in", "min", "x9"])
_SPACES = st.sampled_from(["", " ", "  "])


@st.composite
def _formulas(draw: st.DrawFn) -> str:
    if draw(st.booleans()):  # a sum of ids, maybe with an id twice, maybe too long for a sum
        text = draw(_SPACES) + draw(_IDS)
        for _ in range(draw(st.integers(0, 17))):
            text += draw(_SPACES) + draw(st.sampled_from("+-")) + draw(_SPACES) + draw(_IDS)
        return text + draw(_SPACES)
    return draw(
        st.sampled_from(
            ["a * b", "(a - b) / a * 100", "max(a, b) - 1", "-a + b", "a - (b + x9)", "2", "abs(a)"]
        )
    )


@given(st.lists(_formulas(), min_size=1, max_size=12))
def test_plans_read_what_the_parsed_formulas_read(texts: list[str]) -> None:
    frame = pl.DataFrame({"id": [f"f{i}" for i in range(len(texts))], "formula": texts})
    parsed = {f: parse_formula(t) for f, t in frame.iter_rows()}
    plans, examples = formula_plans(frame, parsed)
    assert sorted(plans["id"].to_list()) == sorted(parsed)
    shapes = {}
    for formula_id, reads, shape in plans.iter_rows():
        expr = parsed[formula_id]
        assert tuple(reads) == references(expr)
        shapes[formula_id] = shape
        example = parsed[examples[shape]]
        assert _shape(example, _positions(references(example))) == _shape(
            expr, _positions(references(expr))
        )
    trees = {f: _shape(e, _positions(references(e))) for f, e in parsed.items()}
    for f in parsed:
        for g in parsed:
            assert (shapes[f] == shapes[g]) == (trees[f] == trees[g])


@pytest.mark.parametrize("seed", range(20))
def test_shared_keys_are_the_duplicated_ones(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([0, 1, 2, 7, 300])
    keys = pl.Series(
        [rng.randrange(max(1, size // 2)) * 7919 - 50 for _ in range(size)], dtype=pl.Int64
    )
    assert _shared(keys).to_list() == keys.is_duplicated().to_list()
