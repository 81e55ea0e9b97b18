"""The background scheduler of `los serve`: a thread that wakes every few seconds and runs
the jobs that are due, one at a time, away from the web app's requests.

The pages never wait for it: it runs in its own thread, every job in its own transactions
(on SQLite the pages read a snapshot while a job writes; on PostgreSQL they never block).
Several servers (or a server and a cron job) on one store share the work safely: each job
is claimed in the store before it runs (services/scheduler.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from lineofsight.services.scheduler import Job, run_due, scheduler_owner
from lineofsight.store.database import Store

__all__ = ["DEFAULT_INTERVAL", "BackgroundScheduler", "start_scheduler"]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0  # seconds between two looks for due jobs


class BackgroundScheduler:
    """Runs `jobs(store)`'s due jobs every `interval` seconds in a daemon thread until stopped.

    `jobs` is called on every round, so a job added to the strategy file is picked up without a
    restart. `rounds` counts the finished rounds (`wait_for_round` waits for one), for tests and
    for a health page.
    """

    def __init__(
        self,
        store: Store,
        jobs: Callable[[Store], list[Job]],
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        if not interval > 0:
            raise ValueError("the scheduler's interval must be a positive number of seconds")
        self.store = store
        self.jobs = jobs
        self.interval = interval
        self.owner = scheduler_owner()
        self.rounds = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._round_done = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="los scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look for due jobs now instead of at the end of the interval."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Start no further job, wait up to `timeout` seconds for the running one to end;
        whether the thread has ended (if not, its job's lease runs out and another scheduler
        may take the job over)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """Whether it was told to stop (it may still be finishing a job)."""
        return self._stop.is_set()

    def wait_for_round(self, after: int, timeout: float) -> bool:
        """Wait until more than `after` rounds have finished (at most `timeout` seconds)."""
        with self._round_done:
            return self._round_done.wait_for(lambda: self.rounds > after, timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_due(self.store, self.jobs(self.store), owner=self.owner, stop=self._stop)
            except Exception:  # a busy store, a strategy file being rewritten: next round
                log.warning("the scheduler's round failed; it tries again", exc_info=True)
            with self._round_done:
                self.rounds += 1
                self._round_done.notify_all()
            self._wake.wait(self.interval)
            self._wake.clear()


def start_scheduler(
    db_url: str, interval: float | None, jobs: Callable[[Store], list[Job]] | None
) -> BackgroundScheduler | None:
    """The background scheduler of the store at `db_url`, started (None when `interval` is
    None): in the web app's own process, or in `los serve`'s for all its workers. It has a
    store of its own: its writes may wait for a long load as a command's do, where a page's
    give up soon."""
    if interval is None:
        return None
    from lineofsight.services.jobs import scheduled_jobs
    from lineofsight.services.refresh_held import keep_holds

    store = Store(db_url, migrate=False)
    store.arrow_sqlite = False  # one SQLite library per process (see Store.arrow_sqlite)
    keep_holds(store)  # its refreshes run again and again: each holds what it leaves
    scheduler = BackgroundScheduler(store, jobs or scheduled_jobs, interval=interval)
    scheduler.start()
    return scheduler
