"""The reports `los check` keeps in the store, and the state of the store they were made on.

A report is valid while nothing it read has changed: the store's revision (as
`organization.read_revision`: every load, replaced or deleted value and definition change adds
a row) and the `definitions` row, which every write of the definitions replaces with a new
token in its own transaction (an apply that only moves items in their file changes no
revision, but changes the findings' lines).

A report whose key starts with `INCREMENTAL` is brought up to date by its maker after writes
(see `changed_since_state`) instead of made again: another report saved on a newer state
leaves it there, and a change of the definitions too (its maker makes it again in full when
the change is not one of KPIs, objectives or people only).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from lineofsight.store.database import Store, idle

# SQLAlchemy and Polars are loaded by the writes only: a check that prints the report kept for
# it reads it through Python's sqlite3 on a plain SQLite file (`Store.plain_reading`).
if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lineofsight.store.loading import LoadSession

    # What the reads of a kept report take: the store's connection, or Python's sqlite3's.
    CheckReading: TypeAlias = Connection | sqlite3.Connection

DEFINITIONS = "definitions"
INCREMENTAL = "incremental/"


@contextlib.contextmanager
def check_reading(store: Store) -> Iterator[CheckReading]:
    """A read of the store through Python's sqlite3 on a plain SQLite file (SQLAlchemy not
    loaded: a check that prints its kept report, the daily keeper, a fresh process's first
    lists), else the store's own."""
    with store.plain_reading() as plain:
        if plain is not None:
            yield plain
            return
    with store.reading() as conn:
        yield conn


# One query for the check's read and for the write that keeps its report (which goes through
# a load session: on an SQLite file, the same copy of SQLite as the check-ins and loads).
STATE_COLUMNS = (
    "(SELECT max(id) FROM loads), (SELECT max(id) FROM measurement_revisions), "
    "(SELECT max(id) FROM definition_changes), (SELECT count(*) FROM organization), "
    f"(SELECT state FROM check_results WHERE key = '{DEFINITIONS}')"
)
_STATE = f"SELECT {STATE_COLUMNS}"
_STATE_COLUMNS = ("loads", "revisions", "changes", "organization", "token")
_KEPT = "SELECT state, report FROM check_results WHERE key = :key"


def state_of(row: tuple[object, ...]) -> str:
    *revision, token = row
    return ".".join(str(int(v or 0)) for v in revision) + f"/{token or ''}"  # type: ignore[call-overload]


# The reads take the store's connection (SQLAlchemy) or Python's sqlite3 on a plain SQLite
# file (`Store.plain_reading`): the same SQL on both.


def _first(conn: Any, sql: str, params: dict[str, str] | None = None) -> tuple[Any, ...] | None:
    """The first row of a read on either kind of connection."""
    if isinstance(conn, sqlite3.Connection):
        row = conn.execute(sql, params or {}).fetchone()
    else:
        from sqlalchemy import text

        row = conn.execute(text(sql), params or {}).first()
    return None if row is None else tuple(row)


def read_check_state(conn: CheckReading) -> str:
    """The state of the store a check report depends on, as one string."""
    row = _first(conn, _STATE)
    assert row is not None  # a query of subqueries has one row
    return state_of(row)


def read_check_report(conn: CheckReading, key: str, state: str) -> str | None:
    """The report kept for `key` if it was made on the store in `state`, else None."""
    found = read_kept_report(conn, key)
    return found[1] if found is not None and found[0] == state else None


def read_kept_report(conn: CheckReading, key: str) -> tuple[str, str] | None:
    """The state a report kept for `key` was made on, and the report, whatever the state."""
    row = _first(conn, _KEPT, {"key": key})
    return None if row is None else (row[0], row[1])


# The kinds of definition change after which a report kept across writes is brought up to
# date item by item (`changed_since_state`); any other (units, the organisation's settings,
# calendar and scoring) makes it again in full.
ITEM_KINDS = ("kpi", "objective", "person")


def changed_since_state(conn: CheckReading, made_on: str, state: str) -> set[str] | None:
    """The KPIs whose values or definitions changed (added, changed or removed) after a report
    made on the store in `made_on` (the store now in `state`): the scorecards' change log
    (`scorecards.written_since`, read after `state`, so maybe a few written later too) and
    the KPIs of the definition changes since. None when a definition change of another kind
    than `ITEM_KINDS` came in between (or a state not understood): made again in full."""
    from lineofsight.store.scorecards import Marks, written_since

    try:
        before, after = _parts(made_on), _parts(state)
    except ValueError:
        return None
    if before[3] != after[3]:
        return None  # the organisation itself was written or removed
    loads, revisions, changes = (int(v) for v in before[:3])
    changed: set[str] = set()
    if before[2:] != after[2:]:
        rows = _all(
            conn, "SELECT kind, item_id FROM definition_changes WHERE id > :id", {"id": changes}
        )
        if any(kind not in ITEM_KINDS for kind, _ in rows):
            return None
        changed = {str(item) for kind, item in rows if kind == "kpi"}
    return changed | written_since(conn, Marks(changes, loads, revisions))


def _parts(state: str) -> tuple[str, ...]:
    """The ids of a state (`state_of`) and its definitions token, each on its own."""
    ids, token = state.split("/", 1)
    parts = ids.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(state)
    return (*parts, token)


# Seconds a check waits to keep its report while another write holds the store: that write
# would make the report stale anyway, and a check must not wait for a long load to finish.
SAVE_WAIT = 0.5


def save_check_report(
    store: Store,
    key: str,
    state: str,
    report: str,
    *,
    replaces: str | None = None,
    also: Callable[[LoadSession], None] | None = None,
) -> bool:
    """Keep `report` for `key`, unless the store changed since `state` was read (False then).

    Reports made on another state are dropped: they can never be valid again (but those kept
    across writes, `INCREMENTAL`). `replaces`: a key prefix whose other reports this one
    replaces. `also`: what else is kept with the report, written in the same transaction.
    StoreBusy when another write holds the store for more than SAVE_WAIT seconds."""
    import polars as pl

    from lineofsight.store.loading import load_session

    brief = Store(store.url, migrate=False, busy_timeout=SAVE_WAIT)
    brief.arrow_sqlite = store.arrow_sqlite
    idle(store)  # the session opens ADBC's SQLite beside the store's (see database.idle)
    try:
        with load_session(brief) as session:
            schema = dict.fromkeys(_STATE_COLUMNS, pl.Int64) | {"token": pl.String}
            if state_of(session.query(_STATE, schema).row(0)) != state:
                return False
            session.execute(
                f"DELETE FROM check_results WHERE key <> '{DEFINITIONS}' AND (key = ? OR "
                "(state <> ? AND key NOT LIKE ?) OR key LIKE ?)",
                [key, state, f"{INCREMENTAL}%", f"{replaces}%" if replaces else ""],
            )
            session.execute(
                "INSERT INTO check_results (key, state, report) VALUES (?, ?, ?)",
                [key, state, report],
            )
            if also is not None:
                also(session)
    finally:
        brief.close()
    return True


def forget_check_reports(conn: Connection) -> None:
    """Drop every kept report (but those brought up to date by their makers, `INCREMENTAL`)
    and mark the definitions as new (inside the caller's write of the definitions, so no
    report outlives the definitions it was made on)."""
    from sqlalchemy import delete, insert

    from lineofsight.store import tables as t

    conn.execute(delete(t.check_results).where(t.check_results.c.key.not_like(f"{INCREMENTAL}%")))
    conn.execute(
        insert(t.check_results),
        {"key": DEFINITIONS, "state": uuid.uuid4().hex, "report": ""},
    )


# ---------------------------------------------------------------- where findings are


def read_applied_file(conn: CheckReading) -> tuple[str | None, str | None]:
    """The strategy file last applied and the digest of its bytes as applied (None, None:
    nothing applied from a file; a digest of None: not kept, an older store)."""
    row = _first(conn, "SELECT source_file, source_digest FROM organization")
    return (None, None) if row is None else (row[0], row[1])


# Ids looked up in one statement (well under the SQLite and PostgreSQL parameter limits).
_IDS = 500


def read_last_changes(
    conn: CheckReading, items: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """Who changed each (kind, id) last and on what day (UTC, `YYYY-MM-DD`), from the
    definitions' history (an item without history is left out)."""
    by_kind: dict[str, list[str]] = {}
    for kind, item_id in sorted(set(items)):
        by_kind.setdefault(kind, []).append(item_id)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), _IDS):
            chunk = ids[start : start + _IDS]
            names = ", ".join(f":i{n}" for n in range(len(chunk)))
            sql = (
                "SELECT kind, item_id, actor, changed_at FROM definition_changes WHERE id IN "
                "(SELECT max(id) FROM definition_changes WHERE kind = :kind AND item_id IN "
                f"({names}) GROUP BY item_id)"
            )
            params = {"kind": kind} | {f"i{n}": item_id for n, item_id in enumerate(chunk)}
            for row in _all(conn, sql, params):
                found[(str(row[0]), str(row[1]))] = (str(row[2]), _day(row[3]))
    return found


def _day(moment: Any) -> str:
    """The UTC day of a stored time: text from SQLite (written in UTC), a time from
    PostgreSQL (in the server's zone)."""
    if isinstance(moment, dt.datetime):
        utc = moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment
        return utc.date().isoformat()
    return str(moment)[:10]


def _all(conn: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of a read on either kind of connection."""
    if isinstance(conn, sqlite3.Connection):
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    from sqlalchemy import text

    return [tuple(row) for row in conn.execute(text(sql), params).all()]
