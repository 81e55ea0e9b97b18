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

A scorecard brought up to date by a few writes is not saved in full again: the rows that
changed since it was (`scorecard_patches`, one per snapshot, naming the snapshot's marks) are
saved instead, and the snapshot read back is the one saved in full with its patch.

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
    """A stored scorecard: what it covers, and its frames (see `services.snapshots`): as
    saved in full (`base` covers those), and the rows changed since (`patch`), if any."""

    marks: Marks
    payload: bytes
    patch: bytes | None = None
    base: Marks | None = None

    @property
    def saved(self) -> Marks:
        """What the scorecard saved in full covers."""
        return self.base or self.marks


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
_PATCH_WHERE = " FROM scorecard_patches WHERE as_of = :as_of AND lag = :lag"
_READ_PATCH = text(
    "SELECT base_load_id, base_revision_id, load_id, revision_id, payload" + _PATCH_WHERE
).bindparams(*_KEY)
_READ_PATCH_MARKS = text("SELECT load_id, revision_id" + _PATCH_WHERE).bindparams(*_KEY)
_DELETE_PATCH = text("DELETE" + _PATCH_WHERE).bindparams(*_KEY)
_INSERT_PATCH = text(
    "INSERT INTO scorecard_patches (as_of, lag, base_load_id, base_revision_id, load_id, "
    "revision_id, payload) VALUES (:as_of, :lag, :base_load_id, :base_revision_id, :load_id, "
    ":revision_id, :payload)"
).bindparams(*_KEY, bindparam("payload", type_=LargeBinary))
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
    key = {"as_of": as_of, "lag": lag}
    row = conn.execute(_READ, key).first()
    if row is None:
        return None
    base = Marks(int(row[0]), int(row[1]), int(row[2]))
    found = conn.execute(_READ_PATCH, key).first()
    if found is None or (int(found[0]), int(found[1])) != (base.load_id, base.revision_id):
        return Snapshot(base, bytes(row[3]))
    marks = Marks(base.definitions, int(found[2]), int(found[3]))
    return Snapshot(marks, bytes(row[3]), bytes(found[4]), base)


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
                newest = _newest(conn, key, Marks(*(int(v) for v in found)))
                if not marks.covers(newest):
                    return False  # a status running beside this one saved a newer one
                conn.execute(_DELETE, key)
            conn.execute(_DELETE_PATCH, key)
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
                conn.execute(_DELETE_PATCH, {"as_of": day, "lag": mode})
    except (StoreError, OperationalError):
        return False
    finally:
        brief.close()
    return True


def _newest(conn: Connection, key: dict[str, Any], base: Marks) -> Marks:
    """What the kept scorecard of `key` covers, with its patch."""
    found = conn.execute(_READ_PATCH_MARKS, key).first()
    if found is None:
        return base
    return Marks(base.definitions, int(found[0]), int(found[1]))


def save_patch(
    store: Store,
    as_of: dt.date,
    lag: bool,
    base: Marks,
    marks: Marks,
    payload: bytes,
    *,
    wait: float = 0.2,
) -> bool:
    """Keep the rows changed since the snapshot saved in full that `base` describes, now
    covering `marks`; False (nothing saved) when that snapshot is no longer there, when a
    newer patch is, or when the store could not take it now (as `save_snapshot`)."""
    brief = Store(store.url, migrate=False, busy_timeout=wait)
    try:
        with brief.transaction() as conn:
            key = {"as_of": as_of, "lag": lag}
            found = conn.execute(_READ_MARKS, key).first()
            if found is None or Marks(*(int(v) for v in found)) != base:
                return False  # saved in full again meanwhile, or forgotten
            if not marks.covers(_newest(conn, key, base)):
                return False
            conn.execute(_DELETE_PATCH, key)
            conn.execute(
                _INSERT_PATCH,
                {
                    **key,
                    "base_load_id": base.load_id,
                    "base_revision_id": base.revision_id,
                    "load_id": marks.load_id,
                    "revision_id": marks.revision_id,
                    "payload": payload,
                },
            )
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
    "save_patch",
    "save_snapshot",
    "written_since",
]
