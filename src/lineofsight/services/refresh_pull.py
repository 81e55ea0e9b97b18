"""Read a source's rows and check them as `los load` checks a file: the first half of a
refresh, which runs before the refresh waits for the store's write lock.

A query source runs each KPI's query (`lineofsight.sources.fetch`) from its `:since`; the rows
become the load's raw rows (the KPI's id put in) and go through the same row checks, each
problem named `source NAME, kpi ID: row N`. A file source opens its files with the loader's
reader and checks them with the loader's checks. Every problem of every KPI is collected, and
the source fails as a whole when there is any.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight import sources as kinds
from lineofsight.domain.sources import QUERY_KINDS, Feed, since
from lineofsight.errors import LoadError, Problem, SourceError, UsageError
from lineofsight.services.load_rules import LoadRules
from lineofsight.services.measurement_files import RawRow, open_measurements
from lineofsight.services.measurement_frames import refuse_file_overlaps
from lineofsight.services.measurements import check_opened, check_rows
from lineofsight.services.refresh_check import checked_frames
from lineofsight.sources import combined
from lineofsight.sources.files import matching
from lineofsight.store.measurements import MEASUREMENT_FRAME, frame_of_rows
from lineofsight.store.sources import Mark

MAX_PROBLEMS = 200

logger = logging.getLogger(__name__)


@dataclass
class Pulled:
    """What a source gave: each KPI's raw rows (query sources) and the checked values."""

    feeds: list[Feed]
    source_kpis: frozenset[str] = frozenset()  # every KPI the source feeds, asked for or not
    sinces: dict[str, dt.date] = field(default_factory=dict)
    raw: dict[str, pl.DataFrame] = field(default_factory=dict)  # query rows, by KPI
    files: list[tuple[Path, str]] = field(default_factory=list)
    rows_read: int = 0
    checked: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=MEASUREMENT_FRAME))
    not_ended: int = 0  # rows of periods still running, left for a later refresh
    rows_by_kpi: dict[str, int] = field(default_factory=dict)
    read_seconds: float = 0.0  # running the queries (a file source's files are read by the check)
    check_seconds: float = 0.0


def pull(
    name: str,
    feeds: Sequence[Feed],
    marks: Mapping[str, Mark],
    rules: LoadRules,
    *,
    base: Path,
    full: bool,
    today: dt.date,
    source_kpis: frozenset[str] = frozenset(),
) -> Pulled:
    """Read a source's rows and check them against `rules` (see the module's docstring).

    `source_kpis`: every KPI the source feeds; a file's rows of those not in `feeds` are left
    for their own refresh, and rows of any other KPI are bad rows."""
    pulled = Pulled(list(feeds), source_kpis | {feed.kpi_id for feed in feeds})
    started = time.perf_counter()
    kind = feeds[0].kind
    if kind in QUERY_KINDS:
        for feed in feeds:
            mark = marks.get(feed.kpi_id)
            last = mark.last_period if mark and mark.fingerprint == feed.fingerprint else None
            pulled.sinces[feed.kpi_id] = since(last, feed, rules.calendar, full=full)
        with kinds.batch():
            run_queries(name, pulled)
    else:
        path = feeds[0].path
        assert path is not None
        pulled.files = matching(path, base)
    read = time.perf_counter()
    pulled.read_seconds = read - started
    check(name, pulled, rules, today=today)
    pulled.check_seconds = time.perf_counter() - read
    return pulled


def run_queries(name: str, pulled: Pulled) -> None:
    """Run every feed's query from its `:since`, keeping each one's rows in `pulled`.

    Queries of one shape (see `sources.combined`) go together, a chunk of them in one
    statement. When a combined statement fails on a query error or a timeout, its queries run
    one by one, so that the failure names the KPI whose query failed (and when each runs
    alone, the combination was what failed: their rows are used)."""
    alone: list[Feed] = []
    together: dict[tuple[Any, ...], list[tuple[Feed, combined.Shape]]] = {}
    for feed in pulled.feeds:
        assert feed.query is not None
        shape = combined.shape(feed.query)
        if shape is None:
            alone.append(feed)
        else:
            together.setdefault((feed.kind, feed.connection, shape.key), []).append((feed, shape))
    for group in together.values():
        if len(group) == 1:
            alone.append(group[0][0])
            continue
        for chunk in combined.chunks(range(len(group))):
            _run_combined(name, [group[i] for i in chunk], pulled)
    for feed in alone:
        _run_alone(feed, pulled)


def _run_combined(name: str, group: list[tuple[Feed, combined.Shape]], pulled: Pulled) -> None:
    first = group[0][0]
    statement = combined.combine(
        [(shape.text, {"since": pulled.sinces[feed.kpi_id]}) for feed, shape in group]
    )
    try:
        frames = kinds.fetch_parts(
            first.kind.value,
            dict(first.connection),
            statement.statement,
            statement.params,
            timeout=sum(feed.timeout for feed, _ in group),
            count=len(group),
        )
    except SourceError as exc:
        if exc.kind not in ("query", "timeout"):
            raise
        logger.info(
            "source %s: a statement of %d queries failed (%s); running them one by one",
            name,
            len(group),
            exc.message,
        )
        for feed, _ in group:
            _run_alone(feed, pulled)
        return
    for (feed, _), frame in zip(group, frames, strict=True):
        _keep(feed, frame, pulled)


def _run_alone(feed: Feed, pulled: Pulled) -> None:
    """Run one KPI's query on its own; a failure names the KPI when the source feeds more."""
    assert feed.query is not None
    try:
        frame = kinds.fetch(
            feed.kind.value,
            dict(feed.connection),
            feed.query,
            {"since": pulled.sinces[feed.kpi_id]},
            timeout=feed.timeout,
        )
    except SourceError as exc:
        if len(pulled.feeds) == 1 or exc.kind not in ("query", "timeout"):
            raise
        # Which of the source's queries failed: the one message names its KPI.
        raise SourceError(exc.kind, f"kpi {feed.kpi_id}: {exc.message}", exc.problems) from None
    _keep(feed, frame, pulled)


def _keep(feed: Feed, frame: pl.DataFrame, pulled: Pulled) -> None:
    pulled.raw[feed.kpi_id] = frame
    pulled.rows_read += frame.height
    pulled.rows_by_kpi[feed.kpi_id] = frame.height


def check(name: str, pulled: Pulled, rules: LoadRules, *, today: dt.date) -> None:
    """Check the pulled rows against `rules`, setting `pulled.checked`; SourceError (kind
    `rows`) listing every bad row of every KPI."""
    problems: list[Problem] = []
    frames = []
    if pulled.files:
        frames = _check_files(name, pulled, rules, today, problems)
    else:
        raw = {feed.kpi_id: pulled.raw[feed.kpi_id] for feed in pulled.feeds}
        every = checked_frames(rules, raw)
        if every is not None:
            frames = [every]
        else:  # some row is bad: checked KPI by KPI, each problem named with its KPI
            for feed in pulled.feeds:
                found = _check_query_rows(name, feed, raw[feed.kpi_id], rules, problems)
                if found is not None:
                    frames.append(found)
    if problems:
        count = len(problems)
        shown = [str(p) for p in problems[:MAX_PROBLEMS]]
        raise SourceError(
            "rows",
            f"{count} bad {'row' if count == 1 else 'rows'}; nothing was stored",
            [Problem(p.file, p.line, p.message, p.is_row) for p in problems[:MAX_PROBLEMS]]
            if shown
            else (),
        )
    checked = pl.concat(frames) if frames else pl.DataFrame(schema={**MEASUREMENT_FRAME})
    if pulled.files:
        pulled.rows_read = checked.height
    running = pl.col("period_end") > today
    pulled.not_ended = checked.filter(running).height if not pulled.files else 0
    pulled.checked = (
        checked.filter(~running).select(list(MEASUREMENT_FRAME)).cast(dict(MEASUREMENT_FRAME))  # type: ignore[arg-type]
    )
    if pulled.files:
        pulled.rows_by_kpi = {
            kpi: n for kpi, n in pulled.checked.group_by("kpi_id").len().iter_rows()
        }


def _check_query_rows(
    name: str, feed: Feed, frame: pl.DataFrame, rules: LoadRules, problems: list[Problem]
) -> pl.DataFrame | None:
    label = f"source {name}, kpi {feed.kpi_id}"
    if "kpi" in frame.columns:
        problems.append(
            Problem(label, 0, "the query gives one KPI's values: leave out the kpi column")
        )
        return None
    header = ["kpi", *frame.columns]
    rows = (
        RawRow(number, {"kpi": feed.kpi_id, **cells})
        for number, cells in enumerate(frame.iter_rows(named=True), start=1)
    )
    numbers: list[int] = []
    try:
        found = check_rows(rules, label, header, rows, header_row=0, numbers=numbers)
        checked = frame_of_rows(found).with_columns(row=pl.Series(numbers, dtype=pl.Int64))
        refuse_file_overlaps(label, checked)
    except LoadError as exc:
        problems.extend(exc.problems or [Problem(label, 0, exc.summary)])
        return None
    return checked.select(list(MEASUREMENT_FRAME))


def _check_files(
    name: str, pulled: Pulled, rules: LoadRules, today: dt.date, problems: list[Problem]
) -> list[pl.DataFrame]:
    fed = {feed.kpi_id for feed in pulled.feeds}
    frames = []
    for path, shown in pulled.files:
        try:
            opened = open_measurements(path, name=shown)
            checked = check_opened(opened, rules.until(today))
        except (LoadError, UsageError) as exc:
            problems.extend(exc.problems or [Problem(shown, 0, exc.summary)])
            continue
        others = checked.filter(~pl.col("kpi_id").is_in(list(pulled.source_kpis)))
        for kpi, row in others.select("kpi_id", "row").iter_rows():
            problems.append(
                Problem(
                    opened.label,
                    row,
                    f"column kpi: KPI '{kpi}' takes no values from source {name}",
                    is_row=True,
                )
            )
        mine = checked.filter(pl.col("kpi_id").is_in(list(fed)))
        frames.append(mine.with_columns(file=pl.lit(opened.label)))
    if not frames:
        return []
    every = pl.concat(frames)
    twice = every.filter(pl.len().over("kpi_id", "unit_id", "period") > 1)
    for (kpi, unit, period), group in twice.group_by(["kpi_id", "unit_id", "period"]):
        places = ", ".join(f"{file} row {row}" for file, row in group.select("file", "row").rows())
        problems.append(Problem(name, 0, f"{kpi}, {unit}, {period} is given twice: {places}"))
    return [every.select(list(MEASUREMENT_FRAME))]
