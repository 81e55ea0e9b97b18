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
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
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


# At most this many rows are held per source (about 100 MB): a source of more reads the
# store again each time rather than keep a large part of it in a long-lived process.
HOLD_AT_MOST = 1_000_000

_HELD: weakref.WeakKeyDictionary[Store, dict[str, Held]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def held_rows(store: Store, session: LoadSession, source: str) -> pl.DataFrame | None:
    """The rows held of `source` when nothing was written since its last refresh in this
    process (read in the write transaction `session`), else None (and they are let go)."""
    if session.dialect != "sqlite":
        return None
    with _LOCK:
        found = _HELD.get(store, {}).get(source)
    if found is None:
        return None
    if written_marks(session) != found.marks:
        forget(store, source)
        return None
    return found.rows


def to_hold(
    session: LoadSession,
    rows: pl.DataFrame | None,
    feeds: Sequence[Feed],
    last_periods: Mapping[str, str | None],
    calendar: m.Calendar,
) -> Held | None:
    """What to hold once the write in `session` is committed (`hold`): the rows of each
    KPI's periods its next refresh reads (from its next `:since`), with the store's marks
    as the write leaves them; None when there is nothing to hold."""
    if rows is None or session.dialect != "sqlite" or rows.is_empty():
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


def hold(store: Store, source: str, held: Held | None) -> None:
    """Keep `held` for the next refresh of `source` (its write committed); None: nothing."""
    if held is None:
        forget(store, source)
        return
    with _LOCK:
        _HELD.setdefault(store, {})[source] = held


def forget(store: Store, source: str) -> None:
    """Let go of what is held of `source` (a refresh of it failed, or wrote elsewhere)."""
    with _LOCK:
        _HELD.get(store, {}).pop(source, None)
