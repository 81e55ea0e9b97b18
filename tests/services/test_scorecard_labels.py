"""The scorecard's rows are labelled by their ids, whatever order the labels come in: labels
in the rows' own order are set beside them, any other order is matched id by id, with the
same result."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.engine.frames import FrameEvaluation, evaluate_frames
from lineofsight.services.evaluate import (
    frame_window,
    older_measurements,
    read_definition_frames,
    read_measurement_frame,
)
from lineofsight.services.scorecard_frames import labelled
from lineofsight.store.database import Store
from lineofsight.store.labels import Labels, read_labels
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(params=["manufacturing", "techinnovate"])
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, request.param)  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


def test_labels_in_any_order_label_the_same_rows(store: Store) -> None:
    defs = read_definition_frames(store)
    frame = read_measurement_frame(store, frame_window(defs, AS_OF, True))
    whole = evaluate_frames(defs, frame, AS_OF, True, older_measurements(store))
    # Each KPI's own row (one row per id, as a scorecard of no other unit's rows has).
    ev = FrameEvaluation(
        AS_OF, whole.kpis.filter(pl.col("own_unit")), whole.objectives, whole.units
    )
    read = read_labels(store)

    def ordered_as(rows: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
        return rows.select("id").join(labels, on="id", how="left", maintain_order="left")

    aligned = Labels(
        ordered_as(ev.kpis, read.kpis),
        ordered_as(ev.objectives, read.objectives),
        ordered_as(ev.units, read.units),
    )
    assert aligned.kpis["id"].equals(ev.kpis["id"])  # the rows' own order: set beside them
    reversed_ = Labels(
        aligned.kpis.reverse(), aligned.objectives.reverse(), aligned.units.reverse()
    )
    # Labels shifted by one row: ids in another order, the same count of them.
    shifted = Labels(
        aligned.kpis.select(pl.col("id").shift(1, fill_value=aligned.kpis["id"][-1])).join(
            aligned.kpis, on="id", maintain_order="left"
        ),
        aligned.objectives,
        aligned.units,
    )
    want = labelled(ev, defs, read)
    for labels in (aligned, reversed_, shifted):
        got = labelled(ev, defs, labels)
        assert_frame_equal(got.kpis, want.kpis)
        assert_frame_equal(got.objectives, want.objectives)
        assert_frame_equal(got.units, want.units)
    assert want.kpis["name"].null_count() == 0
