"""Read and write the refreshes of data sources: runs, marks (where each KPI's last refresh got
to) and the provenance of each write (see `source_tables`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, func, insert, select, text, update

from lineofsight.domain import model as m
from lineofsight.store import tables as t
from lineofsight.store.definition_rows import source_of
from lineofsight.store.loading import LoadSession, time_parameter


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a KPI's last refresh from its source got to."""

    kpi_id: str
    fingerprint: str
    last_period: str | None


@dataclass(frozen=True, slots=True)
class SourceWrite:
    """The provenance of one write of values by a refresh (one `loads` row)."""

    load_id: int
    kpi_id: str
    fingerprint: str
    since: dt.date | None
    rows: int


def start_run(
    conn: Connection,
    *,
    source: str,
    trigger: str,
    actor: str | None,
    full: bool,
    at: dt.datetime,
    lease_until: dt.datetime | None = None,
) -> int:
    """Record that a refresh of `source` started (its lease running until `lease_until`);
    the run's id."""
    result = conn.execute(
        insert(t.source_runs).values(
            source=source,
            state="running",
            trigger=trigger,
            actor=actor,
            full_refresh=full,
            started_at=at,
            lease_until=lease_until,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    state: str,
    at: dt.datetime,
    duration: float,
    counts: tuple[int, int, int, int, int] | None = None,
    error: str | None = None,
    problems: Sequence[str] = (),
) -> None:
    """Record how a run ended: its state, time, counts (rows read, added, replaced,
    unchanged, rows of periods not ended yet left out) or its error, and its problems (a
    failed run's bad rows; an ok run's warnings)."""
    read, added, replaced, unchanged, not_ended = counts if counts is not None else (None,) * 5
    conn.execute(
        update(t.source_runs)
        .where(t.source_runs.c.id == run_id)
        .values(
            state=state,
            finished_at=at,
            duration=duration,
            rows_read=read,
            added=added,
            replaced=replaced,
            unchanged=unchanged,
            not_ended=not_ended,
            error=error,
            problems=json.dumps(list(problems), ensure_ascii=False) if problems else None,
            lease_until=None,
        )
    )


def renew_run(conn: Connection, run_id: int, until: dt.datetime) -> None:
    """Extend the lease of a run still running."""
    runs = t.source_runs
    conn.execute(
        update(runs).where(runs.c.id == run_id, runs.c.state == "running").values(lease_until=until)
    )


def end_abandoned(
    conn: Connection, source: str, now: dt.datetime, before: dt.datetime, error: str
) -> int:
    """Record as failed, with `error`, the runs of `source` still "running" whose lease ran
    out before `now` (or, with no lease, that started before `before`); how many."""
    runs = t.source_runs
    expired = (runs.c.lease_until < now) | (
        runs.c.lease_until.is_(None) & (runs.c.started_at < before)
    )
    result = conn.execute(
        update(runs)
        .where(runs.c.source == source, runs.c.state == "running", expired)
        .values(
            state="failed",
            finished_at=func.coalesce(runs.c.lease_until, now),
            error=error,
            lease_until=None,
        )
    )
    return int(result.rowcount or 0)


def running_run(conn: Connection, source: str) -> dict[str, Any] | None:
    """The newest run of `source` still recorded as "running", if any."""
    runs = t.source_runs
    query = (
        select(runs)
        .where(runs.c.source == source, runs.c.state == "running")
        .order_by(runs.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _run(row)


def read_marks(conn: Connection, source: str) -> dict[str, Mark]:
    """The marks of a source's KPIs, by KPI id."""
    query = select(
        t.source_marks.c.kpi_id, t.source_marks.c.fingerprint, t.source_marks.c.last_period
    ).where(t.source_marks.c.source == source)
    return {
        row.kpi_id: Mark(row.kpi_id, row.fingerprint, row.last_period)
        for row in conn.execute(query)
    }


def save_marks(
    session: LoadSession, source: str, marks: Iterable[Mark], *, run_id: int, at: dt.datetime
) -> None:
    """Replace the marks of these KPIs of `source`, inside the refresh's write (two
    statements however many KPIs)."""
    import polars as pl

    found = list(marks)
    if not found:
        return
    session.stage(
        "mark_rows",
        pl.DataFrame(
            [(m.kpi_id, m.fingerprint, m.last_period) for m in found],
            schema={"kpi_id": pl.String, "fingerprint": pl.String, "last_period": pl.String},
            orient="row",
        ),
    )
    session.execute(
        "DELETE FROM source_marks WHERE source = ? AND kpi_id IN (SELECT kpi_id FROM mark_rows)",
        [source],
    )
    session.execute(
        "INSERT INTO source_marks (source, kpi_id, fingerprint, last_period, refreshed_at, "
        "run_id) SELECT ?, kpi_id, fingerprint, last_period, ?, ? FROM mark_rows",
        [source, time_parameter(session, at), run_id],
    )


def save_writes(
    session: LoadSession, source: str, writes: Iterable[SourceWrite], *, run_id: int
) -> None:
    """Record where each write of a refresh came from, inside the refresh's write (one
    statement however many writes)."""
    import polars as pl

    found = list(writes)
    if not found:
        return
    session.append(
        "source_writes",
        pl.DataFrame(
            [(w.load_id, run_id, source, w.kpi_id, w.fingerprint, w.since, w.rows) for w in found],
            schema={
                "load_id": pl.Int64,
                "run_id": pl.Int64,
                "source": pl.String,
                "kpi_id": pl.String,
                "fingerprint": pl.String,
                "since": pl.Date,
                "rows": pl.Int64,
            },
            orient="row",
        ),
    )


def last_runs(conn: Connection) -> dict[str, dict[str, Any]]:
    """The newest run of each source, by source name."""
    runs = t.source_runs
    newest = select(func.max(runs.c.id)).group_by(runs.c.source).scalar_subquery()
    query = select(runs).where(runs.c.id.in_(newest))
    return {row["source"]: _run(row) for row in conn.execute(query).mappings()}


def read_runs(conn: Connection, source: str, limit: int = 20) -> list[dict[str, Any]]:
    """A source's runs, the newest first."""
    runs = t.source_runs
    query = select(runs).where(runs.c.source == source).order_by(runs.c.id.desc()).limit(limit)
    return [_run(row) for row in conn.execute(query).mappings()]


def last_success(conn: Connection) -> dict[str, dt.datetime]:
    """When each source last refreshed without failing."""
    runs = t.source_runs
    query = (
        select(runs.c.source, func.max(runs.c.finished_at))
        .where(runs.c.state == "ok")
        .group_by(runs.c.source)
    )
    return {source: when for source, when in conn.execute(query)}


def read_writes(conn: Connection, run_id: int) -> list[dict[str, Any]]:
    """The provenance rows of one run, with the time of each write."""
    w, loads = t.source_writes, t.loads
    query = (
        select(w, loads.c.recorded_at, loads.c.source.label("load_source"))
        .join(loads, loads.c.id == w.c.load_id)
        .where(w.c.run_id == run_id)
        .order_by(w.c.load_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def kpis_fed_by(conn: Connection, names: Iterable[str]) -> dict[str, str]:
    """The KPIs that take values from these sources, with the source of each (a KPI's own
    source is named after the KPI)."""
    wanted = set(names)
    found = {}
    for kpi_id, source in conn.execute(select(t.kpis.c.id, t.kpis.c.source)):
        settings = json.loads(source) if isinstance(source, str) else source
        if not isinstance(settings, dict) or settings.get("kind") in (None, "manual"):
            continue
        name = settings.get("from") or kpi_id
        if name in wanted:
            found[kpi_id] = name
    return found


def read_fed_kpis(conn: Connection) -> list[tuple[str, m.Frequency, bool, m.Source | None]]:
    """Every KPI's id, frequency, whether it has a formula, and its source, in the file's
    order: what a refresh makes its feeds of (`domain.sources.feeds_of`), read without the
    rest of each KPI (its targets, links and texts)."""
    k = t.kpis
    query = select(k.c.id, k.c.frequency, k.c.formula.is_not(None), k.c.source).order_by(
        k.c.position
    )
    found = []
    for kpi_id, frequency, has_formula, source in conn.execute(query):
        found.append((kpi_id, m.Frequency(frequency), bool(has_formula), source_of(source)))
    return found


def forget_source(conn: Connection, source: str) -> None:
    """Drop the marks of a source (its next refresh reads everything again)."""
    conn.execute(delete(t.source_marks).where(t.source_marks.c.source == source))


def _run(row: Any) -> dict[str, Any]:
    """A run as a dict; its `problems` column is a failed run's bad rows, or an ok run's
    `warnings` (values written that look like a slip)."""
    found = dict(row)
    listed = json.loads(found["problems"]) if found.get("problems") else []
    ok = found.get("state") == "ok"
    found["problems"], found["warnings"] = ([], listed) if ok else (listed, [])
    return found


# What a store's definitions are now: the newest definition change (every apply and edit
# that changes anything adds one; its time too, for a store made again under one URL) and
# whether the organisation exists, as the check's kept report and the kept scorecard tell
# them (all change with the definitions).
_DEFINITIONS = (
    "SELECT (SELECT max(id) FROM definition_changes) AS changes, "
    "(SELECT CAST(changed_at AS TEXT) FROM definition_changes ORDER BY id DESC LIMIT 1) "
    "AS changed_at, (SELECT count(*) FROM organization) AS organizations"
)
_DEFINITIONS_SCHEMA = {"changes": pl.Int64, "changed_at": pl.String, "organizations": pl.Int64}


def read_definitions_state(conn: Connection | LoadSession) -> tuple[int, str, int]:
    """The state of the store's definitions: equal twice, nothing was applied or edited in
    between (a refresh reuses the organisation and load rules it read then)."""
    if isinstance(conn, Connection):
        changes, changed_at, organizations = conn.execute(text(_DEFINITIONS)).one()
    else:
        changes, changed_at, organizations = conn.query(_DEFINITIONS, _DEFINITIONS_SCHEMA).row(0)
    return int(changes or 0), str(changed_at or ""), int(organizations or 0)
