"""Which KPIs each data source feeds, and from which day a refresh reads them again.

A KPI's `source:` either names a source of the strategy file's `sources:` (`from:`) or is its
own (a `url:` or `path:` on the KPI), then named after the KPI. `feeds` lists one `Feed` per
KPI fed by a source, in the file's order; a refresh of a source takes all its feeds (or those
asked for) in one transaction.

A named SQL or Spark source may have a `query:` of its own that gives many KPIs' rows at once,
its `kpi` column naming each row's KPI by the KPI's `key:` (default: the KPI's id): a KPI of
that source without a query of its own takes its rows from there (its feed's `key` is set).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lineofsight.domain import model as m
from lineofsight.domain.periods import MIN_YEAR, PeriodError, grain_of, parse_period, period_of

DEFAULT_LOOK_BACK = 2  # periods before the last refreshed one that a refresh reads again
DEFAULT_TIMEOUT = 300.0  # seconds a query may run
FIRST_DAY = dt.date(MIN_YEAR, 1, 1)  # :since of a full refresh
QUERY_KINDS = frozenset({m.SourceKind.SQL, m.SourceKind.SPARK})
# What a source's connection is made of (the rest of a KPI's settings are the KPI's own).
CONNECTION_KEYS = ("url", "master", "path")


def source_kind(kind: m.SourceKind) -> m.SourceKind:
    """`csv` is the old name of `file`."""
    return m.SourceKind.FILE if kind is m.SourceKind.CSV else kind


@dataclass(frozen=True, slots=True)
class Feed:
    """One KPI fed by one source: the query (or files) that give its values, and when."""

    source: str
    kind: m.SourceKind
    kpi_id: str
    frequency: m.Frequency
    connection: tuple[tuple[str, Any], ...]  # url, master or path, as written (env:NAME kept)
    query: str | None = None
    schedule: str | None = None
    look_back: int = DEFAULT_LOOK_BACK
    timeout: float = DEFAULT_TIMEOUT
    # Set when the KPI takes its rows from the source's own query: the value of its kpi column
    # that marks them.
    key: str | None = None

    @property
    def fingerprint(self) -> str:
        """What identifies what this feed reads: the SHA-256 of its query (or of its path)."""
        return fingerprint(self.query if self.query is not None else self.path or "")

    @property
    def mark_fingerprint(self) -> str:
        """What the mark of a refresh keeps: the query's fingerprint, and for the rows of a
        source's shared query the key too (a KPI given another key reads everything again)."""
        if self.key is None:
            return self.fingerprint
        return fingerprint(f"{self.query}\n-- key: {self.key}")

    @property
    def path(self) -> str | None:
        return dict(self.connection).get("path")


def fingerprint(text: str) -> str:
    """The SHA-256 of a query's text, in hex: the provenance of the values it gave."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def feeding_source(kpi_id: str, source: m.Source | None, has_formula: bool) -> str | None:
    """The name of the source a KPI's values come from (one of `sources:`, or the KPI's own,
    named after it), or None for a KPI entered by hand or computed by its formula."""
    if source is None or source.kind is m.SourceKind.MANUAL or has_formula:
        return None
    return str(source.setting("from") or kpi_id)


def fed_by_source(kpi: m.Kpi) -> bool:
    """Whether a KPI's values come from a data source (not entered by hand)."""
    return feeding_source(kpi.id, kpi.source, kpi.formula is not None) is not None


def feeds(org: m.Organization) -> list[Feed]:
    """One feed per KPI whose source is not manual, in the file's order."""
    return feeds_of(
        org.sources, ((k.id, k.frequency, k.formula is not None, k.source) for k in org.kpis)
    )


# What a feed is made of of one KPI: its id, frequency, whether it has a formula, its source.
FedKpi = tuple[str, m.Frequency, bool, m.Source | None]


def feeds_of(sources: Iterable[m.NamedSource], kpis: Iterable[FedKpi]) -> list[Feed]:
    """`feeds` of the named sources `sources` and of `kpis` (in the file's order), without
    the rest of the organisation (a refresh reads only these of each KPI)."""
    named = {source.name: source for source in sources}
    found = []
    for kpi_id, frequency, has_formula, source in kpis:
        if source is None or source.kind is m.SourceKind.MANUAL or has_formula:
            continue
        own = dict(source.settings)
        parent = named.get(own.get("from") or "")
        if own.get("from") is not None and parent is None:
            continue  # validation refuses it; a store written by hand may still hold one
        base = dict(parent.settings) if parent is not None else {}
        shared = own.get("query") is None and base.get("query") is not None
        found.append(
            Feed(
                source=parent.name if parent is not None else kpi_id,
                kind=source_kind(parent.kind if parent is not None else source.kind),
                kpi_id=kpi_id,
                frequency=frequency,
                connection=tuple(
                    (key, (base if parent is not None else own)[key])
                    for key in CONNECTION_KEYS
                    if (base if parent is not None else own).get(key) is not None
                ),
                query=base.get("query") if shared else own.get("query"),
                schedule=own.get("schedule"),
                look_back=int(
                    _first(own.get("look_back"), base.get("look_back"), DEFAULT_LOOK_BACK)
                ),
                timeout=float(_first(own.get("timeout"), base.get("timeout"), DEFAULT_TIMEOUT)),
                key=str(_first(own.get("key"), kpi_id)) if shared else None,
            )
        )
    return found


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)


def by_source(items: Iterable[Feed]) -> dict[str, list[Feed]]:
    """Feeds grouped by source name, sources in the order first met."""
    grouped: dict[str, list[Feed]] = {}
    for feed in items:
        grouped.setdefault(feed.source, []).append(feed)
    return grouped


def since(
    last_period: str | None, feed: Feed, calendar: m.Calendar = m.Calendar(), *, full: bool = False
) -> dt.date:
    """The first day a refresh of `feed` reads: the start of the period `look_back` periods
    before the last one refreshed; the first supported day when nothing was refreshed yet, or
    for a full refresh."""
    if full or last_period is None:
        return FIRST_DAY
    try:
        last = parse_period(last_period, calendar)
    except PeriodError:
        return FIRST_DAY
    # The look-back counts the KPI's own periods, even when its values come finer.
    grain = grain_of(feed.frequency)
    period = period_of(last.end, grain, calendar, last.fiscal) if last.grain < grain else last
    start = period.start
    for _ in range(feed.look_back):
        if start <= FIRST_DAY:
            return FIRST_DAY
        start = period_of(start - dt.timedelta(days=1), grain, calendar, period.fiscal).start
    return max(start, FIRST_DAY)


def schedules(items: Sequence[Feed]) -> dict[str | None, list[Feed]]:
    """A source's feeds grouped by schedule (None: refreshed only when asked)."""
    grouped: dict[str | None, list[Feed]] = {}
    for feed in items:
        grouped.setdefault(feed.schedule, []).append(feed)
    return grouped
