"""The scheduled jobs of a store: every family of recurring jobs, listed here explicitly.

A family is a function `(store) -> list[Job]` that reads what its jobs are from the store
(e.g. one refresh per source and schedule of the strategy file). `los serve`'s scheduler and
`los jobs --due` run `scheduled_jobs(store)`; a family's own command (`los refresh --due`)
passes only its family's jobs to `run_due`. Job keys start with the family's name and a colon
(`refresh:...`, `notify:...`, `scorecard:...`), so that keys of two families never meet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lineofsight.domain.schedules import parse_schedule
from lineofsight.services.scheduler import Job, RunOutside
from lineofsight.store.database import Store

__all__ = [
    "FAMILIES",
    "JobFamily",
    "brief_family",
    "notify_family",
    "refresh_family",
    "refresh_job_key",
    "refreshed_well",
    "scheduled_jobs",
    "scorecard_family",
    "went_well",
]

JobFamily = Callable[[Store], list[Job]]

NOTIFY_SCHEDULE = "hourly"  # each message has its own day; an hourly run sends it on time


def refresh_job_key(source: str, schedule: str) -> str:
    """The key of the scheduled refresh of `source` on `schedule` (as the strategy writes it)."""
    return f"refresh:{source}:{schedule}"


def refresh_family(store: Store) -> list[Job]:
    """One job per source and schedule of the strategy file (`refresh:SOURCE:SCHEDULE`)."""
    from lineofsight.services.refresh import refresh_jobs

    jobs = refresh_jobs(store)
    runs = _last_runs(store) if jobs else {}
    return [
        Job(
            refresh_job_key(job.source, job.schedule_text),
            parse_schedule(job.schedule_text),
            job.run,
            ran_at=went_well(runs.get(job.source)),
            ran_outside=outside_run(runs.get(job.source)),
        )
        for job in jobs
    ]


def _last_runs(store: Store) -> dict[str, dict[str, Any]]:
    from lineofsight.services.refresh_lease import shown_run
    from lineofsight.store.sources import last_runs

    now = dt.datetime.now(dt.UTC)
    with store.reading() as conn:
        runs = last_runs(conn)
    return {name: shown for name, run in runs.items() if (shown := shown_run(run, now))}


def outside_run(run: Mapping[str, Any] | None) -> RunOutside | None:
    """A source's newest run, when it ended and no scheduler started it (by hand, the web
    app or the API): `los jobs` shows it beside the job's own last run."""
    if run is None or run.get("trigger") == "schedule" or run.get("state") == "running":
        return None
    finished = run.get("finished_at")
    if not isinstance(finished, dt.datetime):
        return None
    error = run.get("error") if run.get("state") != "ok" else None
    return RunOutside(finished, str(run.get("trigger")), error)


def refreshed_well(store: Store) -> dict[str, dt.datetime]:
    """When each source's newest run finished, for the sources whose newest run went well
    (`went_well`)."""
    runs = _last_runs(store)
    return {name: when for name, run in runs.items() if (when := went_well(run)) is not None}


def went_well(run: Mapping[str, Any] | None) -> dt.datetime | None:
    """When a source's run finished, if it went well: a source refreshed by hand is next
    refreshed at its schedule's next time after that (`scheduler.first_due`), not at once."""
    if run is None or run.get("state") != "ok":
        return None
    finished = run.get("finished_at")
    return finished if isinstance(finished, dt.datetime) else None


def notify_family(store: Store) -> list[Job]:
    """The notifications' sender (`notify:send`), when the strategy file has `notifications:`."""
    from lineofsight.services.notify_settings import read_settings

    with store.reading() as conn:
        settings = read_settings(conn)
    if not settings.enabled:
        return []
    return [Job("notify:send", parse_schedule(NOTIFY_SCHEDULE), _send_notifications)]


def _send_notifications(store: Store) -> str:
    from lineofsight.errors import SendError
    from lineofsight.services.notify import send_due

    report = send_due(store, dt.datetime.now(dt.UTC))
    if report.failed:
        raise SendError(report.line())  # the run is recorded as failed, as `los notify` exits 1
    return report.line()


BRIEF_SCHEDULE = "daily"  # a book is due on a day (lead_days before its review)


def brief_family(store: Store) -> list[Job]:
    """The briefing books' sender (`brief:send`), when the strategy file has `reviews:` and
    `notifications:`: it queues each attendee's book in the notifications outbox."""
    from lineofsight.services.notify_settings import read_settings
    from lineofsight.services.review_settings import read_cadences

    with store.reading() as conn:
        enabled = read_settings(conn).enabled and bool(read_cadences(conn))
    if not enabled:
        return []
    return [Job("brief:send", parse_schedule(BRIEF_SCHEDULE), _queue_books)]


def _queue_books(store: Store) -> str:
    from lineofsight.services.brief_send import queue_books

    return queue_books(store, dt.datetime.now(dt.UTC)).line()


# Daily, after midnight: today's scorecard is carried over from yesterday's (cheap), and a
# turn is made ahead up to a week before it, whatever the writes.
SCORECARD_SCHEDULE = "daily"


def scorecard_family(store: Store) -> list[Job]:
    """The scorecard keeper (`scorecard:keep`), once the strategy has KPIs: today's scorecard
    and the next period turn's kept ready, so that no reader computes one in full
    (`services.snapshots.keep_ready`)."""
    from lineofsight.store.scorecards import read_kpi_groups

    with store.reading() as conn:
        groups = read_kpi_groups(conn)
    if groups is None or not groups[2]:
        return []
    return [Job("scorecard:keep", parse_schedule(SCORECARD_SCHEDULE), _keep_scorecards)]


def _keep_scorecards(store: Store) -> str:
    from lineofsight.services.snapshots import keep_ready

    return keep_ready(store)


# Every family of scheduled jobs; due jobs run in key order, whatever the family.
FAMILIES: Sequence[JobFamily] = (refresh_family, notify_family, brief_family, scorecard_family)


def scheduled_jobs(store: Store, families: Sequence[JobFamily] | None = None) -> list[Job]:
    """Every scheduled job of the store (of `families`, default all), each key once."""
    jobs: list[Job] = []
    seen: set[str] = set()
    for family in FAMILIES if families is None else families:
        for job in family(store):
            if job.key in seen:
                raise ValueError(f"two scheduled jobs have the key {job.key!r}")
            seen.add(job.key)
            jobs.append(job)
    return jobs
