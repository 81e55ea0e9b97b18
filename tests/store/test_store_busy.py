"""Busy SQLite stores, with two connections and no timing: the SQLITE_BUSY that SQLite's busy
handler does not wait for (a transaction that read, then writes after another connection
committed: SQLITE_BUSY_SNAPSHOT), a StoreBusy that says how long it really waited, write
transactions that hold the write lock from their start, and every connection the store opens
to the file waiting for a moment's lock as long as the store says. (A load's ADBC connection
uses another copy of SQLite, whose locks this process's sqlite3 does not see: its write lock
from the start is `tests/store/test_store_processes.py`'s, across processes.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lineofsight.errors import StoreBusy
from lineofsight.store import arrow
from lineofsight.store.database import Store
from lineofsight.store.loading import load_session
from tests.stores import sqlite_store

SQLITE_BUSY_SNAPSHOT = 517  # SQLITE_BUSY | (2 << 8)
WAIT = 7.5  # seconds the store's writes wait (never reached here: nothing waits)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = sqlite_store(tmp_path / "los.db")
    opened = Store(url, busy_timeout=WAIT)
    # Another process's table, to write to without touching the store's own.
    with closing(_other(opened)) as other:
        other.execute("CREATE TABLE probe (x INTEGER)")
    yield opened
    opened.close()


def _other(store: Store, timeout: float = WAIT) -> sqlite3.Connection:
    """Another connection to the store's file, as another process would open it."""
    assert store.sqlite_file is not None
    return sqlite3.connect(store.sqlite_file, timeout=timeout, isolation_level=None)


def test_a_read_that_then_writes_after_another_commit_is_refused_at_once() -> None:
    # SQLite's own behaviour, which the store's write transactions must avoid: the busy
    # handler (a 300 s wait here) is not called, the write is refused at once.
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "wal.db")
        first = sqlite3.connect(path, timeout=300, isolation_level=None)
        first.execute("PRAGMA journal_mode=WAL")
        first.execute("CREATE TABLE probe (x INTEGER)")
        second = sqlite3.connect(path, timeout=300, isolation_level=None)
        first.execute("BEGIN")
        first.execute("SELECT count(*) FROM probe").fetchall()
        second.execute("INSERT INTO probe VALUES (1)")
        with pytest.raises(sqlite3.OperationalError) as caught:
            first.execute("INSERT INTO probe VALUES (2)")
        assert caught.value.sqlite_errorcode == SQLITE_BUSY_SNAPSHOT
        first.close()
        second.close()


def test_a_busy_refused_at_once_says_how_long_it_waited_not_the_wait_allowed(
    store: Store,
) -> None:
    from sqlalchemy import text

    with (
        closing(_other(store)) as other,
        pytest.raises(StoreBusy) as caught,
        store.reading() as conn,
    ):
        conn.execute(text("SELECT count(*) FROM probe")).all()
        other.execute("INSERT INTO probe VALUES (1)")
        conn.execute(text("INSERT INTO probe VALUES (2)"))
    busy = caught.value
    assert busy.allowed == WAIT and busy.waited < WAIT
    assert f"of the {WAIT:g} s allowed" in str(busy)
    assert f"(waited {WAIT:g} s" not in str(busy)


def test_a_write_transaction_holds_the_write_lock_from_its_start(store: Store) -> None:
    from sqlalchemy import text

    # Another writer that does not wait is refused while the store's transaction has only
    # read: the lock was taken at BEGIN, so the transaction's own write can never be refused
    # for a write committed after its read.
    with closing(_other(store, timeout=0)) as other:
        with store.transaction() as conn:
            conn.execute(text("SELECT count(*) FROM probe")).all()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO probe VALUES (1)")
            conn.execute(text("INSERT INTO probe VALUES (2)"))
        assert other.execute("SELECT x FROM probe").fetchall() == [(2,)]


def _adbc_timeout(connection: Any) -> int:
    import adbc_driver_manager as adbc

    frame = arrow._adbc_result(adbc, connection, "SELECT timeout FROM pragma_busy_timeout")
    return int(frame.item())


def test_every_connection_to_the_file_waits_as_long_as_the_store_says(store: Store) -> None:
    from sqlalchemy import text

    wanted = round(WAIT * 1000)
    with store.reading() as conn:
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == wanted
    with store.plain_reading() as plain:
        assert plain is not None
        assert plain.execute("PRAGMA busy_timeout").fetchone() == (wanted,)
    path = store.arrow_file
    assert path is not None
    with store.arrow_turn():
        with arrow._adbc_connection(path, WAIT) as connection:
            assert _adbc_timeout(connection) == wanted
        # The connection that watches whether another one committed between parallel reads.
        with arrow._Watch(path, WAIT) as watch:
            assert _adbc_timeout(watch._connection) == wanted
    with load_session(store) as session:
        found = session.query("SELECT timeout FROM pragma_busy_timeout", {"timeout": pl.Int64})
        assert found.item() == wanted
