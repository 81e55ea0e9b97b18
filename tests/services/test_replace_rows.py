"""A kept scorecard's rows replaced in place (`snapshot_patch.replace_rows`): the frame with
the rows at the given numbers swapped, whether few (slices of the frame) or many (one
gather), with struct and null columns."""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.services.snapshot_patch import replace_rows


def _frame(n: int, tag: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"{tag}{i}" for i in range(n)],
            "score": [None if i % 7 == 0 else i / 3 for i in range(n)],
            "worst": [{"id": f"w{i}", "score": float(i)} for i in range(n)],
        },
        schema={
            "id": pl.String,
            "score": pl.Float64,
            "worst": pl.Struct({"id": pl.String, "score": pl.Float64}),
        },
    )


@pytest.mark.parametrize(("size", "count"), [(10, 0), (10, 1), (10, 10), (500, 5), (500, 200)])
def test_rows_are_replaced_at_their_numbers(size: int, count: int) -> None:
    rng = random.Random(size * 1000 + count)
    frame = _frame(size, "k")
    numbers = sorted(rng.sample(range(size), count))
    rows = _frame(count, "new")
    got = replace_rows(frame, numbers, rows)
    want = frame.to_dicts()
    for i, number in enumerate(numbers):
        want[number] = rows.row(i, named=True)
    assert_frame_equal(got, pl.DataFrame(want, schema=frame.schema))


def test_numbers_out_of_order_still_land_at_their_places() -> None:
    frame, rows = _frame(6, "k"), _frame(2, "new")
    got = replace_rows(frame, [4, 1], rows)
    assert got["id"].to_list() == ["k0", "new1", "k2", "k3", "new0", "k5"]


def test_a_frame_patched_again_and_again_keeps_few_chunks() -> None:
    rng = random.Random(7)
    frame = _frame(500, "k")
    want = frame.to_dicts()
    for round_ in range(300):
        numbers = sorted(rng.sample(range(500), 3))
        rows = _frame(3, f"r{round_}-")
        frame = replace_rows(frame, numbers, rows)
        for i, number in enumerate(numbers):
            want[number] = rows.row(i, named=True)
    assert frame.n_chunks() <= 64 + 7
    assert frame.to_dicts() == want
