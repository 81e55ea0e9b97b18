"""The check reports the store keeps: valid only on the state they were made on, dropped by
every write of the definitions; and reads in one process see the loads made in it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store import tables as t
from lineofsight.store.check_results import (
    read_check_report,
    read_check_state,
    save_check_report,
)
from lineofsight.store.database import Store

STRATEGY = """\
version: 1
organization:
  name: Acme
  units:
    - {id: acme, name: Acme, level: company}
  people:
    - {id: ann, name: Ann, unit: acme}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: acme, owner: ann, deadline: 2027-12-31}
kpis:
  - {id: sales, name: Sales, unit: acme, owner: ann, level: strategic, type: lagging,
     frequency: monthly, direction: increase, supports: [{objective: grow}],
     target: {value: 200, by: 2026-12-31}}
"""


def _store(tmp_path: Path, db_url: str) -> Store:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(STRATEGY)
    store = Store(db_url)
    apply_file(store, strategy)
    return store


def _state(store: Store) -> str:
    with store.reading() as conn:
        return read_check_state(conn)


def _kept(store: Store, key: str, state: str) -> str | None:
    with store.reading() as conn:
        return read_check_report(conn, key, state)


def test_a_report_is_valid_only_on_the_state_it_was_made_on(tmp_path: Path, db_url: str) -> None:
    store = _store(tmp_path, db_url)
    state = _state(store)
    assert save_check_report(store, "a", state, "report a")
    assert save_check_report(store, "b", state, "report b")
    assert _kept(store, "a", state) == "report a"
    assert _kept(store, "a", "another") is None

    values = tmp_path / "values.csv"
    values.write_text("kpi,unit,period,value\nsales,acme,2026-01,5\n")
    load_file(store, values)
    loaded = _state(store)
    assert loaded != state
    # A report made before the load is not kept once it is known to be stale.
    assert not save_check_report(store, "a", state, "stale")
    assert _kept(store, "a", loaded) is None
    assert save_check_report(store, "a", loaded, "report a2")
    with store.reading() as conn:
        keys = set(conn.execute(select(t.check_results.c.key)).scalars())
    assert keys == {"a", "definitions"}  # b was made on a state that can never come back

    # Applying the same file again changes no definition, yet drops every report: the
    # items' lines may have moved.
    apply_file(store, tmp_path / "strategy.yaml")
    applied = _state(store)
    assert applied != loaded
    assert _kept(store, "a", applied) is None
    assert _kept(store, "a", loaded) is None


def test_a_read_after_a_load_in_the_same_process_sees_it(tmp_path: Path, db_url: str) -> None:
    store = _store(tmp_path, db_url)
    values = tmp_path / "values.csv"
    for month in range(1, 4):
        with store.reading() as conn:  # keeps a connection to the file open in the pool
            before = conn.execute(select(func.count()).select_from(t.measurements)).scalar()
        values.write_text(f"kpi,unit,period,value\nsales,acme,2026-{month:02},5\n")
        load_file(store, values)
        with store.reading() as conn:
            after = conn.execute(select(func.count()).select_from(t.measurements)).scalar()
        assert (before, after) == (month - 1, month)


def test_python_s_sqlite3_reads_the_state_and_the_kept_report_as_the_store_does(
    tmp_path: Path, db_url: str
) -> None:
    # What a check that prints its kept report reads without loading SQLAlchemy.
    store = _store(tmp_path, db_url)
    state = _state(store)
    assert save_check_report(store, "a", state, "report a")
    with store.plain_reading() as plain:
        if plain is None:  # PostgreSQL: only the store's own connection reads it
            assert not db_url.startswith("sqlite")
            return
        assert read_check_state(plain) == state
        assert read_check_report(plain, "a", state) == "report a"
        assert read_check_report(plain, "a", "another") is None
        assert read_check_report(plain, "b", state) is None
