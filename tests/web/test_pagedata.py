"""The pages' snapshot after a check-in: the last one with the changed rows made again, equal
to one built from scratch, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from lineofsight.services.init import init_workspace
from lineofsight.services.scorecards import ScorecardCache
from lineofsight.store.database import Store
from lineofsight.web.pagedata import snapshot
from tests.services.test_snapshots import _write_randomly

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def store(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    init_workspace(tmp_path / "ws", example="techinnovate", db=db_url)
    opened = Store(db_url)
    yield opened
    opened.close()


def _rows(snap):  # type: ignore[no-untyped-def]
    return (
        snap.kpi_rows,
        snap.objective_rows,
        snap.unit_rows,
        {
            unit: sorted(rows, key=lambda r: (r.id, r.unit))
            for unit, rows in snap.rows_by_unit.items()
        },
    )


def test_a_snapshot_after_writes_is_the_last_one_updated_and_equals_a_fresh_one(
    store: Store,
) -> None:
    cache = ScorecardCache(store)
    first = snapshot(cache, AS_OF)
    kept = _rows(first)
    rng = random.Random(5)
    changed = 0
    for _ in range(3):
        _write_randomly(store, rng, rng.randint(2, 5))
        got = snapshot(cache, AS_OF)
        assert got.graph is first.graph  # the organisation's indexes are kept
        fresh = snapshot(ScorecardCache(store), AS_OF)  # another app: built from scratch
        assert fresh.graph is not first.graph
        assert _rows(got) == _rows(fresh)
        changed += _rows(got) != kept
    assert changed  # the writes changed rows, and the updated snapshots show them
    # The first snapshot is left as it was (a page drawing from it keeps its rows).
    assert _rows(first) == kept
