"""The scheduled jobs of a store: every family of recurring jobs, listed here explicitly.

A family is a function `(store) -> list[Job]` that reads what its jobs are from the store
(e.g. one refresh per source and schedule of the strategy file). `los serve`'s scheduler and
`los jobs --due` run `scheduled_jobs(store)`; a family's own command (`los refresh --due`)
passes only its family's jobs to `run_due`. Job keys start with the family's name and a colon
(`refresh:...`, `notify:...`), so that keys of two families never meet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lineofsight.services.scheduler import Job
from lineofsight.store.database import Store

__all__ = ["FAMILIES", "JobFamily", "scheduled_jobs"]

JobFamily = Callable[[Store], list[Job]]

# Every family of scheduled jobs. Add a family here, as a function of this module:
#   source refreshes: services/refresh.py `refresh_jobs(store)`, one Job per RefreshJob with
#     key `refresh:<RefreshJob.key>`, `parse_schedule(schedule_text)`, and a run that calls
#     `refresh(store, sources=[source], kpis=kpis)`, returns its summary line and raises when
#     the source failed (so that the failure is recorded and retried);
#   notifications: key `notify:send`, schedule from the `notifications:` settings (default
#     hourly), a run that calls services/notify.py `send_due(store, now)`.
# Due jobs run in key order, whatever the family.
FAMILIES: Sequence[JobFamily] = ()


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
