"""Read a source's rows and check them as `los load` checks a file: the first half of a
refresh, which runs before the refresh waits for the store's write lock.

A query source runs each KPI's query (`lineofsight.sources.fetch`) from its `:since`; the rows
become the load's raw rows (the KPI's id put in) and go through the same row checks, each
problem named `source NAME, kpi ID: row N`. A source's shared query (one for many KPIs, its
`kpi` column naming each row's KPI by its key) runs once, from the earliest `:since` of its
KPIs, and its rows are split by KPI (row N is still the query's Nth row); a row whose key
names no KPI of the source is a bad row. A file source opens its files with the loader's
reader and checks them with the loader's checks. Every problem of every KPI is collected, and
the source fails as a whole when there is any.

Both kinds count alike. The rows read are those the source gave for the KPIs refreshed (the
"rows" of their provenance, SPEC section 7): a shared query's or a file's rows of the source's
other KPIs are left for their own refresh and not counted. Rows of a period still running are
read and counted, then left out for a later refresh (`not_ended`), not refused.
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
from lineofsight.domain.text import plural
from lineofsight.errors import ColumnsError, LoadError, Problem, SourceError, UsageError
from lineofsight.services.load_rules import LoadRules
from lineofsight.services.measurement_files import RawRow, open_measurements
from lineofsight.services.measurement_frames import overlaps_within, refuse_stored_overlaps
from lineofsight.services.measurements import (
    COLUMNS,
    BadRows,
    check_opened,
    check_rows_frame,
    more_bad_rows,
)
from lineofsight.services.refresh_check import checked_frames
from lineofsight.sources import combined
from lineofsight.sources.files import matching
from lineofsight.store.measurements import MEASUREMENT_FRAME
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
    # The query's row number of each row, by KPI, where it is not the row's place in its
    # KPI's rows (a shared query's rows, split by KPI).
    row_numbers: dict[str, list[int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # bad rows found while reading
    # The rows of shared queries, whole: their kpi column holds KPI ids, `los_row` the
    # query's row number.
    shared: list[pl.DataFrame] = field(default_factory=list)
    # Each KPI's last period refreshed before (its mark), kept when a refresh gives it no row.
    previous: dict[str, str] = field(default_factory=dict)
    # Each KPI's mark fingerprint (a hash of its query, worked out once per refresh).
    fingerprints: dict[str, str] = field(default_factory=dict)
    # Where each checked row of a file source came from: kpi_id, unit_id, period, label (its
    # file), row (a query source's are worked out when needed: `refuse_overlaps`).
    places: pl.DataFrame | None = None
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
    source_feeds: Sequence[Feed] = (),
) -> Pulled:
    """Read a source's rows and check them against `rules` (see the module's docstring).

    `source_kpis`: every KPI the source feeds; a file's rows of those not in `feeds` are left
    for their own refresh, and rows of any other KPI are bad rows. `source_feeds`: every feed
    of the source, whose keys a shared query's rows may name (those not in `feeds` are left
    for their own refresh too)."""
    pulled = Pulled(list(feeds), source_kpis | {feed.kpi_id for feed in feeds})
    started = time.perf_counter()
    kind = feeds[0].kind
    pulled.fingerprints = {feed.kpi_id: feed.mark_fingerprint for feed in feeds}
    if kind in QUERY_KINDS:
        # A thousand KPIs of one source mostly share their last period and look-back: each
        # distinct :since is worked out once.
        starts: dict[tuple[str | None, Any, int], dt.date] = {}
        for feed in feeds:
            mark = marks.get(feed.kpi_id)
            fresh = mark is not None and mark.fingerprint == pulled.fingerprints[feed.kpi_id]
            last = mark.last_period if mark is not None and fresh else None
            if last is not None:
                pulled.previous[feed.kpi_id] = last
            key = (last, feed.frequency, feed.look_back)
            if key not in starts:
                starts[key] = since(last, feed, rules.calendar, full=full)
            pulled.sinces[feed.kpi_id] = starts[key]
        keys: dict[str, set[str]] = {}
        for feed in (*source_feeds, *feeds):
            if feed.key is not None and feed.query is not None:
                keys.setdefault(feed.query, set()).add(feed.key)
        with kinds.batch():
            run_queries(name, pulled, keys)
    else:
        path = feeds[0].path
        assert path is not None
        pulled.files = matching(path, base)
    read = time.perf_counter()
    pulled.read_seconds = read - started
    check(name, pulled, rules, today=today)
    pulled.check_seconds = time.perf_counter() - read
    return pulled


def run_queries(name: str, pulled: Pulled, keys: Mapping[str, set[str]] | None = None) -> None:
    """Run every feed's query from its `:since`, keeping each one's rows in `pulled`.

    A shared query (feeds with a `key`) runs once for all its KPIs; `keys`: every key of
    each shared query among the source's feeds. Queries of one shape (see `sources.combined`)
    go together, a chunk of them in one statement. When a combined statement fails on a query
    error or a timeout, its queries run one by one, so that the failure names the KPI whose
    query failed (and when each runs alone, the combination was what failed: their rows are
    used)."""
    alone: list[Feed] = []
    together: dict[tuple[Any, ...], list[tuple[Feed, combined.Shape]]] = {}
    shared: dict[tuple[Any, ...], list[Feed]] = {}
    for feed in pulled.feeds:
        assert feed.query is not None
        if feed.key is not None:
            shared.setdefault((feed.kind, feed.connection, feed.query), []).append(feed)
            continue
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
    for feeds in shared.values():
        query = feeds[0].query
        assert query is not None
        _run_shared(name, feeds, (keys or {}).get(query, set()), pulled)


def _run_shared(name: str, group: list[Feed], keys: set[str], pulled: Pulled) -> None:
    """Run a source's shared query once, from the earliest `:since` of its KPIs (each KPI's
    provenance records that day), and split its rows by the kpi column."""
    first = group[0]
    assert first.query is not None
    start = min(pulled.sinces[feed.kpi_id] for feed in group)
    for feed in group:
        pulled.sinces[feed.kpi_id] = start
    frame = kinds.fetch(
        first.kind.value,
        dict(first.connection),
        first.query,
        {"since": start},
        timeout=max(feed.timeout for feed in group),
    )
    if "kpi" not in frame.columns:
        raise SourceError(
            "query",
            f"the query of source {name} gives no kpi column: it names each row's KPI "
            "(the KPI's key:, default its id)",
        )
    frame = frame.with_row_index("los_row", offset=1).with_columns(pl.col("kpi").cast(pl.String))
    # Each row's KPI id in one pass over the key column: the key of a KPI refreshed now
    # gives its id, that of the source's other KPIs (left for their own refresh) an empty
    # id, any other key none (a bad row).
    ids = {feed.key: feed.kpi_id for feed in group if feed.key is not None}
    others = (keys | {feed.key for feed in group if feed.key is not None}) - set(ids)
    frame = frame.with_columns(
        los_kpi=pl.col("kpi").replace_strict(
            {**dict.fromkeys(others, ""), **ids}, default=None, return_dtype=pl.String
        )
    )
    strays = frame.filter(pl.col("los_kpi").is_null())
    for row, key in strays.select("los_row", "kpi").head(MAX_PROBLEMS).iter_rows():
        what = "is empty" if key is None else f"'{key}' is the key of no KPI of source {name}"
        pulled.problems.append(Problem(f"source {name}", row, f"column kpi: {what}", is_row=True))
    mine = frame.filter(pl.col("los_kpi") != "")
    mine = mine.with_columns(kpi=pl.col("los_kpi")).drop("los_kpi")
    pulled.shared.append(mine)
    pulled.rows_read += mine.height  # the rows of the KPIs refreshed, as a file source's
    counts = dict(mine.group_by("kpi").len().iter_rows())
    for feed in group:
        pulled.rows_by_kpi[feed.kpi_id] = counts.get(feed.kpi_id, 0)


def _split_shared(pulled: Pulled) -> None:
    """The shared queries' rows as each KPI's own (`raw`, with the query's row numbers): for
    checking KPI by KPI, when some row is bad."""
    if not pulled.shared:
        return
    parts: dict[str, pl.DataFrame] = {}
    for frame in pulled.shared:
        split = frame.partition_by("kpi", as_dict=True, include_key=False)
        parts.update({str(key[0]): part for key, part in split.items()})
    empty = pulled.shared[0].clear().drop("kpi")  # a KPI the query gave no row
    for feed in pulled.feeds:
        if feed.key is not None:
            part = parts.get(feed.kpi_id, empty)
            pulled.row_numbers[feed.kpi_id] = part["los_row"].to_list()
            pulled.raw[feed.kpi_id] = part.drop("los_row")


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


def _keep(feed: Feed, frame: pl.DataFrame, pulled: Pulled, *, count: bool = True) -> None:
    pulled.raw[feed.kpi_id] = frame
    if count:
        pulled.rows_read += frame.height
    pulled.rows_by_kpi[feed.kpi_id] = frame.height


def check(name: str, pulled: Pulled, rules: LoadRules, *, today: dt.date) -> None:
    """Check the pulled rows against `rules`, setting `pulled.checked`; SourceError (kind
    `rows`) listing every bad row of every KPI."""
    problems: list[Problem] = list(pulled.problems)
    frames = []
    if pulled.files:
        frames = _check_files(name, pulled, rules, problems)
    else:
        raw = {feed.kpi_id: pulled.raw[feed.kpi_id] for feed in pulled.feeds if feed.key is None}
        tagged = [frame.drop("los_row") for frame in pulled.shared]
        every = None if problems else checked_frames(rules, raw, tagged)
        if every is not None:
            frames = [every]
        else:  # some row is bad: checked KPI by KPI, each problem named with its KPI
            _split_shared(pulled)
            for feed in pulled.feeds:
                numbers = pulled.row_numbers.get(feed.kpi_id)
                found = _check_query_rows(
                    name, feed, pulled.raw[feed.kpi_id], rules, problems, numbers
                )
                if found is not None:
                    frames.append(found)
    if problems:
        # Wrong columns are no bad rows: said first, and the source's reason is its columns.
        columns = [p for p in problems if isinstance(p, _Columns)]
        problems = [p for p in problems if not isinstance(p, _Columns)]
        # A load's LoadError lists its first rows and counts the rest (`unlisted`, said by
        # its last problem): the source's count is every bad row, its list the first ones.
        listed = [p for p in problems if not isinstance(p, _Unlisted)]
        count = len(listed) + sum(p.count for p in problems if isinstance(p, _Unlisted))
        shown = [
            Problem(p.file, p.line, p.message, p.is_row) for p in [*columns, *listed][:MAX_PROBLEMS]
        ]
        if count + len(columns) > len(shown):
            more = count + len(columns) - len(shown)
            shown.append(Problem(f"source {name}", 0, more_bad_rows(more)))
        if columns:
            also = f" and {plural(count, 'bad row')}" if count else ""
            wrong = "the files' columns are" if pulled.files else "the query's columns are"
            raise SourceError("columns", f"{wrong} wrong{also}; nothing was stored", shown)
        raise SourceError("rows", f"{plural(count, 'bad row')}; nothing was stored", shown)
    checked = pl.concat(frames) if frames else pl.DataFrame(schema={**MEASUREMENT_FRAME})
    if pulled.files:
        pulled.rows_read = checked.height
        pulled.rows_by_kpi = {kpi: n for kpi, n in checked.group_by("kpi_id").len().iter_rows()}
    # A file's rows of periods still running are left for a later refresh, as a query's are.
    running = pl.col("period_end") > today
    pulled.not_ended = checked.filter(running).height
    pulled.checked = (
        checked.filter(~running).select(list(MEASUREMENT_FRAME)).cast(dict(MEASUREMENT_FRAME))  # type: ignore[arg-type]
    )


def _check_query_rows(
    name: str,
    feed: Feed,
    frame: pl.DataFrame,
    rules: LoadRules,
    problems: list[Problem],
    row_numbers: list[int] | None = None,
    *,
    keep_row: bool = False,
) -> pl.DataFrame | None:
    label = f"source {name}, kpi {feed.kpi_id}"
    if "kpi" in frame.columns:
        problems.append(
            Problem(
                label,
                0,
                "the query gives one KPI's values: leave out the kpi column (or make it the "
                "source's query:, whose kpi column names each row's KPI)",
            )
        )
        return None
    header = ["kpi", *frame.columns]
    rows = (
        RawRow(row_numbers[index] if row_numbers else index + 1, {"kpi": feed.kpi_id, **cells})
        for index, cells in enumerate(frame.iter_rows(named=True))
    )
    try:
        # A KPI's own query gives no kpi column (added above); a shared query's rows had one.
        expected = COLUMNS if feed.key is not None else [c for c in COLUMNS if c != "kpi"]
        checked = check_rows_frame(rules, label, header, rows, header_row=0, expected=expected)
    except LoadError as exc:
        problems.extend(_load_problems(exc, label))
        return None
    return checked.select(*MEASUREMENT_FRAME, *(["row"] if keep_row else []))


def refuse_overlaps(name: str, pulled: Pulled, rules: LoadRules, overlaps: pl.DataFrame) -> None:
    """SourceError (`rows`) naming each row the source gave whose period shares days with a
    stored period of another grain or calendar (`Comparison.overlaps`), as its other bad rows
    are named: `source NAME, kpi ID: row N`, the query's Nth row (a file source's: its file
    and row)."""
    if overlaps.is_empty():
        return
    cell = ["kpi_id", "unit_id", "period"]
    places = pulled.places if pulled.files else _query_places(name, pulled, rules, overlaps)
    assert places is not None
    found = overlaps.drop("row").join(places, on=cell, how="left", maintain_order="left")
    reports = []
    for (label,), group in found.group_by("label", maintain_order=True):
        report = BadRows(str(label))
        refuse_stored_overlaps(
            str(label), group.select(*cell, "row", "stored_period"), report=report
        )
        reports.append(report)
    count = sum(report.count for report in reports)
    problems = [problem for report in reports for problem in report.problems]
    shown = problems[:MAX_PROBLEMS]
    if count > len(shown):
        shown.append(Problem(f"source {name}", 0, more_bad_rows(count - len(shown))))
    raise SourceError("rows", f"{plural(count, 'bad row')}; nothing was stored", shown)


def _query_places(
    name: str, pulled: Pulled, rules: LoadRules, overlaps: pl.DataFrame
) -> pl.DataFrame:
    """Where the rows of the KPIs in `overlaps` came from (kpi_id, unit_id, period, label,
    row): their rows checked again one by one, each with the query's row number."""
    _split_shared(pulled)
    kpis = set(overlaps.get_column("kpi_id").unique())
    frames = []
    for feed in pulled.feeds:
        if feed.kpi_id not in kpis:
            continue
        numbers = pulled.row_numbers.get(feed.kpi_id)
        checked = _check_query_rows(
            name, feed, pulled.raw[feed.kpi_id], rules, [], numbers, keep_row=True
        )
        if checked is not None:
            frames.append(
                checked.select(
                    "kpi_id",
                    "unit_id",
                    "period",
                    pl.lit(f"source {name}, kpi {feed.kpi_id}").alias("label"),
                    pl.col("row").cast(pl.Int64),
                )
            )
    return pl.concat(frames) if frames else pl.DataFrame(schema=_PLACES)


_PLACES = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "label": pl.String,
    "row": pl.Int64,
}


@dataclass(frozen=True)
class _Unlisted(Problem):
    """The bad rows a load counted without listing them (its "... and N more" line)."""

    count: int = 0


@dataclass(frozen=True)
class _Columns(Problem):
    """A problem with the columns a query or file gives, not with one of its rows."""


def _load_problems(exc: LoadError | UsageError, label: str) -> list[Problem]:
    """A failed load's problems, its "... and N more bad rows" line kept as a count."""
    if isinstance(exc, ColumnsError):
        return [_Columns(p.file, p.line, p.message, p.is_row) for p in exc.problems]
    if not exc.problems:
        return [Problem(label, 0, exc.summary)]
    unlisted = getattr(exc, "unlisted", 0)
    if not unlisted:
        return list(exc.problems)
    *rows, more = exc.problems
    return [*rows, _Unlisted(more.file, more.line, more.message, count=unlisted)]


def _check_files(
    name: str, pulled: Pulled, rules: LoadRules, problems: list[Problem]
) -> list[pl.DataFrame]:
    fed = {feed.kpi_id for feed in pulled.feeds}
    frames = []
    for path, shown in pulled.files:
        try:
            opened = open_measurements(path, name=shown)
            # Every bad row of the file said and counted at once: those the load's checks
            # find and those naming a KPI the source does not feed.
            bad = BadRows(opened.label)
            checked = check_opened(opened, rules, report=bad)  # a period still running: below
            others = checked.filter(~pl.col("kpi_id").is_in(list(pulled.source_kpis)))
            for kpi, row in others.select("kpi_id", "row").iter_rows():
                bad.add(row, f"column kpi: KPI '{kpi}' takes no values from source {name}")
            bad.raise_if_any()
        except (LoadError, UsageError) as exc:
            problems.extend(_load_problems(exc, shown))
            continue
        mine = checked.filter(pl.col("kpi_id").is_in(list(fed)))
        frames.append(mine.with_columns(file=pl.lit(opened.label)))
    if not frames:
        return []
    every = pl.concat(frames)
    twice = every.filter(pl.len().over("kpi_id", "unit_id", "period") > 1)
    for (kpi, unit, period), group in twice.group_by(["kpi_id", "unit_id", "period"]):
        places = ", ".join(f"{file} row {row}" for file, row in group.select("file", "row").rows())
        problems.append(Problem(name, 0, f"{kpi}, {unit}, {period} is given twice: {places}"))
    if len(frames) > 1:
        # Periods of one KPI and unit that share days, in two files (each file's own were
        # refused with its other bad rows): both would be counted.
        numbered = every.with_row_index("los_at").with_columns(pl.col("los_at").cast(pl.Int64))
        at = numbered.select("file", "row").rows()
        for row, period, other_row, other in overlaps_within(
            numbered.drop("row").rename({"los_at": "row"})
        ):
            (file, line), (other_file, other_line) = at[row], at[other_row]
            problems.append(
                Problem(
                    file,
                    line,
                    f"column period: {period} shares days with {other} in {other_file} row "
                    f"{other_line} (the same KPI and unit): values for both would be counted "
                    "twice; give one or the other",
                    is_row=True,
                )
            )
    pulled.places = every.select(
        "kpi_id", "unit_id", "period", pl.col("file").alias("label"), pl.col("row").cast(pl.Int64)
    )
    return [every.select(list(MEASUREMENT_FRAME))]
