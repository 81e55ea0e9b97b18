"""Scorecard snapshots: the last scorecard computed for an as-of date, kept in the store with
what it covers, and the KPIs written since.

What a snapshot covers is three ids that only grow, each taken by a write under the store's
write lock (so in the order the writes commit):
- `definitions`: the newest `definition_changes.id` (every `los apply` that changes anything
  adds rows there); a snapshot of other definitions is not used;
- `load_id`: the newest `loads.id`; a value added or replaced since names a newer load;
- `revision_id`: the newest `measurement_revisions.id`; a value replaced or deleted since
  left its old self there.
Every write of values (load, check-in, upload, delete) adds to `loads` or to
`measurement_revisions` in its own transaction, so these tables are the change log: the KPIs
written since a snapshot are those of newer rows there (an index on `measurements.load_id`
finds them).

The marks are read before the data they describe, so a snapshot never claims more than it
holds: a write that commits in between is in the data and counted again next time, which
costs a KPI scored twice and never shows a stale value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, LargeBinary, bindparam, text
from sqlalchemy.exc import OperationalError

from lineofsight.errors import StoreError
from lineofsight.store.database import Store, idle

KEEP = 16  # snapshots kept (the newest saved); a status for an older date computes again


@dataclass(frozen=True)
class Marks:
    """What a scorecard covers: the newest definition change, load and replaced value ids."""

    definitions: int
    load_id: int
    revision_id: int

    def covers(self, other: Marks) -> bool:
        """Whether everything `other` covers is covered here too."""
        return (
            self.definitions >= other.definitions
            and self.load_id >= other.load_id
            and self.revision_id >= other.revision_id
        )


@dataclass(frozen=True)
class Snapshot:
    """A stored scorecard: what it covers, and its frames (see `services.snapshots`)."""

    marks: Marks
    payload: bytes


_MARKS = text(
    "SELECT (SELECT MAX(id) FROM definition_changes), (SELECT MAX(id) FROM loads), "
    "(SELECT MAX(id) FROM measurement_revisions)"
)
# Plain SQL over `tables.scorecard_snapshots`: a status that finds its snapshot up to date
# imports no table definitions. The key's types bind dates and flags alike on both databases.
_KEY: list[Any] = [bindparam("as_of", type_=Date), bindparam("lag", type_=Boolean)]
_WHERE = " FROM scorecard_snapshots WHERE as_of = :as_of AND lag = :lag"
_READ = text("SELECT definitions, load_id, revision_id, payload" + _WHERE).bindparams(*_KEY)
_READ_MARKS = text("SELECT definitions, load_id, revision_id" + _WHERE).bindparams(*_KEY)
_DELETE = text("DELETE" + _WHERE).bindparams(*_KEY)
_INSERT = text(
    "INSERT INTO scorecard_snapshots (as_of, lag, definitions, load_id, revision_id, payload, "
    "saved_at) VALUES (:as_of, :lag, :definitions, :load_id, :revision_id, :payload, :saved_at)"
).bindparams(
    *_KEY,
    bindparam("payload", type_=LargeBinary),
    bindparam("saved_at", type_=DateTime(timezone=True)),
)
_OLDEST = "SELECT as_of, lag FROM scorecard_snapshots ORDER BY saved_at DESC"


def read_fiscal_start(conn: Connection) -> int | None:
    """The first month of the organisation's fiscal year; None before any `los apply`."""
    row = conn.execute(text("SELECT fiscal_year_start FROM organization")).first()
    return None if row is None else int(row[0])


def read_marks(conn: Connection) -> Marks:
    """What the store holds now (read it before the data a scorecard reads)."""
    row = conn.execute(_MARKS).one()
    return Marks(*(int(v or 0) for v in row))


def read_snapshot(conn: Connection, as_of: dt.date, lag: bool) -> Snapshot | None:
    """The stored scorecard of this as-of date and mode, if any."""
    row = conn.execute(_READ, {"as_of": as_of, "lag": lag}).first()
    if row is None:
        return None
    return Snapshot(Marks(int(row[0]), int(row[1]), int(row[2])), bytes(row[3]))


def written_since(conn: Connection, marks: Marks) -> set[str]:
    """The KPIs whose values were added, replaced or deleted after `marks` (and maybe a few
    written by writes newer than the marks, read after them)."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT kpi_id FROM measurements WHERE load_id > :load_id "
            "UNION SELECT DISTINCT kpi_id FROM measurement_revisions WHERE id > :revision_id"
        ),
        {"load_id": marks.load_id, "revision_id": marks.revision_id},
    )
    return {str(r[0]) for r in rows}


def _oldest(conn: Connection) -> Any:
    """The snapshots past the KEEP saved last (OFFSET needs a LIMIT: SQLite's is -1)."""
    limit = " LIMIT -1" if conn.dialect.name == "sqlite" else ""
    return text(f"{_OLDEST}{limit} OFFSET :keep").columns(as_of=Date, lag=Boolean)


def save_snapshot(
    store: Store, as_of: dt.date, lag: bool, marks: Marks, payload: bytes, *, wait: float = 0.2
) -> bool:
    """Keep a scorecard unless one that covers more is there already; False when the store
    could not take it now (another write holds it, a read-only file): a status never waits
    behind a load to save what it can compute again."""
    brief = Store(store.url, migrate=False, busy_timeout=wait)
    try:
        with brief.transaction() as conn:
            key = {"as_of": as_of, "lag": lag}
            found = conn.execute(_READ_MARKS, key).first()
            if found is not None:
                if not marks.covers(Marks(*(int(v) for v in found))):
                    return False  # a status running beside this one saved a newer one
                conn.execute(_DELETE, key)
            conn.execute(
                _INSERT,
                {
                    **key,
                    "definitions": marks.definitions,
                    "load_id": marks.load_id,
                    "revision_id": marks.revision_id,
                    "payload": payload,
                    "saved_at": dt.datetime.now(dt.UTC),
                },
            )
            for day, mode in conn.execute(_oldest(conn), {"keep": KEEP}).all():
                conn.execute(_DELETE, {"as_of": day, "lag": mode})
    except (StoreError, OperationalError):
        return False
    finally:
        brief.close()
    return True


__all__ = [
    "KEEP",
    "Marks",
    "Snapshot",
    "idle",
    "read_fiscal_start",
    "read_marks",
    "read_snapshot",
    "save_snapshot",
    "written_since",
]
