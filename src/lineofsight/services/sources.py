"""The data sources as people see them: kind, schedule, KPIs, last and next run, state.

What `los sources`, the web app's sources page and the API's source endpoints show.
Connection settings are shown as written (`env:NAME`), never resolved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lineofsight.display import utc_minute
from lineofsight.domain import model as m
from lineofsight.domain.schedules import parse_schedule
from lineofsight.domain.sources import (
    CONNECTION_KEYS,
    Feed,
    by_source,
    feeding_source,
    feeds,
    source_kind,
)
from lineofsight.services.jobs import outside_run, refresh_job_key, went_well
from lineofsight.services.refresh_lease import shown_run
from lineofsight.services.scheduler import due_after, first_due
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization
from lineofsight.store.jobs import JobRow, read_jobs
from lineofsight.store.sources import kpis_fed_by, last_runs, read_runs


@dataclass(frozen=True)
class SourceStatus:
    """One source: what it is, what it feeds, and how its last refresh went."""

    name: str
    kind: str
    schedules: tuple[str, ...]
    kpis: tuple[str, ...]
    connection: tuple[tuple[str, Any], ...]  # as written: secrets stay env:NAME
    last_run: dict[str, Any] | None
    next_run: dt.datetime | None

    @property
    def state(self) -> str:
        """running, ok, failed, or never (not refreshed yet)."""
        return str(self.last_run["state"]) if self.last_run else "never"

    def as_json(self) -> dict[str, Any]:
        """The source as the API and `los sources --format json` give it."""
        run = self.last_run
        return {
            "name": self.name,
            "kind": self.kind,
            "schedules": list(self.schedules),
            "kpis": list(self.kpis),
            "settings": dict(self.connection),
            "state": self.state,
            "last_run": None if run is None else run_json(run),
            "next_run": _time(self.next_run),
        }


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    """One run of a source, for JSON."""
    return {
        "id": run["id"],
        "state": run["state"],
        "trigger": run["trigger"],
        "actor": run["actor"],
        "full": bool(run["full_refresh"]),
        "started_at": _time(run["started_at"]),
        "finished_at": _time(run["finished_at"]),
        "duration": run["duration"],
        "rows_read": run["rows_read"],
        "added": run["added"],
        "replaced": run["replaced"],
        "unchanged": run["unchanged"],
        "not_ended": run["not_ended"],
        "error": run["error"],
        "problems": run["problems"],
        "warnings": run.get("warnings", []),
    }


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="seconds")


def source_statuses(store: Store, *, now: dt.datetime | None = None) -> list[SourceStatus]:
    """Every source of the store's strategy, in the file's order."""
    with store.reading() as conn:
        org = read_organization(conn)
        runs = last_runs(conn)
        jobs = read_jobs(conn)
    if org is None:
        return []
    now = now or dt.datetime.now(dt.UTC)
    runs = {name: shown for name, run in runs.items() if (shown := shown_run(run, now))}
    grouped = by_source(feeds(org))
    found = [_status(name, group, runs.get(name), jobs, now) for name, group in grouped.items()]
    # Named sources that feed no KPI yet are listed too, after the others.
    for source in org.sources:
        if source.name not in grouped:
            found.append(
                SourceStatus(
                    name=source.name,
                    kind=source_kind(source.kind).value,
                    schedules=(),
                    kpis=(),
                    connection=tuple((k, v) for k, v in source.settings if k in CONNECTION_KEYS),
                    last_run=runs.get(source.name),
                    next_run=None,
                )
            )
    return found


def source_failures(store: Store, *, now: dt.datetime | None = None) -> dict[str, str]:
    """Why each KPI whose source's last refresh failed has no new value, by KPI id, said to
    the business people who own it: "its source NAME failed at its last refresh on DAY; the
    data team has the details". The driver's error is for the data team (`los sources`,
    /sources, the server's log), never an owner's list or email. Empty, and cheap, when no
    source failed."""
    now = now or dt.datetime.now(dt.UTC)
    with store.reading() as conn:
        runs = {name: shown_run(run, now) for name, run in last_runs(conn).items()}
        failed = {name: run for name, run in runs.items() if run and run["state"] == "failed"}
        if not failed:
            return {}
        fed = kpis_fed_by(conn, failed)
    found = {}
    for kpi_id, name in fed.items():
        run = failed[name]
        when = run.get("finished_at") or run.get("started_at")
        day = f" on {when:%Y-%m-%d}" if isinstance(when, dt.datetime) else ""
        found[kpi_id] = (
            f"its source {name} failed at its last refresh{day}; the data team has the details"
        )
    return found


@dataclass(frozen=True)
class KpiSource:
    """Where a KPI's values come from, as its page and its check-in form say it: the
    source's name, the KPI's schedule, and when its last refresh ran and last failed (the
    reason is the data team's: on the sources page)."""

    name: str
    schedule: str | None
    last_state: str  # ok, failed, running, or never
    last_run: str | None  # when the last refresh ended (or started), to the minute
    last_failure: str | None  # when the newest failed refresh among the recent ones ended

    @property
    def link(self) -> str:
        """The source's line on the sources page."""
        return f"/sources#source-{self.name}"


def kpi_source(store: Store, kpi: m.Kpi, *, now: dt.datetime | None = None) -> KpiSource | None:
    """The source a KPI's values come from and how its recent refreshes went, or None for a
    KPI entered by hand (or computed): one read of that source's recent runs."""
    name = feeding_source(kpi.id, kpi.source, kpi.formula is not None)
    if name is None or kpi.source is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    with store.reading() as conn:
        runs = [shown for run in read_runs(conn, name) if (shown := shown_run(run, now))]
    last = runs[0] if runs else None
    failed = next((run for run in runs if run["state"] == "failed"), None)
    return KpiSource(
        name=name,
        schedule=kpi.source.setting("schedule"),
        last_state=str(last["state"]) if last else "never",
        last_run=_moment(last),
        last_failure=_moment(failed),
    )


def _moment(run: dict[str, Any] | None) -> str | None:
    if run is None:
        return None
    return utc_minute(run.get("finished_at") or run.get("started_at"))


def source_status(
    store: Store, name: str, *, now: dt.datetime | None = None
) -> SourceStatus | None:
    """One source by name, or None."""
    return next((s for s in source_statuses(store, now=now) if s.name == name), None)


def source_runs(
    store: Store, name: str, limit: int = 20, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """A source's runs, newest first, for JSON (one past its lease shown as ended)."""
    now = now or dt.datetime.now(dt.UTC)
    with store.reading() as conn:
        runs = read_runs(conn, name, limit)
    return [run_json(shown) for run in runs if (shown := shown_run(run, now)) is not None]


def _status(
    name: str,
    group: list[Feed],
    run: dict[str, Any] | None,
    jobs: dict[str, JobRow],
    now: dt.datetime,
) -> SourceStatus:
    schedules = tuple(dict.fromkeys(f.schedule for f in group if f.schedule))
    return SourceStatus(
        name=name,
        kind=group[0].kind.value,
        schedules=schedules,
        kpis=tuple(f.kpi_id for f in group),
        connection=group[0].connection,
        last_run=run,
        next_run=next_run(name, schedules, jobs, now, run),
    )


def next_run(
    name: str,
    schedules: tuple[str, ...],
    jobs: dict[str, JobRow],
    now: dt.datetime,
    run: dict[str, Any] | None = None,
) -> dt.datetime | None:
    """When the scheduler next refreshes the source: the soonest of its schedules' jobs (a
    failed one at its retry; one no scheduler has seen yet at its `first_due`, after the
    source's last refresh `run` if it went well; one whose source was refreshed by hand since
    its own last run at its `due_after`); None when it has no schedule."""
    if not schedules:
        return None
    times = []
    for text in schedules:
        row, schedule = jobs.get(refresh_job_key(name, text)), parse_schedule(text)
        times.append(
            first_due(schedule, went_well(run), now)
            if row is None
            else due_after(schedule, row, outside_run(run))
        )
    return min(times)
