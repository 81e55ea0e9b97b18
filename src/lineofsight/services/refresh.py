"""Pull KPI values from where the data lives: `los refresh`, the web app, the API and the
scheduler all call `refresh`.

Each source is refreshed on its own, in one write transaction: all of its KPIs' values, or
none of them. A source that fails (unreachable, timeout, a query error, bad rows, a missing
secret) is recorded with its reason and never stops the others. Values are written as a load
writes them (a changed value replaces the stored one, kept as a revision), with provenance:
each KPI's write is a `loads` row naming the source, its query's fingerprint and the rows it
gave, with a `source_writes` row beside it. Each run of a source is a `source_runs` row.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.sources import Feed, by_source, feeds_of
from lineofsight.domain.text import did_you_mean, plural
from lineofsight.errors import (
    InputError,
    LineOfSightError,
    Problem,
    SourceError,
    StoreError,
    UsageError,
)
from lineofsight.services.load_rules import LoadRules, read_load_rules
from lineofsight.services.refresh_gone import Gone, no_longer_given, remove
from lineofsight.services.refresh_held import Held, Key, held_rows, hold, hold_key, to_hold
from lineofsight.services.refresh_lease import (
    Renewal,
    end_abandoned_runs,
    lease_until,
    refuse_running,
)
from lineofsight.services.refresh_pull import Pulled, check, pull, refuse_overlaps
from lineofsight.services.snapshots import refresh_kept
from lineofsight.sources.secrets import scrub, secret_values
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_settings
from lineofsight.store.loading import LoadSession, load_session, reading_session
from lineofsight.store.measurement_writes import (
    compare_held,
    compare_measurements,
    write_compared_by_kpi,
)
from lineofsight.store.measurements import KEY
from lineofsight.store.organization import read_source_file
from lineofsight.store.sources import (
    Mark,
    SourceWrite,
    finish_run,
    read_definitions_state,
    read_fed_kpis,
    read_marks,
    save_marks,
    save_writes,
    start_run,
)

logger = logging.getLogger(__name__)

# A refreshed number that differs from the stored one by at most this part of it is the same
# value: an engine's float sum adds in any order (DuckDB's threads), so the same facts may
# give a result that differs in its last bits (about 1e-16 of it) from one run to the next,
# which must not be stored again as a revision. Twelve significant digits are far more than
# any KPI shows, and far fewer than a double holds.
SAME_WITHIN = 1e-12


# What was read last of a store's definitions, by the Store object that read it: their
# state (`read_definitions_state`), and the organisation and its feeds, or the load rules,
# read then. `los serve` refreshes through one Store for its lifetime; its definitions are
# read again only when an apply or an edit changed them.
_DEFINED: weakref.WeakKeyDictionary[Store, dict[str, tuple[Any, Any]]] = weakref.WeakKeyDictionary()
_DEFINED_LOCK = threading.Lock()


def _defined(store: Store, what: str, state: Any, read: Any) -> Any:
    """`read()` of the store's definitions in `state`, or what it gave last in that state."""
    with _DEFINED_LOCK:
        found = _DEFINED.get(store, {}).get(what)
    if found is not None and found[0] == state:
        return found[1]
    value = read()
    with _DEFINED_LOCK:
        _DEFINED.setdefault(store, {})[what] = (state, value)
    return value


@dataclass(frozen=True)
class SourceSummary:
    """How one source's refresh went."""

    source: str
    kind: str
    kpis: tuple[str, ...]
    state: str  # ok, failed, or dry-run (checked and compared, nothing written)
    rows_read: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    not_ended: int = 0  # rows of periods still running, left for a later refresh
    # Stored values the source no longer gives, removed (`refresh_gone`); and the KPIs it
    # gave no row at all, with how many of their values were kept for that.
    removed: int = 0
    kept: tuple[tuple[str, int], ...] = ()
    duration: float = 0.0
    reason: str | None = None  # what failed: unreachable, timeout, query, rows, secret, ...
    error: str | None = None  # one line, never a secret
    problems: tuple[str, ...] = ()
    # Values written that look like a slip (`engine.plausibility`, as for a load): each
    # "KPI ID at unit UNIT, PERIOD: why (the value is stored)".
    warnings: tuple[str, ...] = ()
    since: tuple[tuple[str, dt.date], ...] = ()  # each query's :since
    run_id: int | None = None
    # Where the time went, in seconds: reading the source, checking its rows, comparing
    # and writing them (the kept scorecard's upkeep after the refresh is the report's).
    timings: tuple[tuple[str, float], ...] = ()

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    def as_json(self) -> dict[str, Any]:
        """The summary as `los refresh --format json` and the API give it."""
        return {
            "source": self.source,
            "kind": self.kind,
            "kpis": list(self.kpis),
            "state": self.state,
            "rows_read": self.rows_read,
            "added": self.added,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "not_ended": self.not_ended,
            "removed": self.removed,
            "kept": dict(self.kept),
            "duration": round(self.duration, 3),
            "since": {kpi: day.isoformat() for kpi, day in self.since},
            "timings": {step: round(seconds, 3) for step, seconds in self.timings},
            "reason": self.reason,
            "error": self.error,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }

    def line(self) -> str:
        """The summary as one line of text."""
        if self.failed:
            return f"{self.source}: failed ({self.reason}): {self.error}"
        verb = "would add" if self.state == "dry-run" else "added"
        text = (
            f"{self.source}: {plural(self.rows_read, 'row')} read, {verb} {self.added:,}, "
            f"replaced {self.replaced:,}, unchanged {self.unchanged:,}"
        )
        if self.removed:
            text += f", removed {self.removed:,}"
        text += f" in {self.duration:.2f} s"
        if self.not_ended:
            text += f" ({plural(self.not_ended, 'row')} of periods not ended yet left out)"
        return text + "".join(f"; warning: {warning}" for warning in self.warnings)


@dataclass(frozen=True)
class RefreshReport:
    """One summary per source refreshed, and the upkeep after them: the kept scorecard
    brought up to date once for every source that wrote (seconds, and the process's CPU
    seconds meanwhile), as after any write of values."""

    sources: tuple[SourceSummary, ...]
    full: bool = False
    dry_run: bool = False
    upkeep: float = 0.0
    upkeep_cpu: float = 0.0

    @property
    def failed(self) -> list[SourceSummary]:
        return [s for s in self.sources if s.failed]


@dataclass(frozen=True)
class RefreshJob:
    """A scheduled refresh: the KPIs of one source that share one schedule. `key` is
    `SOURCE:SCHEDULE` (the scheduler's family puts `refresh:` before it)."""

    key: str
    schedule_text: str
    source: str
    kpis: tuple[str, ...]

    def run(self, store: Store) -> str:
        """Refresh now; a one-line summary, SourceError when the source failed."""
        report = refresh(store, kpis=self.kpis, trigger="schedule")
        if not report.sources:
            return f"{self.source}: nothing to refresh"
        summary = next((s for s in report.sources if s.source == self.source), report.sources[0])
        if summary.failed:
            raise SourceError(summary.reason or "error", summary.line(), ())
        return summary.line()


def refresh_jobs(store: Store) -> list[RefreshJob]:
    """One job per source and schedule, for the scheduler (KPIs with no schedule: none)."""
    with store.reading() as conn:
        org, _known, every = _feeding(conn)
    if org is None:
        return []
    jobs: dict[tuple[str, str], list[str]] = {}
    for feed in every:
        if feed.schedule:
            jobs.setdefault((feed.source, feed.schedule), []).append(feed.kpi_id)
    return [
        RefreshJob(f"{source}:{schedule}", schedule, source, tuple(kpis))
        for (source, schedule), kpis in jobs.items()
    ]


def refresh(
    store: Store,
    *,
    kpis: Sequence[str] = (),
    sources: Sequence[str] = (),
    full: bool = False,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    trigger: str = "command",
    actor: str | None = None,
) -> RefreshReport:
    """Refresh the sources of `kpis` and `sources` (both empty: every source).

    UsageError for an unknown KPI or source, or a KPI with no source; a failing source is
    reported in its summary, never raised. `full` reads every period (`:since` is the first
    supported day); `dry_run` reads, checks and compares but writes nothing.
    """
    with store.reading() as conn:
        state = read_definitions_state(conn)
        org, known, every = _defined(store, "feeds", state, lambda: _feeding(conn))
        strategy = read_source_file(conn)
    if org is None:
        raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    # File sources' relative paths are read from the folder of the strategy file last applied
    # with `los apply` (one applied through the API has no folder: the current one).
    base = Path(strategy).parent if strategy and Path(strategy).is_absolute() else Path.cwd()
    chosen = select_feeds(known, [s.name for s in org.sources], every, kpis, sources)
    grouped = by_source(every)
    summaries = []
    for name in sources:  # a named source that feeds no KPI yet: a run that reads nothing
        named = next((s for s in org.sources if s.name == name), None)
        if named is not None and name not in grouped:
            summaries.append(_empty_run(store, named, now, trigger, actor, full, dry_run))
    for name, group in by_source(chosen).items():
        summaries.append(
            _refresh_source(
                store,
                name,
                group,
                grouped[name],
                base=base,
                full=full,
                dry_run=dry_run,
                now=now,
                trigger=trigger,
                actor=actor,
            )
        )
    upkeep = _keep_scorecard(store, summaries)
    return RefreshReport(
        tuple(summaries), full=full, dry_run=dry_run, upkeep=upkeep[0], upkeep_cpu=upkeep[1]
    )


def _keep_scorecard(store: Store, summaries: Sequence[SourceSummary]) -> tuple[float, float]:
    """After the sources' writes, as after a load: the kept scorecard patched for the KPIs
    written (nothing when none was written), once for all sources, not once each. Its
    seconds and the process's CPU seconds. The values are committed: a failure here is
    logged, never the refresh's (the next status brings the scorecard up to date itself)."""
    if not any(s.added or s.replaced or s.removed for s in summaries if s.state == "ok"):
        return 0.0, 0.0
    started, cpu = time.perf_counter(), time.process_time()
    try:
        refresh_kept(store)
    except Exception as exc:  # a cache's upkeep: the refresh's writes stand
        logger.error(
            "the kept scorecard is left to the next status: %s: %s", type(exc).__name__, exc
        )
    return time.perf_counter() - started, time.process_time() - cpu


def _feeding(conn: Any) -> tuple[m.Organization | None, frozenset[str], list[Feed]]:
    """The organisation's settings and named sources (not its items), the ids of its KPIs,
    and the feeds: what a refresh reads of the definitions (building every KPI whole, its
    targets and links, would cost more than the rest of a small refresh)."""
    org = read_settings(conn)
    if org is None:
        return None, frozenset(), []
    kpis = read_fed_kpis(conn)
    return org, frozenset(kpi[0] for kpi in kpis), feeds_of(org.sources, kpis)


def _load_rules(store: Store, session: LoadSession) -> tuple[Any, LoadRules]:
    """The store's definitions' state and its load rules (read again only when that state
    changed); UsageError when there is no strategy."""
    state = read_definitions_state(session)
    rules = _defined(store, "load rules", state, lambda: read_load_rules(session))
    if rules is None:
        raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    return state, rules


def _empty_run(
    store: Store,
    named: m.NamedSource,
    now: dt.datetime | None,
    trigger: str,
    actor: str | None,
    full: bool,
    dry_run: bool,
) -> SourceSummary:
    """The refresh of a source no KPI takes values from: nothing to read, the run recorded."""
    summary = SourceSummary(named.name, named.kind.value, (), "dry-run" if dry_run else "ok")
    if dry_run:
        return summary
    at = now or dt.datetime.now(dt.UTC)
    with store.transaction() as conn:
        end_abandoned_runs(conn, named.name, at)
        run_id = start_run(conn, source=named.name, trigger=trigger, actor=actor, full=full, at=at)
    summary = replace(summary, run_id=run_id)
    _finish(store, run_id, summary, at)
    return summary


def select_feeds(
    known: Collection[str],
    named: Collection[str],
    every: list[Feed],
    kpis: Sequence[str],
    sources: Sequence[str],
) -> list[Feed]:
    """The feeds of the KPIs and sources asked for (nothing asked: all), of an organisation
    with the KPIs `known` and the named sources `named`; UsageError naming each unknown one."""
    if not kpis and not sources:
        return every
    problems = []
    fed = {feed.kpi_id for feed in every}
    names = {feed.source for feed in every} | set(named)
    for kpi in kpis:
        if kpi not in known:
            problems.append(Problem("KPI", 0, f"unknown KPI '{kpi}'{did_you_mean(kpi, known)}"))
        elif kpi not in fed:
            problems.append(
                Problem("KPI", 0, f"KPI '{kpi}' has no source to refresh (its values are manual)")
            )
    for name in sources:
        if name not in names:
            problems.append(
                Problem("source", 0, f"unknown source '{name}'{did_you_mean(name, names)}")
            )
    if problems:
        raise UsageError(problems[0].message, problems)
    return [feed for feed in every if feed.kpi_id in kpis or feed.source in sources]


def _refresh_source(
    store: Store,
    name: str,
    group: list[Feed],
    source_feeds: list[Feed],
    *,
    base: Path,
    full: bool,
    dry_run: bool,
    now: dt.datetime | None,
    trigger: str,
    actor: str | None,
) -> SourceSummary:
    started = time.perf_counter()
    at = now or dt.datetime.now(dt.UTC)
    summary = SourceSummary(
        name, group[0].kind.value, tuple(f.kpi_id for f in group), "dry-run" if dry_run else "ok"
    )
    # Feeds of one source mostly share one connection: its secrets resolved once.
    connections = dict.fromkeys(feed.connection for feed in group)
    secrets = [s for connection in connections for s in secret_values(dict(connection))]
    run_id = None
    try:
        if not dry_run:
            with store.transaction() as conn:
                refuse_running(conn, name, at)  # one refresh of a source at a time
                run_id = start_run(
                    conn,
                    source=name,
                    trigger=trigger,
                    actor=actor,
                    full=full,
                    at=at,
                    lease_until=lease_until(at),
                )
        summary = replace(summary, run_id=run_id)
        if run_id is None:
            summary = _run_source(
                store, name, group, source_feeds, summary, base, full, dry_run, at, run_id, actor
            )
        else:
            with Renewal(store, run_id):
                summary = _run_source(
                    store,
                    name,
                    group,
                    source_feeds,
                    summary,
                    base,
                    full,
                    dry_run,
                    at,
                    run_id,
                    actor,
                )
    except SourceError as exc:
        summary = _failed(summary, exc.kind, exc.message, exc.problems, secrets)
    except InputError as exc:
        summary = _failed(summary, "rows", exc.summary, exc.problems, secrets)
    except StoreError as exc:
        summary = _failed(summary, "store", str(exc), (), secrets)
    except (LineOfSightError, Exception) as exc:  # a bad source never stops the others
        message = scrub(str(exc).split("\n", 1)[0], secrets)
        logger.error("source %s: unexpected %s: %s", name, type(exc).__name__, message)
        summary = _failed(summary, "error", f"{type(exc).__name__}: {message}", (), secrets)
    summary = replace(summary, duration=time.perf_counter() - started)
    if run_id is not None:
        _finish(store, run_id, summary, at)
    if summary.failed:
        logger.info("source %s failed (%s): %s", name, summary.reason, summary.error)
    else:
        logger.info("%s", summary.line())
    return summary


def _failed(
    summary: SourceSummary,
    reason: str,
    message: str,
    problems: Sequence[Problem],
    secrets: list[str],
) -> SourceSummary:
    return replace(
        summary,
        state="failed",
        reason=reason,
        error=scrub(message, secrets),
        problems=tuple(scrub(str(p), secrets) for p in problems),
        added=0,
        replaced=0,
        unchanged=0,
        removed=0,
        kept=(),
    )


def _finish(store: Store, run_id: int, summary: SourceSummary, started_at: dt.datetime) -> None:
    finished = started_at + dt.timedelta(seconds=summary.duration)
    counts = (
        summary.rows_read,
        summary.added,
        summary.replaced,
        summary.unchanged,
        summary.not_ended,
    )
    try:
        with store.transaction() as conn:
            finish_run(
                conn,
                run_id,
                state=summary.state,
                at=finished,
                duration=summary.duration,
                counts=None if summary.failed else counts,
                error=None if not summary.failed else f"{summary.reason}: {summary.error}",
                problems=summary.problems if summary.failed else summary.warnings,
            )
    except StoreError as exc:  # the values are written (or not); only the record is late
        logger.error("source %s: its run could not be recorded: %s", summary.source, exc)


def _run_source(
    store: Store,
    name: str,
    group: list[Feed],
    source_feeds: list[Feed],
    summary: SourceSummary,
    base: Path,
    full: bool,
    dry_run: bool,
    at: dt.datetime,
    run_id: int | None,
    actor: str | None = None,
) -> SourceSummary:
    with reading_session(store) as session:
        state, rules = _load_rules(store, session)
    with store.reading() as conn:
        marks = read_marks(conn, name)
    today = at.date()
    pulled = pull(
        name,
        group,
        marks,
        rules,
        base=base,
        full=full,
        today=today,
        source_kpis=frozenset(feed.kpi_id for feed in source_feeds),
        source_feeds=source_feeds,
    )
    summary = replace(
        summary,
        rows_read=pulled.rows_read,
        not_ended=pulled.not_ended,
        since=tuple(pulled.sinces.items()),
        timings=(("read", pulled.read_seconds), ("check", pulled.check_seconds)),
    )
    started = time.perf_counter()
    if dry_run:
        with reading_session(store) as session:
            comparison = compare_measurements(
                session, pulled.checked, rules.calendar, relative=SAME_WITHIN
            )
            refuse_overlaps(name, pulled, rules, comparison.overlaps)
            gone = _gone(session, name, pulled, today)
        unchanged = comparison.frame.height - comparison.new.height - comparison.changed.height
        return replace(
            summary,
            timings=(*summary.timings, ("compare", time.perf_counter() - started)),
            added=comparison.new.height,
            replaced=comparison.changed.height,
            unchanged=unchanged,
            removed=gone.values.height,
            kept=gone.kept,
        )
    assert run_id is not None
    key = hold_key(name, group)  # a source's KPIs on each schedule are held apart
    with load_session(store) as session:
        (added, replaced, unchanged), (removed, kept), held, written = _write(
            store, session, (name, key), pulled, (state, rules), (at, actor), run_id, today
        )
    hold(store, key, held)  # committed: what its next refresh finds stored
    return replace(
        summary,
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        warnings=_warnings(store, rules, written),
        removed=removed,
        kept=kept,
        timings=(*summary.timings, ("write", time.perf_counter() - started)),
    )


def _warnings(store: Store, rules: LoadRules, written: pl.DataFrame) -> tuple[str, ...]:
    """The values a refresh added or replaced that look like a slip, judged once they are
    committed as a load's are (`services.plausibility`): one line each."""
    from lineofsight.services.plausibility import value_warnings

    if written.is_empty():
        return ()
    flagged = value_warnings(store, rules, written).filter(pl.col("reason").is_not_null())
    return tuple(
        f"KPI {kpi_id} at unit {unit_id}, {period}: {reason} (the value is stored)"
        for kpi_id, unit_id, period, reason in flagged.sort("kpi_id", "unit_id", "period_end")
        .select("kpi_id", "unit_id", "period", "reason")
        .iter_rows()
    )


def _write(
    store: Store,
    session: LoadSession,
    named: tuple[str, Key],
    pulled: Pulled,
    seen: tuple[Any, LoadRules],
    when: tuple[dt.datetime, str | None],
    run_id: int,
    today: dt.date,
) -> tuple[
    tuple[int, int, int], tuple[int, tuple[tuple[str, int], ...]], Held | None, pl.DataFrame
]:
    """Write a source's values in the caller's transaction: each KPI's as one write of its
    own, with its provenance and the KPI's mark, and remove the values it no longer gives
    (`refresh_gone`; `when`: the time, and who refreshed). The counts (added, replaced,
    unchanged; removed and kept), the stored rows to hold for the source's next refresh once
    committed (`refresh_held`; held under `named`'s key), and the values added or replaced
    (kpi_id, unit_id, period, period_end)."""
    name, key = named
    at, actor = when
    state, rules = _load_rules(store, session)
    if state != seen[0] and rules != seen[1]:
        # The definitions changed meanwhile: check the rows again against them.
        check(name, pulled, rules, today=today)
    comparison, after = compare_held(
        session,
        pulled.checked,
        rules.calendar,
        held_rows(store, session, key),
        relative=SAME_WITHIN,
    )
    refuse_overlaps(name, pulled, rules, comparison.overlaps)
    # What each feed reads (its query, or its path), hashed once: a source's KPIs mostly
    # share one query.
    prints: dict[tuple[str | None, str | None], str] = {}
    for feed in pulled.feeds:
        if (feed.query, feed.path) not in prints:
            prints[feed.query, feed.path] = feed.fingerprint
    provenance = {}
    for feed in pulled.feeds:
        rows = pulled.rows_by_kpi.get(feed.kpi_id, 0)
        what = (
            f"files {feed.path}" if pulled.files else f"query {prints[feed.query, feed.path][:12]}"
        )
        provenance[feed.kpi_id] = f"source {name}: {what}, {rows:,} rows"
    done = write_compared_by_kpi(session, comparison, provenance, at=at)
    gone = _gone(session, name, pulled, today)
    removed = remove(session, name, gone, actor=actor, at=at)
    if removed and after is not None:
        after = after.join(gone.values.select(KEY), on=KEY, how="anti")
    last = _last_periods(comparison.frame)
    writes, marks, lasts = [], [], {}
    for feed in pulled.feeds:
        load_id = done[feed.kpi_id].load_id
        if load_id is not None:
            writes.append(
                SourceWrite(
                    load_id,
                    feed.kpi_id,
                    prints[feed.query, feed.path],
                    pulled.sinces.get(feed.kpi_id),
                    pulled.rows_by_kpi.get(feed.kpi_id, 0),
                )
            )
        # A KPI that gave no row this time keeps its mark: its next :since stays where it was.
        last_period = last.get(feed.kpi_id) or pulled.previous.get(feed.kpi_id)
        lasts[feed.kpi_id] = last_period
        marks.append(Mark(feed.kpi_id, pulled.fingerprints[feed.kpi_id], last_period))
    save_writes(session, name, writes, run_id=run_id)
    save_marks(session, name, marks, run_id=run_id, at=at)
    counts = [write.counts for write in done.values()]
    held = to_hold(store, session, after, pulled.feeds, lasts, rules.calendar)
    keys = ["kpi_id", "unit_id", "period", "period_end"]
    written = pl.concat([comparison.new.select(keys), comparison.changed.select(keys)])
    return (
        (
            sum(c.added for c in counts),
            sum(c.replaced for c in counts),
            sum(c.unchanged for c in counts),
        ),
        (removed, gone.kept),
        held,
        written,
    )


def _gone(session: LoadSession, name: str, pulled: Pulled, today: dt.date) -> Gone:
    """The values source `name` wrote that its refresh read again and no longer gives."""
    return no_longer_given(
        session, name, pulled.feeds, pulled.sinces, pulled.rows_by_kpi, pulled.checked, today
    )


def _last_periods(frame: pl.DataFrame) -> dict[str, str]:
    """Each KPI's latest period among its rows (by last day, then the shortest)."""
    if frame.is_empty():
        return {}
    latest = (
        frame.sort(["period_end", "period_start"], descending=[True, True], maintain_order=True)
        .group_by("kpi_id", maintain_order=True)
        .first()
    )
    return dict(latest.select("kpi_id", "period").iter_rows())


__all__ = ["RefreshJob", "RefreshReport", "SourceSummary", "refresh", "refresh_jobs"]
