"""`store.arrow.read_frame`: the same typed frame whichever way the rows come (Arrow from an
SQLite file, rows through SQLAlchemy on PostgreSQL or when the process keeps SQLite to one
library)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import insert

from lineofsight.store import tables as t
from lineofsight.store.arrow import (
    Read,
    cast_frame,
    read_frame,
    read_frames,
    read_frames_then,
    read_together,
)
from lineofsight.store.database import Store

SCHEMA = {"kpi_id": pl.String, "period_end": pl.Date, "value": pl.Float64, "revision": pl.Int64}
QUERY = (
    "SELECT kpi_id, period_end, value, revision FROM measurements "
    "WHERE period_end >= {} AND revision < {}"
)


@pytest.fixture(params=[True, False], ids=["arrow", "rows"])
def store(db_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store holding a ratio KPI's values (no value of their own) first, then plain ones."""
    opened = Store(db_url)
    opened.arrow_sqlite = request.param
    january = {"period": "2026-01", "period_end": dt.date(2026, 1, 31), "value": None}
    rows = [
        {"kpi_id": "ratio", "unit_id": f"u{i}", **january}
        | {"numerator": 3.0, "denominator": 4.0, "revision": 1, "load_id": 1}
        for i in range(1500)
    ] + [
        {"kpi_id": "plain", "unit_id": "u0", "period": month, "period_end": end}
        | {"value": value, "numerator": None, "denominator": None, "revision": 2, "load_id": 1}
        for month, end, value in (
            ("2025-12", dt.date(2025, 12, 31), 1.5),
            ("2026-02", dt.date(2026, 2, 28), 2.5),
        )
    ]
    with opened.transaction() as conn:
        at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        conn.execute(insert(t.loads).values(id=1, source="test", recorded_at=at))
        conn.execute(insert(t.measurements), rows)
    yield opened
    opened.close()


def test_rows_come_typed_and_filtered_by_their_parameters(store: Store) -> None:
    frame = read_frame(store, QUERY, [dt.date(2026, 1, 1), 3], SCHEMA)
    assert frame.schema == pl.Schema(SCHEMA)
    assert frame.height == 1501
    plain = frame.filter(pl.col("kpi_id") == "plain")
    assert plain.rows() == [("plain", dt.date(2026, 2, 28), 2.5, 2)]
    assert frame["value"].null_count() == 1500


def test_no_rows_give_an_empty_frame_of_the_schema(store: Store) -> None:
    frame = read_frame(store, QUERY, [dt.date(2027, 1, 1), 3], SCHEMA)
    assert frame.is_empty()
    assert frame.schema == pl.Schema(SCHEMA)


def test_reads_at_once_give_each_read_s_frame_in_their_order(store: Store) -> None:
    reads = [
        (QUERY, [dt.date(2026, 1, 1), 3], SCHEMA),
        (QUERY, [dt.date(2026, 2, 1), 3], SCHEMA),
        ("SELECT kpi_id FROM measurements WHERE revision > {}", [5], {"kpi_id": pl.String}),
        (QUERY, [dt.date(2025, 1, 1), 2], SCHEMA),
    ]
    frames = read_frames(store, reads)
    assert [f.height for f in frames] == [1501, 1, 0, 1500]
    for frame, (query, params, schema) in zip(frames, reads, strict=True):
        assert frame.equals(read_frame(store, query, params, schema))
        assert frame.schema == pl.Schema(schema)


def test_reads_made_of_the_first_frames_follow_the_others(store: Store) -> None:
    """`read_frames_then`: the reads `then` makes of the first frames (typed) come after all
    of the reads given, each frame as read alone."""
    reads: list[Read] = [
        (QUERY, [dt.date(2026, 2, 1), 3], SCHEMA),
        (QUERY, [dt.date(2025, 1, 1), 2], SCHEMA),
        ("SELECT kpi_id FROM measurements WHERE revision > {}", [1], {"kpi_id": pl.String}),
    ]
    given: list[list[pl.DataFrame]] = []

    def then(frames: list[pl.DataFrame]) -> list[Read]:
        given.append(frames)
        # The day of the first frame's only value: a read that depends on what was read.
        day = frames[0]["period_end"].item()
        return [(QUERY, [day - dt.timedelta(days=31), 2], SCHEMA)]

    made = (QUERY, [dt.date(2026, 1, 28), 2], SCHEMA)
    # At once, and (as when a write came in between) one after the other in one transaction.
    for read in (read_frames_then, read_together):
        frames = read(store, reads, 1, then)
        assert [f.rows() for f in given.pop()] == [[("plain", dt.date(2026, 2, 28), 2.5, 2)]]
        assert not given
        assert [f.height for f in frames] == [1, 1500, 2, 1500]
        for frame, (query, params, schema) in zip(frames, [*reads, made], strict=True):
            assert frame.equals(read_frame(store, query, params, schema))
            assert frame.schema == pl.Schema(schema)


def test_dates_kept_as_other_text_are_read_as_before() -> None:
    # ISO dates (what the store writes) are parsed with their format given; any other text
    # is parsed as Polars infers it, as it was before that format was given.
    iso = pl.DataFrame({"day": ["2026-01-31", None, "2025-12-01"]})
    assert cast_frame(iso, {"day": pl.Date})["day"].to_list() == [
        dt.date(2026, 1, 31),
        None,
        dt.date(2025, 12, 1),
    ]
    stamped = pl.DataFrame({"day": ["2026/01/31", "2025/12/01"]})
    expected = stamped.select(pl.col("day").str.to_date())
    assert expected["day"].to_list() == [dt.date(2026, 1, 31), dt.date(2025, 12, 1)]
    assert_frame_equal(cast_frame(stamped, {"day": pl.Date}), expected)
