"""The stored values a process's last refresh of a source left, held in memory for its next
refresh: `los serve` refreshes each source through one Store for its lifetime, and each
refresh compares the values of its look-back (two periods and the new one: 80,000 values
for 1,000 KPIs of 20 units) with the stored ones. Held, they are not read again while
nothing else was written.

What is held is every stored row of each (last day, KPI) pair the refresh compared, as its
write left them (the stored value where it kept it, its own where it wrote one), of the
periods the next refresh reads (from each KPI's next `:since`), with the marks of the store
at its commit (the newest definition change, load and replaced value). The next refresh
uses them only when the store's marks are still those, read inside its own write
transaction: on SQLite, whose writers take turns, nothing was written in between. (On
PostgreSQL a transaction may commit after another whose ids are newer; nothing is held.)
Only a long-lived process holds anything (`keep_holds`), at most `HOLD_IN_ALL` rows a store.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.sources import Feed, since
from lineofsight.store.database import Store
from lineofsight.store.loading import LoadSession
from lineofsight.store.measurement_writes import written_marks


@dataclass(frozen=True)
class Held:
    """The stored rows of a source's pairs (`measurement_writes.HELD`) as of `marks`."""

    marks: tuple[int, int, int]
    rows: pl.DataFrame


# At most this many rows are held per refresh (about 100 MB): a source of more reads the
# store again each time rather than keep a large part of it in a long-lived process.
HOLD_AT_MOST = 1_000_000
# At most this many rows are held per store in all: past it, what was used least recently
# is let go first.
HOLD_IN_ALL = 2_000_000

# What is held: by source and the KPIs a refresh of it reads (a source's KPIs on different
# schedules are refreshed apart, each group by its own job), oldest use first.
Key = tuple[str, frozenset[str]]
_HELD: weakref.WeakKeyDictionary[Store, OrderedDict[Key, Held]] = weakref.WeakKeyDictionary()
# The stores of long-lived processes (`los serve`'s scheduler, the web app's "refresh now"):
# only their refreshes hold anything. A one-shot `los refresh` would only keep every
# source's rows until it exits.
_LONG_LIVED: weakref.WeakSet[Store] = weakref.WeakSet()
_LOCK = threading.Lock()


def keep_holds(store: Store) -> None:
    """Let the refreshes through `store`, a long-lived process's, hold what they leave."""
    with _LOCK:
        _LONG_LIVED.add(store)


def hold_key(source: str, feeds: Sequence[Feed]) -> Key:
    """What a refresh of `feeds` of `source` holds its rows under."""
    return source, frozenset(feed.kpi_id for feed in feeds)


def held_rows(store: Store, session: LoadSession, key: Key) -> pl.DataFrame | None:
    """The rows held of `key` when nothing was written since its last refresh in this
    process (read in the write transaction `session`), else None. Every hold of `store` the
    store's marks have moved past is let go: marks only grow, it could never be used again."""
    if session.dialect != "sqlite":
        return None
    with _LOCK:
        if not _HELD.get(store):
            return None
    marks = written_marks(session)
    with _LOCK:
        holds = _HELD.get(store)
        if holds is None:
            return None
        for stale in [k for k, h in holds.items() if h.marks != marks]:
            del holds[stale]
        found = holds.get(key)
        if found is None:
            return None
        holds.move_to_end(key)  # used last: let go last
    return found.rows


def to_hold(
    store: Store,
    session: LoadSession,
    rows: pl.DataFrame | None,
    feeds: Sequence[Feed],
    last_periods: Mapping[str, str | None],
    calendar: m.Calendar,
) -> Held | None:
    """What to hold once the write in `session` is committed (`hold`): the rows of each
    KPI's periods its next refresh reads (from its next `:since`), with the store's marks
    as the write leaves them; None when there is nothing to hold (or `store` is not a
    long-lived process's: `keep_holds`)."""
    if rows is None or session.dialect != "sqlite" or rows.is_empty():
        return None
    with _LOCK:
        if store not in _LONG_LIVED:
            return None
    starts: dict[tuple[str | None, m.Frequency, int], dt.date] = {}
    kpis, firsts = [], []
    for feed in feeds:
        last = last_periods.get(feed.kpi_id)
        key = (last, feed.frequency, feed.look_back)
        if key not in starts:
            starts[key] = since(last, feed, calendar)
        kpis.append(feed.kpi_id)
        firsts.append(starts[key])
    first = pl.DataFrame({"kpi_id": kpis, "los_from": firsts}, schema=_FROM)
    kept = (
        rows.join(first, on="kpi_id", how="inner")
        .filter(pl.col("period_end") >= pl.col("los_from"))
        .drop("los_from")
    )
    if kept.height > HOLD_AT_MOST:
        return None
    return Held(written_marks(session), kept)


_FROM = {"kpi_id": pl.String, "los_from": pl.Date}


def hold(store: Store, key: Key, held: Held | None) -> None:
    """Keep `held` for the next refresh of `key` (its write committed); None: nothing. The
    holds its write left stale are let go, then the least recently used past `HOLD_IN_ALL`."""
    if held is None:
        forget(store, key)
        return
    with _LOCK:
        holds = _HELD.setdefault(store, OrderedDict())
        holds.pop(key, None)
        for stale in [k for k, h in holds.items() if h.marks != held.marks]:
            del holds[stale]
        holds[key] = held
        total = sum(h.rows.height for h in holds.values())
        while total > HOLD_IN_ALL and len(holds) > 1:
            _oldest, dropped = holds.popitem(last=False)
            total -= dropped.rows.height


def forget(store: Store, key: Key) -> None:
    """Let go of what is held of `key` (a refresh of it failed, or wrote elsewhere)."""
    with _LOCK:
        holds = _HELD.get(store)
        if holds is not None:
            holds.pop(key, None)
