"""One SQLite file used by the two copies of SQLite in one process (Python's sqlite3 under
SQLAlchemy, ADBC's driver for bulk reads and loads): they never see each other's file locks,
so the store makes them take turns (`Store.arrow_turn`). Without turns, a write of one beside
a load of the other both held "the" write lock and wrote over each other's log frames."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import polars as pl
from sqlalchemy import text

from lineofsight.store.arrow import read_frame
from lineofsight.store.database import Store, sqlite_url
from lineofsight.store.loading import load_session

ROWS = 20_000  # more than fits the page cache's share of one transaction: frames in the log


def _store(tmp_path: Path) -> Store:
    store = Store(sqlite_url(tmp_path / "los.db"))
    assert store.arrow_file is not None
    with store.transaction() as conn:
        conn.execute(text("CREATE TABLE probe (n INTEGER PRIMARY KEY, who TEXT, pad TEXT)"))
    return store


def _integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT who, COUNT(*) FROM probe GROUP BY who").fetchall())
    finally:
        conn.close()


def test_a_write_beside_a_load_in_the_same_process_waits_for_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    loading, written = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def beside() -> None:
        loading.wait()
        try:
            with store.transaction() as conn:
                conn.execute(
                    text("INSERT INTO probe (who, pad) VALUES ('beside', :pad)"),
                    [{"pad": f"b{i:08d}" * 20} for i in range(ROWS)],
                )
        except BaseException as exc:  # reported by the main thread
            failed.append(exc)
        written.set()

    thread = threading.Thread(target=beside)
    thread.start()
    with load_session(store) as session:
        session.append(
            "probe",
            pl.DataFrame({"who": ["load"] * ROWS, "pad": [f"l{i:08d}" * 20 for i in range(ROWS)]}),
        )
        loading.set()
        # Bounded: the write beside must not happen while the load holds the store; it waits
        # for the load's end (before turns, it went ahead within milliseconds).
        assert not written.wait(timeout=3)
    thread.join(timeout=120)
    assert not thread.is_alive() and not failed
    store.close()
    path = tmp_path / "los.db"
    assert _integrity(path) == ["ok"]
    assert _counts(path) == {"load": ROWS, "beside": ROWS}


def test_reads_of_both_libraries_and_writes_in_threads_keep_the_file_whole(
    tmp_path: Path,
) -> None:
    """Bulk reads through ADBC on some threads, sqlite3 writes and reads on others, each
    checking what it reads, then SQLite's own check of the file."""
    store = _store(tmp_path)
    start = threading.Barrier(4)
    failed: list[BaseException] = []
    rounds = 15

    def writer(who: str) -> None:
        try:
            start.wait()
            for i in range(rounds):
                with store.transaction() as conn:
                    conn.execute(
                        text("INSERT INTO probe (who, pad) VALUES (:who, :pad)"),
                        [{"who": who, "pad": f"{i:06d}" * 40} for _ in range(500)],
                    )
        except BaseException as exc:
            failed.append(exc)

    def bulk_reader() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                frame = read_frame(
                    store,
                    "SELECT who, COUNT(*) AS n FROM probe GROUP BY who",
                    [],
                    {"who": pl.String, "n": pl.Int64},
                )
                # Each writer's rows come 500 at a time: a torn read shows another count.
                assert all(n % 500 == 0 for n in frame["n"])
        except BaseException as exc:
            failed.append(exc)

    def loader() -> None:
        try:
            start.wait()
            for i in range(rounds):
                with load_session(store) as session:
                    session.append(
                        "probe", pl.DataFrame({"who": ["loader"] * 500, "pad": [f"{i}"] * 500})
                    )
        except BaseException as exc:
            failed.append(exc)

    threads = [
        threading.Thread(target=writer, args=("a",)),
        threading.Thread(target=writer, args=("b",)),
        threading.Thread(target=bulk_reader),
        threading.Thread(target=loader),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert not failed, failed
    store.close()
    path = tmp_path / "los.db"
    assert _integrity(path) == ["ok"]
    assert _counts(path) == {"a": rounds * 500, "b": rounds * 500, "loader": rounds * 500}


def test_closing_idle_connections_waits_for_those_another_thread_holds(tmp_path: Path) -> None:
    """`idle` (called by a status before it saves, while the scheduler's lease renewal may be
    writing on another thread) must not drop the pool under a connection in use: that one
    would stay open outside every pool, and ADBC closing beside it removed the log that its
    write went to (lost writes, then "disk I/O error" and "malformed" on the next ones)."""
    from lineofsight.store.database import idle

    store = _store(tmp_path)
    holding, go_on, bulk_done = threading.Event(), threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            with store.transaction() as conn:
                conn.execute(text("INSERT INTO probe (who, pad) VALUES ('held', 'x')"))
                holding.set()
                go_on.wait(timeout=120)
            for _ in range(20):
                with store.transaction() as conn:
                    conn.execute(text("INSERT INTO probe (who, pad) VALUES ('after', 'y')"))
        except BaseException as exc:
            failed.append(exc)

    def bulk() -> None:
        try:
            idle(store)
            for _ in range(3):
                read_frame(store, "SELECT n FROM probe", [], {"n": pl.Int64})
        except BaseException as exc:
            failed.append(exc)
        bulk_done.set()

    first = threading.Thread(target=writer)
    first.start()
    assert holding.wait(timeout=120)
    second = threading.Thread(target=bulk)
    second.start()
    # Bounded: the bulk reads wait for the write in progress (before, they ran beside it).
    assert not bulk_done.wait(timeout=2)
    go_on.set()
    first.join(timeout=120)
    second.join(timeout=120)
    assert not first.is_alive() and not second.is_alive() and not failed, failed
    store.close()
    path = tmp_path / "los.db"
    assert _integrity(path) == ["ok"]
    assert _counts(path) == {"held": 1, "after": 20}
