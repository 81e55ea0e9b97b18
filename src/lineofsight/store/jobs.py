"""The state of scheduled jobs in the store, and the lease that lets one scheduler run a job.

Several schedulers may share a store (two `los serve` processes, or `los serve` and a cron
job). A scheduler runs a job only after claiming it: one conditional UPDATE that succeeds only
while the job is due and no live lease holds it, so of two schedulers claiming at once exactly
one gets the row (on PostgreSQL the second UPDATE waits for the first to commit, then finds
the lease taken; on SQLite writes take turns). A lease that expires (its process died
mid-run) leaves the job claimable again.

The error text kept here comes from the job: a job must redact secrets (passwords in URLs,
tokens) from its exception messages before raising; nothing here can tell a secret apart.
Times are kept in UTC (SQLite stores them without a zone; they are read back as UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lineofsight.store import job_tables as t

__all__ = [
    "FAILED",
    "IDLE",
    "RUNNING",
    "JobRow",
    "claim_job",
    "finish_job",
    "read_jobs",
    "register_jobs",
    "renew_lease",
]

IDLE = "idle"
RUNNING = "running"
FAILED = "failed"

_jobs = t.scheduled_jobs


@dataclass(frozen=True)
class JobRow:
    """A job's row: its state, when it is next due, its last run and the lease on it."""

    key: str
    schedule: str
    state: str
    next_due: dt.datetime
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_outcome: str | None
    last_error: str | None
    attempts: int
    lease_owner: str | None
    lease_until: dt.datetime | None


def _utc(value: dt.datetime) -> dt.datetime:
    """A time to write: in UTC (SQLite keeps the digits and drops the zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("job times must be timezone-aware")
    return value.astimezone(dt.UTC)


def _read_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def read_jobs(conn: Connection, keys: Iterable[str] | None = None) -> dict[str, JobRow]:
    """The rows of these jobs (every job when `keys` is None), by key."""
    query = select(_jobs).order_by(_jobs.c.key)
    if keys is not None:
        query = query.where(_jobs.c.key.in_(list(keys)))
    rows: dict[str, JobRow] = {}
    for row in conn.execute(query).mappings():
        values = dict(row)
        for name in ("next_due", "last_started_at", "last_finished_at", "lease_until"):
            values[name] = _read_utc(values[name])
        rows[values["key"]] = JobRow(**values)
    return rows


def register_jobs(conn: Connection, jobs: Sequence[tuple[str, str, dt.datetime]]) -> None:
    """Add the jobs (key, schedule text, first time due) that have no row yet, and move a job
    whose schedule changed (and that is not running) to the first time due of its new one."""
    if not jobs:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(_jobs)
        .values(
            [
                {
                    "key": key,
                    "schedule": schedule,
                    "state": IDLE,
                    "next_due": _utc(due),
                    "attempts": 0,
                }
                for key, schedule, due in jobs
            ]
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    for key, schedule, due in jobs:
        conn.execute(
            update(_jobs)
            .where(_jobs.c.key == key, _jobs.c.schedule != schedule, _jobs.c.state != RUNNING)
            .values(schedule=schedule, next_due=_utc(due))
        )


def push_back_jobs(conn: Connection, jobs: Sequence[tuple[str, dt.datetime]]) -> None:
    """Move the jobs (key, time due) that are not running and due sooner to that time."""
    for key, due in jobs:
        conn.execute(
            update(_jobs)
            .where(_jobs.c.key == key, _jobs.c.state != RUNNING, _jobs.c.next_due < _utc(due))
            .values(next_due=_utc(due))
        )


def claim_job(
    conn: Connection,
    key: str,
    owner: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    *,
    due_only: bool = True,
) -> int | None:
    """Take the lease on a job that is due at `now` (any time with `due_only=False`) and that no
    live lease holds: the failed runs in a row it had, or None when it is not to be had.

    One conditional UPDATE, so that two schedulers claiming at once never both get it.
    """
    now = _utc(now)
    conditions = [
        _jobs.c.key == key,
        or_(_jobs.c.lease_until.is_(None), _jobs.c.lease_until <= now),
    ]
    if due_only:
        conditions.append(_jobs.c.next_due <= now)
    attempts = conn.execute(
        update(_jobs)
        .where(*conditions)
        .values(
            state=RUNNING,
            lease_owner=owner,
            lease_until=_utc(lease_until),
            last_started_at=now,
        )
        .returning(_jobs.c.attempts)
    ).scalar()
    return None if attempts is None else int(attempts)


def renew_lease(conn: Connection, key: str, owner: str, until: dt.datetime) -> bool:
    """Extend `owner`'s lease on a job it still holds to `until` (never shorten it)."""
    until = _utc(until)
    result = conn.execute(
        update(_jobs)
        .where(_jobs.c.key == key, _jobs.c.lease_owner == owner, _jobs.c.lease_until < until)
        .values(lease_until=until)
    )
    return result.rowcount == 1


def finish_job(
    conn: Connection,
    key: str,
    owner: str,
    *,
    schedule: str,
    finished_at: dt.datetime,
    next_due: dt.datetime,
    outcome: str | None,
    error: str | None,
) -> bool:
    """Record the end of `owner`'s run of a job and let go of its lease: its outcome (a
    success) or its error (a failure, counted in `attempts`), and when it is due next.

    False when `owner` no longer held the lease (it had expired and another scheduler took the
    job): then nothing is written.
    """
    values: dict[str, object] = {
        "schedule": schedule,
        "next_due": _utc(next_due),
        "last_finished_at": _utc(finished_at),
        "lease_owner": None,
        "lease_until": None,
    }
    if error is None:
        values |= {"state": IDLE, "last_outcome": outcome, "last_error": None, "attempts": 0}
    else:
        values |= {"state": FAILED, "last_error": error, "attempts": _jobs.c.attempts + 1}
    result = conn.execute(
        update(_jobs).where(_jobs.c.key == key, _jobs.c.lease_owner == owner).values(**values)
    )
    return result.rowcount == 1
