"""A running refresh's lease: how a refresh whose process was killed is seen to have ended.

A refresh records its run as "running" with a lease, and renews the lease (a thread, every
third of its length) until it records how the run ended. A process killed mid-refresh renews
nothing: once its lease has run out the run is shown as failed ("abandoned"), and the next
refresh of the source records it so. The lease is a few minutes, not the refresh's length:
a long refresh keeps renewing it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from lineofsight.display import utc_minute
from lineofsight.errors import SourceError
from lineofsight.store.database import Store
from lineofsight.store.sources import end_abandoned, renew_run, running_run

LEASE = dt.timedelta(minutes=5)
ABANDONED = "abandoned: the refresh stopped before it finished (its process ended or was killed)"

logger = logging.getLogger(__name__)


def lease_until(now: dt.datetime) -> dt.datetime:
    """The end of a lease taken or renewed at `now`."""
    return now + LEASE


def end_abandoned_runs(conn: Any, source: str, now: dt.datetime) -> int:
    """Record the runs of `source` whose lease ran out as failed (in the caller's
    transaction); a run from before leases existed counts as leased from its start."""
    return end_abandoned(conn, source, now, now - LEASE, ABANDONED)


def refuse_running(conn: Any, source: str, now: dt.datetime) -> None:
    """In the write transaction that would start a run of `source` (write transactions are
    one at a time, across processes): record its abandoned runs as failed, then SourceError
    ("running") when one still runs, saying when it started and who started it."""
    end_abandoned_runs(conn, source, now)
    run = running_run(conn, source)
    if run is None:
        return
    who = run["actor"] or _TRIGGERS.get(run["trigger"], run["trigger"])
    raise SourceError(
        "running",
        f"a refresh of source '{source}' is running (started {utc_minute(run['started_at'])} "
        f"by {who}): wait for it to end",
    )


_TRIGGERS = {"schedule": "the scheduler"}


def shown_run(run: dict[str, Any] | None, now: dt.datetime) -> dict[str, Any] | None:
    """A run as people see it: one still "running" past its lease has ended (failed)."""
    if run is None or run.get("state") != "running":
        return run
    until = _aware(run.get("lease_until")) or (_aware(run.get("started_at")) or now) + LEASE
    if until >= now:
        return run
    return {**run, "state": "failed", "finished_at": until, "error": ABANDONED}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


class Renewal:
    """Renews a run's lease every third of its length until `stop`: a thread, each renewal
    its own short write (a busy store is tried again at the next beat, well within the
    lease)."""

    def __init__(
        self, store: Store, run_id: int, clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        self._store, self._run_id = store, run_id
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="los-refresh-lease", daemon=True)

    def __enter__(self) -> Renewal:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        every = LEASE.total_seconds() / 3
        while not self._done.wait(every):
            try:
                with self._store.transaction() as conn:
                    renew_run(conn, self._run_id, lease_until(self._clock()))
            except Exception:
                logger.warning("could not renew the lease of refresh run %s", self._run_id)
