"""The reads of a status computed in full, made in parts at once, give the rows of one read:
the measurements of a window a month at a time, the KPIs' table in two halves,
the labels read with the definitions. On SQLite (through ADBC, in threads) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.engine.frame_definitions import DEFINITION_COLUMNS
from lineofsight.services.evaluate import (
    frame_windows,
    read_definition_frames,
    read_definitions_and_labels,
)
from lineofsight.services.init import init_workspace
from lineofsight.store.database import Store
from lineofsight.store.labels import read_labels
from lineofsight.store.scorecard_reads import read_definition_tables, read_measurement_rows

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def store(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    init_workspace(tmp_path / "ws", example="techinnovate", db=db_url)
    opened = Store(db_url)
    yield opened
    opened.close()


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_measurements_read_in_parts_are_those_read_at_once(store: Store) -> None:
    defs = read_definition_frames(store)
    windows = frame_windows(defs, AS_OF)
    window = min(s for s, _ in windows.values()), max(e for _, e in windows.values())
    latest = max(s for s, _ in windows.values())
    early = (latest, sorted(f for f, (s, _) in windows.items() if s < latest))
    whole = read_measurement_rows(store, window, early)
    assert whole.height > 0
    parts = read_measurement_rows(store, window, early, monthly=True)
    assert_frame_equal(_sorted(parts), _sorted(whole))
    parts = read_measurement_rows(store, window, monthly=True)
    assert_frame_equal(_sorted(parts), _sorted(read_measurement_rows(store, window)))
    # Windows of a day, within a month, across a year's end.
    for first, last in (
        (dt.date(2026, 10, 31), dt.date(2026, 10, 31)),
        (dt.date(2026, 9, 2), dt.date(2026, 9, 29)),
        (dt.date(2025, 11, 15), dt.date(2026, 2, 28)),
    ):
        parts = read_measurement_rows(store, (first, last), monthly=True)
        assert_frame_equal(_sorted(parts), _sorted(read_measurement_rows(store, (first, last))))


def test_definitions_read_with_their_labels_are_those_read_apart(store: Store) -> None:
    defs, labels = read_definitions_and_labels(store)
    alone = read_definition_frames(store)
    for name in ("kpis", "period_targets", "unit_targets", "supports", "objectives", "units"):
        assert_frame_equal(getattr(defs, name), getattr(alone, name))
        assert list(getattr(defs, name).columns) == list(DEFINITION_COLUMNS[name])
    assert (defs.calendar, defs.scoring) == (alone.calendar, alone.scoring)
    apart = read_labels(store)
    assert_frame_equal(labels.kpis, apart.kpis)
    assert_frame_equal(labels.objectives, apart.objectives)
    assert_frame_equal(labels.units, apart.units)
    found = read_definition_tables(store, DEFINITION_COLUMNS, labels=True)
    assert found is not None
    assert found[1]["kpis"]["id"].to_list() == alone.kpis["id"].to_list()  # the table's order


def test_months_cut_a_window_into_calendar_months() -> None:
    from lineofsight.store.scorecard_reads import _months

    assert _months(dt.date(2025, 11, 15), dt.date(2026, 2, 3)) == [
        (dt.date(2025, 11, 15), dt.date(2025, 11, 30)),
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 3)),
    ]
    assert _months(dt.date(2026, 10, 31), dt.date(2026, 10, 31)) == [
        (dt.date(2026, 10, 31), dt.date(2026, 10, 31))
    ]
