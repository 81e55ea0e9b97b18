"""`los status` keeps the scorecard it computed in the store after its output. When the store
cannot take it now (another write holds it) the status just gives its output; any other error
of the database says so, clearly, instead of passing for "busy"."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from lineofsight.store.database import Store
from tests.conftest import Los
from tests.writers import WriteLockHolder

AS_OF = "2026-12-05"
NO_ROOM = "No space left on device"


@pytest.fixture
def example(los: Los) -> Iterator[Los]:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    assert los.db_url is not None
    _forget_kept(los.db_url)  # the next status computes in full and saves it whole
    yield los


def _forget_kept(url: str) -> None:
    store = Store(url)
    try:
        with store.transaction() as conn:
            conn.execute(text("DELETE FROM scorecard_patches"))
            conn.execute(text("DELETE FROM scorecard_snapshots"))
    finally:
        store.close()


def _kept(url: str) -> int:
    store = Store(url)
    try:
        with store.reading() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM scorecard_snapshots")).scalar_one())
    finally:
        store.close()


def _fill_the_disk(url: str) -> None:
    """Make every save of a scorecard fail as a full disk makes it fail."""
    store = Store(url)
    try:
        with store.transaction() as conn:
            if store.dialect == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER no_room BEFORE INSERT ON scorecard_snapshots "
                        f"BEGIN SELECT RAISE(FAIL, '{NO_ROOM}'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE FUNCTION no_room() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        f"RAISE EXCEPTION '{NO_ROOM}' USING ERRCODE = '53100'; END $$"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER no_room BEFORE INSERT ON scorecard_snapshots "
                        "FOR EACH ROW EXECUTE FUNCTION no_room()"
                    )
                )
    finally:
        store.close()


def test_a_status_that_cannot_keep_its_scorecard_says_why(example: Los) -> None:
    assert example.db_url is not None
    _fill_the_disk(example.db_url)
    result = example("status", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    # Its output is whole, then the error: the scorecard was not kept, and why.
    data = json.loads(result.stdout)
    assert data["kpis"] and data["as_of"] == AS_OF
    assert "error: the scorecard could not be kept in the store" in result.output
    assert NO_ROOM in result.output
    assert _kept(example.db_url) == 0


def test_a_status_beside_a_write_gives_its_output_and_keeps_nothing(example: Los) -> None:
    assert example.db_url is not None
    with WriteLockHolder(example.db_url):
        result = example("status", "--as-of", AS_OF, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["kpis"]
        assert "error" not in result.output
    assert _kept(example.db_url) == 0
    again = example("status", "--as-of", AS_OF, "--format", "json")
    assert again.exit_code == 0 and again.stdout == result.stdout
    assert _kept(example.db_url) == 1
