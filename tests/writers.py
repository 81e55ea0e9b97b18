"""For the tests of writes that meet: writers in other processes (a held write lock, and loads
run as `los load` runs them: each in its own process, on SQLite through its own copy of the
SQLite library, which must not share a process with the store's other connections), and what
a store holds afterwards.

Processes are started with `spawn`: a fork of a test process that runs threads and holds
database connections is not safe. Every wait is bounded (WAIT) so that a broken run fails
instead of hanging; no test measures time.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lineofsight.errors import StoreBusy
from lineofsight.store import tables as t
from lineofsight.store.database import Store

CTX = multiprocessing.get_context("spawn")
WAIT = 180.0  # seconds: a bound for a broken run, far above what any step takes

Key = tuple[str, str, str]  # a measurement's KPI, unit and period


class WriteLockHolder:
    """Another process that holds the store's write lock (a write transaction that has begun,
    as a long `los load` holds it) from `start()` until `release()`."""

    def __init__(self, url: str) -> None:
        self._held = CTX.Event()
        self._release = CTX.Event()
        self._process = CTX.Process(target=_hold, args=(url, self._held, self._release))

    def start(self) -> WriteLockHolder:
        self._process.start()
        if not self._held.wait(WAIT):
            self.release()
            raise AssertionError("the other process did not get the write lock")
        return self

    def release(self) -> None:
        self._release.set()
        self._process.join(WAIT)
        assert self._process.exitcode == 0, f"the lock holder ended with {self._process.exitcode}"

    def __enter__(self) -> WriteLockHolder:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _hold(url: str, held: Any, release: Any) -> None:
    store = Store(url)
    try:
        with store.transaction():
            held.set()
            release.wait(WAIT)
    finally:
        store.close()


def start_load(
    url: str, path: Path, busy_timeout: float, start: Any, refused: Any, results: Any
) -> Any:
    """A process that loads `path` as `los load` does once `start` (a barrier) lets it, and
    puts `(str(path), "stored" | "refused" | "error: ...")` on `results`; a refusal also sets
    the event `refused`."""
    process = CTX.Process(
        target=_load, args=(url, str(path), busy_timeout, start, refused, results)
    )
    process.start()
    return process


def _load(url: str, path: str, busy_timeout: float, start: Any, refused: Any, results: Any) -> None:
    from lineofsight.services.measurements import load_file

    outcome = "error: did not run"
    try:
        store = Store(url, busy_timeout=busy_timeout)
        try:
            start.wait(WAIT)
            try:
                load_file(store, Path(path))
                outcome = "stored"
            except StoreBusy:
                refused.set()
                outcome = "refused"
        finally:
            store.close()
    except BaseException as exc:  # reported to the test, which shows it
        outcome = f"error: {exc!r}"
    finally:
        results.put((path, outcome))


def stored_state(url: str) -> tuple[dict[Key, float], int, int]:
    """Every stored value by key, the number of writes (loads) and of audit entries."""
    store = Store(url)
    try:
        ms = t.measurements
        with store.reading() as conn:
            rows = conn.execute(select(ms.c.kpi_id, ms.c.unit_id, ms.c.period, ms.c.value))
            values = {(r.kpi_id, r.unit_id, r.period): r.value for r in rows}
            loads = conn.execute(select(func.count()).select_from(t.loads)).scalar_one()
            audit = conn.execute(select(func.count()).select_from(t.audit_log)).scalar_one()
    finally:
        store.close()
    return values, loads, audit
