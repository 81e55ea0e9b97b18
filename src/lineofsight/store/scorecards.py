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

import contextlib
import datetime as dt
import functools
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lineofsight.errors import StoreError
from lineofsight.store.database import Store, idle, is_busy, is_read_only

if TYPE_CHECKING:
    from sqlalchemy import Connection, TextClause

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


# The reads take the store's connection (SQLAlchemy) or Python's sqlite3 on a plain SQLite
# file (`Store.plain_reading`), so that a status whose kept scorecard is up to date loads no
# SQLAlchemy: plain SQL over `tables.scorecard_snapshots`, the same for both.

# What the store holds: its newest definition change, load and replaced value (`Marks`).
MARKS_QUERY = (
    "SELECT (SELECT MAX(id) FROM definition_changes), (SELECT MAX(id) FROM loads), "
    "(SELECT MAX(id) FROM measurement_revisions)"
)
_ACTIVITY = "SELECT activity FROM store_activity WHERE key = 1"
_WHERE = " FROM scorecard_snapshots WHERE as_of = :as_of AND lag = :lag"
_READ = "SELECT definitions, load_id, revision_id, payload" + _WHERE
_READ_MARKS = "SELECT definitions, load_id, revision_id" + _WHERE
_DELETE = "DELETE" + _WHERE
_PATCH_WHERE = " FROM scorecard_patches WHERE as_of = :as_of AND lag = :lag"
_READ_PATCH = "SELECT base_load_id, base_revision_id, load_id, revision_id, payload" + _PATCH_WHERE
_READ_PATCH_MARKS = "SELECT load_id, revision_id" + _PATCH_WHERE
_READ_PATCH_BASE = "SELECT base_load_id, base_revision_id, load_id, revision_id" + _PATCH_WHERE
_DELETE_PATCH = "DELETE" + _PATCH_WHERE
_INSERT_PATCH = (
    "INSERT INTO scorecard_patches (as_of, lag, base_load_id, base_revision_id, load_id, "
    "revision_id, payload) VALUES (:as_of, :lag, :base_load_id, :base_revision_id, :load_id, "
    ":revision_id, :payload)"
)
_INSERT = (
    "INSERT INTO scorecard_snapshots (as_of, lag, definitions, load_id, revision_id, payload, "
    "saved_at, ahead) VALUES (:as_of, :lag, :definitions, :load_id, :revision_id, :payload, "
    ":saved_at, :ahead)"
)
_WRITTEN_SINCE = (
    "SELECT DISTINCT kpi_id FROM measurements WHERE load_id > :load_id "
    "UNION SELECT DISTINCT kpi_id FROM measurement_revisions WHERE id > :revision_id"
)
_OLDEST = "SELECT as_of, lag FROM scorecard_snapshots ORDER BY saved_at DESC"
_ASKED = "SELECT as_of, lag FROM scorecard_snapshots WHERE NOT ahead ORDER BY saved_at DESC"


@functools.cache
def _statement(sql: str) -> TextClause:
    """The SQL as SQLAlchemy's, its parameters typed so that dates and flags bind alike on
    both databases."""
    from sqlalchemy import Boolean, Date, DateTime, LargeBinary, bindparam, text

    types: dict[str, Any] = {
        "as_of": Date,
        "source": Date,
        "lag": Boolean,
        "ahead": Boolean,
        "payload": LargeBinary,
        "saved_at": DateTime(timezone=True),
    }
    return text(sql).bindparams(
        *(bindparam(n, type_=t) for n, t in types.items() if f":{n}" in sql)
    )


def _rows(conn: Any, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """The rows of a read on either kind of connection (see `Reading`)."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, _plain(params or {})).fetchall()
    return list(conn.execute(_statement(sql), params or {}).all())


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as SQLAlchemy writes them in SQLite: times as UTC text, dates as ISO text,
    flags as 0 and 1."""
    plain = {}
    for key, value in params.items():
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = int(value)
        plain[key] = value
    return plain


def _execute(conn: Any, sql: str, params: dict[str, Any]) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute(sql, _plain(params))
    else:
        conn.execute(_statement(sql), params)


class _CannotNow(Exception):
    """A save given up: the store cannot take it now (another write holds it) or not from this
    process at all (a read-only file, a role that may only read)."""


@contextlib.contextmanager
def _writing(store: Store, wait: float) -> Iterator[Any]:
    """A write transaction that waits at most `wait` seconds for the store: through Python's
    sqlite3 on a plain SQLite file (a status computed in full saves its scorecard without
    loading SQLAlchemy), else through the store's connection. _CannotNow when the store is
    busy or read-only; StoreError, saying why, for any other error of the database."""
    if store.sqlite_file is None:
        brief = Store(store.url, migrate=False, busy_timeout=wait)
        try:
            with brief._writing() as conn:
                yield conn
        except Exception as exc:
            if is_busy(exc) or is_read_only(exc):
                raise _CannotNow from None
            if "sqlalchemy" in type(exc).__module__:
                reason = getattr(exc, "orig", None) or exc
                raise StoreError(cannot_keep(reason)) from None
            raise
        finally:
            brief.close()
        return
    with store._sqlite3_turn():
        plain = None
        try:
            # mode=rw: a store file deleted meanwhile is not made again, empty.
            plain = sqlite3.connect(
                f"file:{quote(store.sqlite_file)}?mode=rw",
                uri=True,
                timeout=wait,
                isolation_level=None,
            )
            # As the store's own connections: the write lock asked for first.
            plain.execute("PRAGMA synchronous=NORMAL")
            plain.execute("PRAGMA foreign_keys=ON")
            plain.execute("BEGIN IMMEDIATE")
            try:
                yield plain
            except BaseException:
                plain.rollback()
                raise
            plain.commit()
        except sqlite3.Error as exc:
            if is_busy(exc) or is_read_only(exc):
                raise _CannotNow from None
            raise StoreError(cannot_keep(exc)) from None
        finally:
            if plain is not None:
                plain.close()


def cannot_keep(reason: object) -> str:
    """Why a scorecard could not be kept, in a sentence."""
    # Without the store's URL: a page shows this too, and the URL of an SQLite store is a path
    # on the server.
    return f"the scorecard could not be kept in the store: {reason}"


def read_fiscal_start(conn: Connection | sqlite3.Connection) -> int | None:
    """The first month of the organisation's fiscal year; None before any `los apply`."""
    rows = _rows(conn, "SELECT fiscal_year_start FROM organization")
    return None if not rows else int(rows[0][0])


def read_kpi_groups(
    conn: Connection | sqlite3.Connection,
) -> tuple[int, int, list[tuple[str, int, int]]] | None:
    """The organisation's fiscal year start and default `due_days`, and its KPIs counted by
    frequency and `due_days` (their own, else the default); None before any `los apply`."""
    found = _rows(conn, "SELECT fiscal_year_start, due_days FROM organization")
    if not found:
        return None
    start, default = int(found[0][0]), int(found[0][1])
    rows = _rows(conn, "SELECT frequency, due_days, COUNT(*) FROM kpis GROUP BY 1, 2")
    counts: dict[tuple[str, int], int] = {}
    for frequency, due, count in rows:
        key = (str(frequency), default if due is None else int(due))
        counts[key] = counts.get(key, 0) + int(count)
    return start, default, [(f, d, n) for (f, d), n in sorted(counts.items())]


def read_marks(conn: Connection | sqlite3.Connection) -> Marks:
    """What the store holds now (read it before the data a scorecard reads)."""
    row = _rows(conn, MARKS_QUERY)[0]
    return Marks(*(int(v or 0) for v in row))


def read_activity(conn: Connection | sqlite3.Connection) -> int:
    """The store's activity count (`organization.bump_activity`): it moves on every write
    of actions, commentary, reviews or definitions, one that records no definition change
    too."""
    rows = _rows(conn, _ACTIVITY)
    return int(rows[0][0] or 0) if rows else 0


def read_snapshot(
    conn: Connection | sqlite3.Connection, as_of: dt.date, lag: bool
) -> Snapshot | None:
    """The stored scorecard of this as-of date and mode, if any."""
    key = {"as_of": as_of, "lag": lag}
    rows = _rows(conn, _READ, key)
    if not rows:
        return None
    row = rows[0]
    base = Marks(int(row[0]), int(row[1]), int(row[2]))
    patches = _rows(conn, _READ_PATCH, key)
    found = patches[0] if patches else None
    if found is None or (int(found[0]), int(found[1])) != (base.load_id, base.revision_id):
        return Snapshot(base, bytes(row[3]))
    marks = Marks(base.definitions, int(found[2]), int(found[3]))
    return Snapshot(marks, bytes(row[3]), bytes(found[4]), base)


def _saved_marks(conn: Connection | sqlite3.Connection, key: dict[str, Any]) -> Marks | None:
    """What the scorecard saved in full of this key covers, if there is one."""
    rows = _rows(conn, _READ_MARKS, key)
    return Marks(*(int(v) for v in rows[0])) if rows else None


def _insert_patch(
    conn: Connection, key: dict[str, Any], base: Marks, marks: Marks, payload: bytes
) -> None:
    """Save `payload` as the patch of this key over the scorecard covering `base`."""
    _execute(
        conn,
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


def read_snapshot_marks(
    conn: Connection | sqlite3.Connection, as_of: dt.date, lag: bool
) -> Marks | None:
    """What the stored scorecard of this as-of date and mode covers, with its patch (its
    rows not read), if there is one."""
    key = {"as_of": as_of, "lag": lag}
    base = _saved_marks(conn, key)
    if base is None:
        return None
    patches = _rows(conn, _READ_PATCH_BASE, key)
    if not patches or (int(patches[0][0]), int(patches[0][1])) != (base.load_id, base.revision_id):
        return base
    return Marks(base.definitions, int(patches[0][2]), int(patches[0][3]))


def read_patch(
    conn: Connection | sqlite3.Connection, as_of: dt.date, lag: bool
) -> tuple[Marks, Marks, bytes] | None:
    """The patch of the stored scorecard of this as-of date and mode, without the scorecard
    saved in full: what that covers, what the two cover together, and the patch; None when
    there is no such patch."""
    key = {"as_of": as_of, "lag": lag}
    base = _saved_marks(conn, key)
    if base is None:
        return None
    patches = _rows(conn, _READ_PATCH, key)
    if not patches or (int(patches[0][0]), int(patches[0][1])) != (base.load_id, base.revision_id):
        return None
    found = patches[0]
    return base, Marks(base.definitions, int(found[2]), int(found[3])), bytes(found[4])


def read_nearest_key(
    conn: Connection | sqlite3.Connection, as_of: dt.date, lag: bool, definitions: int
) -> dt.date | None:
    """The as-of date of the stored scorecard of this mode and these definitions nearest to
    `as_of` (another date) before it, else after it, if any.

    The one before first: the rows of a date differ from those of an earlier one by the
    periods that ended or fell due in between, and a scorecard kept ahead (`ahead`) lies on
    the far side of such a day."""
    rows = _rows(
        conn,
        "SELECT as_of FROM scorecard_snapshots WHERE lag = :lag AND definitions = :definitions",
        {"lag": lag, "definitions": definitions},
    )
    days = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for (d,) in rows]
    days = [d for d in days if d != as_of]
    return min(days, key=lambda d: (d > as_of, abs((d - as_of).days))) if days else None


def read_newest_key(conn: Connection | sqlite3.Connection) -> tuple[dt.date, bool] | None:
    """The as-of date and mode of the scorecard a status saved last (not one a write made
    ahead), if any."""
    rows = _rows(conn, _ASKED + " LIMIT 1")
    if not rows:
        return None
    day, lag = rows[0]
    return (day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))), bool(lag)


def written_since(conn: Connection | sqlite3.Connection, marks: Marks) -> set[str]:
    """The KPIs whose values were added, replaced or deleted after `marks` (and maybe a few
    written by writes newer than the marks, read after them)."""
    rows = _rows(conn, _WRITTEN_SINCE, {"load_id": marks.load_id, "revision_id": marks.revision_id})
    return {str(r[0]) for r in rows}


def _oldest(conn: Connection) -> Any:
    """The snapshots past the KEEP saved last (OFFSET needs a LIMIT: SQLite's is -1)."""
    from sqlalchemy import Boolean, Date, text

    limit = " LIMIT -1" if conn.dialect.name == "sqlite" else ""
    return text(f"{_OLDEST}{limit} OFFSET :keep").columns(as_of=Date, lag=Boolean)


def save_snapshot(
    store: Store,
    as_of: dt.date,
    lag: bool,
    marks: Marks,
    payload: bytes,
    *,
    wait: float = 0.2,
    ahead: bool = False,
    definitions: KeptDefinitions | None = None,
) -> bool:
    """Keep a scorecard unless one that covers more is there already; False when the store
    could not take it now (another write holds it, a read-only file): a status never waits
    behind a load to save what it can compute again. `ahead`: made by a write for a date no
    status asked for (one that a status asked for stays so when a write saves it again).
    `definitions`: the definitions and labels it was scored with, kept in the same
    transaction, once the scorecard is, unless newer ones are kept already."""
    try:
        with _writing(store, wait) as conn:
            key = {"as_of": as_of, "lag": lag}
            found = _saved_marks(conn, key)
            if found is not None:
                newest = _newest(conn, key, found)
                if not marks.covers(newest):
                    return False  # a status running beside this one saved a newer one
                if ahead:
                    ahead = bool(_rows(conn, "SELECT ahead" + _WHERE, key)[0][0])
                _execute(conn, _DELETE, key)
            _execute(conn, _DELETE_PATCH, key)
            _execute(
                conn,
                _INSERT,
                {
                    **key,
                    "definitions": marks.definitions,
                    "load_id": marks.load_id,
                    "revision_id": marks.revision_id,
                    "payload": payload,
                    "saved_at": dt.datetime.now(dt.UTC),
                    "ahead": ahead,
                },
            )
            for day, mode in _oldest_rows(conn):
                _execute(conn, _DELETE, {"as_of": day, "lag": mode})
                _execute(conn, _DELETE_PATCH, {"as_of": day, "lag": mode})
            if definitions is not None:
                _keep_definitions(conn, definitions, payload)
    except _CannotNow:
        return False
    return True


def read_kept_definitions(
    conn: Connection | sqlite3.Connection, key: tuple[int, int]
) -> bytes | None:
    """The frames of the definitions and labels kept for `key` (the newest definition
    change and the store's activity count, read before the definitions were; an apply moves
    both), if those are kept."""
    # The key in the WHERE: frames kept for another key are not read out of the store.
    found = _rows(
        conn,
        "SELECT payload FROM kept_definitions"
        " WHERE definitions = :definitions AND activity = :activity",
        {"definitions": key[0], "activity": key[1]},
    )
    return bytes(found[0][0]) if found else None


@dataclass(frozen=True)
class KeptDefinitions:
    """The definitions and labels a scorecard saved in full was scored with, to be kept
    beside it: their key (see `read_kept_definitions`), and their frames as the header line
    `head` followed by these byte ranges of the scorecard's payload (its frames as stored)."""

    key: tuple[int, int]
    head: bytes
    ranges: list[tuple[int, int]]


# One row, replaced only by the definitions of a later activity count (or of the same count
# and another definition change): two saves never undo each other's newer definitions.
_KEEP_DEFINITIONS = (
    "INSERT INTO kept_definitions (key, definitions, activity, payload)"
    " VALUES (1, :definitions, :activity, :payload)"
    " ON CONFLICT (key) DO UPDATE SET definitions = excluded.definitions,"
    " activity = excluded.activity, payload = excluded.payload"
    " WHERE kept_definitions.activity < excluded.activity"
    " OR (kept_definitions.activity = excluded.activity"
    " AND kept_definitions.definitions <> excluded.definitions)"
)


# The definitions of the same key kept in another layout: their frames written again.
_REPLACE_DEFINITIONS = (
    "UPDATE kept_definitions SET payload = :payload"
    " WHERE key = 1 AND definitions = :definitions AND activity = :activity"
)


def _keep_definitions(conn: Any, kept: KeptDefinitions, payload: bytes) -> None:
    """Keep the definitions' frames of `kept` (in the caller's transaction) unless they, or
    those of a later count, are kept already (the count only grows: every write of
    definitions moves it). Never fails nor holds up the scorecard's own save: on PostgreSQL,
    where another transaction may hold the row (written, not committed yet), in a savepoint
    given up, with the definitions not kept, when that row is not had within the save's
    wait."""
    key = kept.key
    found = _rows(
        conn,
        "SELECT definitions, activity, substr(payload, 1, :size) FROM kept_definitions",
        {"size": len(kept.head)},
    )
    statement = _KEEP_DEFINITIONS
    if found:
        held = (int(found[0][0]), int(found[0][1]))
        if held[1] > key[1]:
            return
        if held == key:
            if bytes(found[0][2]) == kept.head:
                return
            # The same definitions kept in another layout, or by another release, which no
            # status can decode: replaced, else every status in full would read the tables.
            statement = _REPLACE_DEFINITIONS
    view = memoryview(payload)
    frames = b"".join([kept.head, *(view[start:end] for start, end in kept.ranges)])
    params = {"definitions": key[0], "activity": key[1], "payload": frames}
    if isinstance(conn, sqlite3.Connection) or conn.dialect.name == "sqlite":
        _execute(conn, statement, params)  # one write at a time: nothing holds the row
        return
    try:
        with conn.begin_nested():
            _execute(conn, statement, params)
    except Exception as exc:
        if not is_busy(exc):
            raise


def _oldest_rows(conn: Any) -> list[Any]:
    """The key of each snapshot past the KEEP saved last."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(f"{_OLDEST} LIMIT -1 OFFSET ?", (KEEP,)).fetchall()
    return list(conn.execute(_oldest(conn), {"keep": KEEP}).all())


def _newest(conn: Connection, key: dict[str, Any], base: Marks) -> Marks:
    """What the kept scorecard of `key` covers, with its patch."""
    found = next(iter(_rows(conn, _READ_PATCH_MARKS, key)), None)
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
    try:
        with _writing(store, wait) as conn:
            key = {"as_of": as_of, "lag": lag}
            if _saved_marks(conn, key) != base:
                return False  # saved in full again meanwhile, or forgotten
            if not marks.covers(_newest(conn, key, base)):
                return False
            _execute(conn, _DELETE_PATCH, key)
            _insert_patch(conn, key, base, marks, payload)
    except _CannotNow:
        return False
    return True


def save_carried(
    store: Store,
    source: dt.date,
    as_of: dt.date,
    lag: bool,
    base: Marks,
    marks: Marks,
    payload: bytes,
    *,
    wait: float = 0.2,
) -> bool:
    """Keep the scorecard of `as_of` as the scorecard saved in full of `source` (copied in
    the database, `base` still what it covers) with the patch `payload` of the rows that
    differ, now covering `marks`, in one transaction; False (nothing saved) as `save_patch`."""
    try:
        with _writing(store, wait) as conn:
            key = {"as_of": as_of, "lag": lag}
            if _saved_marks(conn, {"as_of": source, "lag": lag}) != base:
                return False  # saved in full again meanwhile, or forgotten
            there = _saved_marks(conn, key)
            if there is not None and not marks.covers(_newest(conn, key, there)):
                return False  # a status running beside this one saved a newer one
            _execute(conn, _DELETE, key)
            _execute(conn, _DELETE_PATCH, key)
            _execute(
                conn,
                "INSERT INTO scorecard_snapshots (as_of, lag, definitions, load_id, "
                "revision_id, payload, saved_at) SELECT :as_of, lag, definitions, load_id, "
                "revision_id, payload, :saved_at FROM scorecard_snapshots "
                "WHERE as_of = :source AND lag = :lag",
                {**key, "source": source, "saved_at": dt.datetime.now(dt.UTC)},
            )
            _insert_patch(conn, key, base, marks, payload)
            for day, mode in _oldest_rows(conn):
                _execute(conn, _DELETE, {"as_of": day, "lag": mode})
                _execute(conn, _DELETE_PATCH, {"as_of": day, "lag": mode})
    except _CannotNow:
        return False
    return True


__all__ = [
    "KEEP",
    "KeptDefinitions",
    "Marks",
    "Snapshot",
    "cannot_keep",
    "idle",
    "read_fiscal_start",
    "read_kept_definitions",
    "read_kpi_groups",
    "read_marks",
    "read_nearest_key",
    "read_newest_key",
    "read_patch",
    "read_snapshot",
    "read_snapshot_marks",
    "save_carried",
    "save_patch",
    "save_snapshot",
    "written_since",
]
