"""The scheduler: runs each recurring job (a source's refresh, a notification run) when due.

Every family of jobs plugs in the same way: a `Job` with a key, a schedule and a `run`
function (services/jobs.py lists the families). `run_due` runs what is due now; `los serve`
calls it from a background thread (scheduler_runner.py), `los jobs --due` (and the families'
own `--due` commands) from cron. The rules:

- A job runs only after its scheduler claimed it in the store (store/jobs.py): two schedulers
  on one store never run one job at once. A lease covers the run and is renewed while it lasts;
  a lease that runs out (the process died mid-run) makes the job claimable again.
- A job seen for the first time is due at once (a new source fills without waiting for its
  first scheduled time); after a run, it is next due at the schedule's first time after the
  run started. Runs missed while no scheduler ran (a server down for three days) run once.
- A failed run is retried after 1, 2, 4, 8 ... minutes, at most an hour (or the schedule's
  interval, when shorter) apart and never later than the next scheduled time; its reason is
  kept. A job must redact secrets from the exceptions it raises.
- A job's `run` is called outside any transaction of the scheduler, with the store, and
  writes in its own transactions.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lineofsight.domain.schedules import Schedule
from lineofsight.errors import LineOfSightError
from lineofsight.store import jobs as job_rows
from lineofsight.store.database import Store

__all__ = [
    "DEFAULT_LEASE",
    "MAX_BACKOFF",
    "Job",
    "JobOutcome",
    "JobStatus",
    "backoff",
    "job_statuses",
    "run_due",
    "run_job",
    "scheduler_owner",
]

log = logging.getLogger(__name__)

# How long a run may go without its scheduler renewing the lease before the job is presumed
# dead; the scheduler renews it every third of this while the run goes on.
DEFAULT_LEASE = dt.timedelta(minutes=15)
FIRST_BACKOFF = dt.timedelta(minutes=1)
MAX_BACKOFF = dt.timedelta(hours=1)
# A summary or an error is one line on a page and in a table: long ones are cut here.
_MAX_TEXT = 500

Clock = Callable[[], dt.datetime]

# The password of a URL in an error message (`postgresql://ann:secret@host`): jobs redact
# their own secrets, and this catches the commonest one that slips through a driver's message.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s/:@]*:)[^\s@/]+@")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Job:
    """A recurring job: its key (family and item, e.g. `refresh:warehouse:daily`), when it
    runs, and what it does: `run(store)` returns a one-line summary, raises on failure (with a
    message free of secrets). `lease`: how long one run may take without a word from its
    scheduler (renewed while it runs) before another may take the job over."""

    key: str
    schedule: Schedule
    run: Callable[[Store], str]
    lease: dt.timedelta = DEFAULT_LEASE
    # When its work last ran well outside any scheduler (a source refreshed by hand): a job
    # no scheduler has seen yet is first due at its schedule's next time after it.
    ran_at: dt.datetime | None = None
    # How its work last ran outside any scheduler (a source refreshed by hand, well or not),
    # when that is newer than the job's own last run: what `los jobs` shows beside it.
    ran_outside: RunOutside | None = None


@dataclass(frozen=True)
class RunOutside:
    """A run of a job's work outside the scheduler: when it ended, how it was started
    (`command`, `web`, `api`), and why it failed (None: it went well)."""

    finished_at: dt.datetime
    trigger: str
    error: str | None = None


def first_due(schedule: Schedule, ran_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When a job no scheduler has seen yet is due: at once, or, when its work ran well at
    `ran_at` (a refresh by hand), at its schedule's next time after that (at once if past).
    The scheduler's first run and what `los jobs`, `los sources` and /sources show."""
    if ran_at is None:
        return now
    if ran_at.tzinfo is None:  # as SQLite gives it back: the store keeps UTC
        ran_at = ran_at.replace(tzinfo=dt.UTC)
    return max(now, schedule.next_after(ran_at))


def due_after(schedule: Schedule, row: job_rows.JobRow, outside: RunOutside | None) -> dt.datetime:
    """When a job its scheduler has seen is due: its row's time, but when its work ran well
    outside the scheduler (a refresh by hand) after the job's own last run, not before its
    schedule's next time after that run. `los jobs`, `los sources` and the scheduler's
    register (which writes it) say the same."""
    due = _utc(row.next_due)
    if outside is None or outside.error is not None:
        return due
    finished = _utc(outside.finished_at)
    own = row.last_finished_at
    if own is not None and _utc(own) >= finished:
        return due
    return max(due, schedule.next_after(finished))


@dataclass(frozen=True)
class JobOutcome:
    """What one run of a job did: its summary, or why it failed, and when it is due next.

    `recorded` is False when the run's lease had run out and another scheduler took the job
    over: then this run's outcome was not written to the store.
    """

    key: str
    ok: bool
    summary: str
    started: dt.datetime
    finished: dt.datetime
    next_due: dt.datetime
    attempts: int  # failed runs in a row, this one included (0 after a success)
    recorded: bool = True


@dataclass(frozen=True)
class JobStatus:
    """A job as `los jobs` and the pages show it: its schedule and its row in the store (None
    for a job no scheduler has seen yet: it is due at once)."""

    key: str
    schedule: str
    row: job_rows.JobRow | None
    first: Callable[[dt.datetime], dt.datetime] | None = None  # its `first_due`, by now
    outside: RunOutside | None = None  # its work's last run outside the scheduler
    pushed: dt.datetime | None = None  # its `due_after` (a refresh by hand since its run)

    @property
    def last_outside(self) -> RunOutside | None:
        """The last run outside the scheduler, when it ended after the job's own last run."""
        found = self.outside
        if found is None:
            return None
        own = self.row.last_finished_at if self.row is not None else None
        if own is not None and _utc(own) >= _utc(found.finished_at):
            return None
        return found

    @property
    def state(self) -> str:
        return self.row.state if self.row is not None else "new"

    def next_due(self, now: dt.datetime) -> dt.datetime:
        if self.row is not None:
            if self.pushed is not None:
                return max(_utc(self.row.next_due), self.pushed)
            return self.row.next_due
        return self.first(now) if self.first is not None else now

    def plain(self, now: dt.datetime) -> dict[str, object]:
        """The job as JSON-ready values (times as ISO text, UTC)."""
        row = self.row

        def iso(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "key": self.key,
            "schedule": self.schedule,
            "state": self.state,
            "next_due": iso(self.next_due(now)),
            "last_started_at": iso(row.last_started_at) if row else None,
            "last_finished_at": iso(row.last_finished_at) if row else None,
            "last_outcome": row.last_outcome if row else None,
            "last_error": row.last_error if row else None,
            "attempts": row.attempts if row else 0,
            "last_run_outside": None
            if (outside := self.last_outside) is None
            else {
                "finished_at": iso(_utc(outside.finished_at)),
                "trigger": outside.trigger,
                "error": outside.error,
            },
        }


def _utc(value: dt.datetime) -> dt.datetime:
    """A moment with its zone (SQLite gives UTC back without one)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def scheduler_owner() -> str:
    """A name for one scheduler, unique across processes and hosts: host:pid:random."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int, schedule: Schedule, now: dt.datetime) -> dt.timedelta:
    """How long to wait before retrying a job that failed `attempts` times in a row: 1, 2, 4 ...
    minutes, at most an hour or the schedule's interval (if shorter), at least a minute."""
    first = schedule.next_after(now)
    interval = schedule.next_after(first) - first
    cap = max(FIRST_BACKOFF, min(MAX_BACKOFF, interval))
    # 2**20 minutes is far past any cap: no huge numbers after many failures.
    doublings: int = min(max(attempts, 1) - 1, 20)
    return min(cap, FIRST_BACKOFF * (1 << doublings))


def job_statuses(store: Store, jobs: Sequence[Job]) -> list[JobStatus]:
    """The jobs with their state in the store, in key order."""
    with store.reading() as conn:
        rows = job_rows.read_jobs(conn, [job.key for job in jobs])
    return [
        JobStatus(
            job.key,
            job.schedule.text,
            rows.get(job.key),
            functools.partial(first_due, job.schedule, job.ran_at),
            job.ran_outside,
            None
            if (row := rows.get(job.key)) is None
            else due_after(job.schedule, row, job.ran_outside),
        )
        for job in sorted(jobs, key=lambda j: j.key)
    ]


def run_due(
    store: Store,
    jobs: Sequence[Job],
    now: dt.datetime | None = None,
    *,
    owner: str | None = None,
    stop: threading.Event | None = None,
    clock: Clock = _utc_now,
) -> list[JobOutcome]:
    """Run every job of `jobs` that is due (at `now`, else the clock's time) and that no other
    scheduler is running, one after the other; their outcomes, in the order they ran.

    `stop`: once set, no further job starts. `clock`: the time for lease renewals.
    """
    owner = owner or scheduler_owner()
    _register(store, jobs, now or clock())
    outcomes: list[JobOutcome] = []
    for job in sorted(jobs, key=lambda j: j.key):
        if stop is not None and stop.is_set():
            break
        outcome = _run(store, job, now, owner, clock, due_only=True)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def run_job(
    store: Store,
    job: Job,
    now: dt.datetime | None = None,
    *,
    owner: str | None = None,
    clock: Clock = _utc_now,
) -> JobOutcome | None:
    """Run `job` now, due or not (an admin's "refresh now"); None when another scheduler is
    running it. Afterwards it is next due at its schedule's next time, as after any run."""
    owner = owner or scheduler_owner()
    _register(store, [job], now or clock())
    return _run(store, job, now, owner, clock, due_only=False)


def _register(store: Store, jobs: Sequence[Job], now: dt.datetime) -> None:
    """Give each job a row (due at once when new), and push back the next time of one whose
    work ran well by hand since (`due_after`); writes only when something is new or changed,
    so that an idle tick takes no write lock."""
    if not jobs:
        return
    with store.reading() as conn:
        rows = job_rows.read_jobs(conn, [job.key for job in jobs])
    changed = [
        (
            job.key,
            job.schedule.text,
            first_due(job.schedule, job.ran_at, now)
            if job.key not in rows
            else job.schedule.next_after(now),
        )
        for job in jobs
        if job.key not in rows or rows[job.key].schedule != job.schedule.text
    ]
    pushed = [
        (job.key, due)
        for job in jobs
        if (row := rows.get(job.key)) is not None
        and row.schedule == job.schedule.text
        and (due := due_after(job.schedule, row, job.ran_outside)) != _utc(row.next_due)
    ]
    if changed or pushed:
        with store.transaction() as conn:
            job_rows.register_jobs(conn, changed)
            job_rows.push_back_jobs(conn, pushed)


def _run(
    store: Store, job: Job, given: dt.datetime | None, owner: str, clock: Clock, *, due_only: bool
) -> JobOutcome | None:
    """Claim and run one job. `given`: the caller's time for the whole run (tests, reports
    "as of"), else the clock's at the claim and at the end."""
    now = given or clock()
    with store.transaction() as conn:
        attempts = job_rows.claim_job(conn, job.key, owner, now, now + job.lease, due_only=due_only)
    if attempts is None:
        return None
    log.info("job %s started", job.key)
    heartbeat = _Heartbeat(store, job, owner, clock)
    heartbeat.start()
    error: str | None = None
    summary = ""
    try:
        result = job.run(store)
        summary = _one_line(result) if result else "done"
    except Exception as exc:  # a job's failure is recorded, never the scheduler's end
        error = _reason(exc)
        log.debug("job %s failed", job.key, exc_info=True)
    finally:
        heartbeat.stop()
    finished = given or max(now, clock())
    if error is None:
        attempts, next_due = 0, job.schedule.next_after(now)
    else:
        attempts += 1
        next_due = min(now + backoff(attempts, job.schedule, now), job.schedule.next_after(now))
    with store.transaction() as conn:
        recorded = job_rows.finish_job(
            conn,
            job.key,
            owner,
            schedule=job.schedule.text,
            finished_at=finished,
            next_due=next_due,
            outcome=summary if error is None else None,
            error=error,
        )
    if error is None:
        log.info("job %s: %s", job.key, summary)
    else:
        log.warning("job %s failed (attempt %d): %s", job.key, attempts, error)
    if not recorded:
        log.warning("job %s: its lease ran out during the run; another scheduler took it", job.key)
    return JobOutcome(
        key=job.key,
        ok=error is None,
        summary=summary if error is None else error,
        started=now,
        finished=finished,
        next_due=next_due,
        attempts=attempts,
        recorded=recorded,
    )


def _one_line(text: object) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_TEXT else line[: _MAX_TEXT - 1] + "…"


def _reason(exc: BaseException) -> str:
    """A failure's reason in one line: our errors say it themselves; others with their type.
    A password in a URL is blanked out."""
    message = _one_line(_URL_PASSWORD.sub(r"\1***@", str(exc)))  # before it is cut short
    if isinstance(exc, LineOfSightError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _Heartbeat:
    """Renews a running job's lease every third of its length, until the run ends."""

    def __init__(self, store: Store, job: Job, owner: str, clock: Clock) -> None:
        self._store, self._job, self._owner, self._clock = store, job, owner, clock
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {job.key}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        every = self._job.lease.total_seconds() / 3
        while not self._done.wait(every):
            try:
                with self._store.transaction() as conn:
                    job_rows.renew_lease(
                        conn, self._job.key, self._owner, self._clock() + self._job.lease
                    )
            except Exception:  # a busy store: the next beat tries again, well within the lease
                log.warning("job %s: could not renew its lease", self._job.key, exc_info=True)
