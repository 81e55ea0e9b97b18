"""The pages' snapshot after a check-in: the last one with the changed rows made again, equal
to one built from scratch, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from lineofsight.services.scorecards import ScorecardCache
from lineofsight.store.database import Store
from lineofsight.web import pagedata
from lineofsight.web.pagedata import snapshot
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)
from tests.services.test_snapshots import _write_randomly

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, "techinnovate")  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
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
        # At the KPIs' own units and those with a target: the same rows, made again in place.
        _write_randomly(store, rng, rng.randint(2, 5), below=False)
        got = snapshot(cache, AS_OF)
        assert got.graph is first.graph  # the organisation's indexes are kept
        fresh = snapshot(ScorecardCache(store), AS_OF)  # another app: built from scratch
        assert fresh.graph is not first.graph
        assert _rows(got) == _rows(fresh)
        changed += _rows(got) != kept
    assert changed  # the writes changed rows, and the updated snapshots show them
    # The first snapshot is left as it was (a page drawing from it keeps its rows).
    assert _rows(first) == kept


def test_the_indexes_a_kpi_page_reads_match_a_scan_of_the_rows(
    request: pytest.FixtureRequest, unmade_db_url: str
) -> None:
    copy_example(request, unmade_db_url, "manufacturing")  # it has a formula
    opened = Store(unmade_db_url)
    try:
        snap = snapshot(ScorecardCache(opened), AS_OF)
    finally:
        opened.close()
    for kpi_id in snap.kpis:
        scanned = sorted(u for (k, u) in snap.kpi_rows if k == kpi_id)
        assert sorted(snap.kpi_units.get(kpi_id, [])) == scanned, kpi_id
        users = [k for k, ins in snap.feeders.items() if kpi_id in ins and snap.kpis[k].formula]
        assert sorted(snap.formula_users.get(kpi_id, [])) == sorted(users), kpi_id
    assert any(snap.formula_users.values())  # the example's formula is checked


def test_a_unit_picker_lists_every_unit_of_a_small_organisation_and_a_neighbourhood_of_a_large(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = snapshot(ScorecardCache(store), AS_OF)
    every = [u.id for u in snap.org.units]
    assert [u.id for u in pagedata.unit_choices(snap, None, None)] == every
    monkeypatch.setattr(pagedata, "ALL_UNITS_UP_TO", 5)
    top = snap.child_units[None]
    second = [c for t in top for c in snap.child_units.get(t, [])]
    deep = next(u for u in every if snap.ancestors(u)[2:])  # a unit three levels down
    shown = [u.id for u in pagedata.unit_choices(snap, None, deep)]
    expected = {*top, *second, *snap.ancestors(deep), deep, *snap.child_units.get(deep, [])}
    assert shown == [u for u in every if u in expected]
    assert len(shown) < len(every)
    # A scoped reader's top is their own subtree's top, and nothing outside it is offered.
    scope = snap.subtree("customer_experience")
    scoped = [u.id for u in pagedata.unit_choices(snap, scope, None)]
    assert scoped[0] == "customer_experience" and set(scoped) <= scope
