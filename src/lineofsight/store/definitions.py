"""Read and write the organisation's definitions: units, people, objectives, KPIs and links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from lineofsight.domain import model as m
from lineofsight.store import tables as t
from lineofsight.store.bulk import executemany, insert_rows, json_text, native_value
from lineofsight.store.check_results import forget_check_reports
from lineofsight.store.definition_rows import (
    CHILD_COLUMNS,
    KINDS,
    KPI,
    LINE,
    PLACE,
    DefinitionRows,
    ItemRow,
    Kind,
    columns_of,
    organization_from_rows,
    organization_rows,
    read_rows,
)
from lineofsight.store.organization import bump_activity

CHUNK = 500


@dataclass
class ItemChanges:
    """Ids of one kind of definition to write (added or changed) and to remove.

    `added` (within `write`) are new to the store: there is nothing of theirs to delete first.
    """

    write: set[str] = field(default_factory=set)
    remove: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)


@dataclass
class ChangeRecord:
    """One line of definition history.

    An added item records no `after`: its definition then is its definition now with the
    `before` of each later change put back (or, once removed, what its removal recorded), so
    a large first apply does not store the whole file a second time. `label`, its name or
    title, is for showing the change and is not stored; nor is `undoes`: who made the change
    in the web app since the file was last applied that this one would undo, and on what
    day (`("ed", "2026-12-07")`), said by the apply of a whole strategy.
    """

    kind: str
    item_id: str
    action: str
    field: str | None = None
    before: Any = None
    after: Any = None
    label: str | None = None
    undoes: tuple[str, str] | None = None


# ---------------------------------------------------------------- reading


def read_organization(
    conn: Connection, kpi_ids: Collection[str] | None = None
) -> m.Organization | None:
    """The organisation in the store, or None when nothing was applied yet. `kpi_ids`: with
    only these KPIs, its units, and no people nor objectives (see `read_rows`)."""
    row = conn.execute(select(t.organization)).mappings().first()
    if row is None:
        return None
    return organization_from_rows(row, read_rows(conn, kpi_ids))


def read_settings(conn: Connection) -> m.Organization | None:
    """The organisation's own settings (name, calendar, strategy...) without its items."""
    row = conn.execute(select(t.organization)).mappings().first()
    if row is None:
        return None
    empty = DefinitionRows(
        items={kind.name: {} for kind in KINDS}, links={table: {} for table in CHILD_COLUMNS}
    )
    return organization_from_rows(row, empty)


# ---------------------------------------------------------------- writing


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _delete(conn: Connection, table: Table, ids: Iterable[str], column: str = "id") -> None:
    for chunk in _chunks(ids):
        conn.execute(delete(table).where(table.c[column].in_(chunk)))


@dataclass(frozen=True, slots=True)
class AppliedFile:
    """The strategy file a write of the definitions comes from: its path as the store keeps
    it and the digest of its bytes as applied (`spec.files.bytes_digest`; None when not
    known: a store applied before digests were kept)."""

    path: str
    digest: str | None


def save_organization(
    conn: Connection,
    org: m.Organization,
    changes: Mapping[str, ItemChanges],
    file: AppliedFile | None = None,
    *,
    new: DefinitionRows | None = None,
    stored: DefinitionRows | None = None,
) -> None:
    """Write the organisation: only the items named in `changes` are rewritten.

    `changes` maps "unit", "person", "objective" and "kpi" to the ids to write and remove;
    the caller runs this inside one transaction. `new` and `stored` are the rows of `org` and
    of the store when the caller has them already (the store's to move items that only moved).
    `file`: the strategy file `org` is, with each item's line; None for a change made
    elsewhere (the web app): the file last applied stays the store's, the items written get
    no line (they are not as the file has them), and the others keep theirs.
    """
    o = t.organization.c
    kept = conn.execute(select(o.source_file, o.source_digest, o.applied_change)).first()
    applied = kept[2] if kept is not None else None
    lines = file is not None
    if file is None and kept is not None and kept[0] is not None:
        file = AppliedFile(kept[0], kept[1])
    conn.execute(delete(t.organization))
    conn.execute(insert(t.organization), organization_row(org, file, applied))
    forget_check_reports(conn)  # their findings are of the definitions being replaced
    # An apply that only moves lines of the file adds no definition change, but moves the
    # lines that findings and pages show: the store's revision changes all the same.
    bump_activity(conn)
    if new is None:
        new = organization_rows(org, conn.dialect.name)
    for kind in KINDS:
        change = changes.get(kind.name, ItemChanges())
        # Rows of items that change go first; their links go with them (ON DELETE CASCADE).
        _delete(conn, kind.table, change.remove | (change.write - change.added))
        rows = new.items[kind.name]
        written = (
            row if lines else (*row[:LINE], None, *row[LINE + 1 :])
            for row in (rows[i] for i in rows if i in change.write)
        )
        insert_rows(conn, kind.table, kind.columns, written, native=True)
        if kind is KPI:
            for table, columns in CHILD_COLUMNS.items():
                links = new.links[table]
                insert_rows(
                    conn,
                    table,
                    columns,
                    (row for i in rows if i in change.write for row in links.get(i, ())),
                    native=True,
                )
        _move(conn, kind, rows, change.write, stored, lines=lines)


def organization_row(
    org: m.Organization, file: AppliedFile | None, applied_change: int | None = None
) -> dict[str, Any]:
    return {
        "key": 1,
        "name": org.name,
        "fiscal_year_start": org.calendar.fiscal_year_start,
        "due_days": org.calendar.due_days,
        "strategy": {
            "mission": org.strategy.mission,
            "vision": org.strategy.vision,
            "values": list(org.strategy.values),
            "methods": list(org.strategy.methods),
            "obstacles": list(org.strategy.obstacles),
        },
        "scoring": {"green_at": org.scoring.green_at, "amber_at": org.scoring.amber_at}
        if org.scoring != m.Scoring()
        else None,
        "source_file": file.path if file is not None else None,
        "source_digest": file.digest if file is not None else None,
        "applied_change": applied_change,
        "checks": {
            "select": list(org.checks.select),
            "ignore": list(org.checks.ignore),
            "options": {code: dict(opts) for code, opts in org.checks.options},
        }
        if org.checks != m.ChecksConfig()
        else None,
        # As written: secrets stay `env:NAME` references (the file refuses a password).
        "sources": [
            {"name": source.name, "kind": source.kind.value, **dict(source.settings)}
            for source in org.sources
        ]
        or None,
    }


def _move(
    conn: Connection,
    kind: Kind,
    rows: Mapping[str, ItemRow],
    written: set[str],
    stored: DefinitionRows | None,
    *,
    lines: bool = True,
) -> None:
    """Update the order and source line of items whose definition did not change (without
    `lines`, a change not made in the file: the order alone, each keeping its line)."""
    if written.issuperset(rows):
        return  # every item was just written with its place
    if stored is not None:
        current = {i: row[PLACE] for i, row in stored.items[kind.name].items()}
    else:
        table = kind.table
        query = select(table.c.id, table.c.position, table.c.source_line)
        current = {r.id: (r.position, r.source_line) for r in conn.execute(query)}
    moved = []
    for item_id, row in rows.items():
        if item_id in written:
            continue
        place = row[PLACE]
        was = current.get(item_id, place)
        if not lines:
            place = (place[0], was[1])
        if was != place:
            moved.append((*place, item_id))
    name = kind.table.name
    # A new order is recorded as a change of the items' positions (`services.apply`): the
    # kept scorecards, which list items in the order they were scored in, are of the
    # definitions before it.
    executemany(conn, f"UPDATE {name} SET position = ?, source_line = ? WHERE id = ?", moved)


def mark_applied(conn: Connection) -> None:
    """Note that the definitions are the file just applied (after its history is written):
    the changes recorded after this were made elsewhere (the web app)."""
    newest = select(func.max(t.definition_changes.c.id)).scalar_subquery()
    conn.execute(update(t.organization).values(applied_change=newest))


@dataclass(frozen=True, slots=True)
class LaterChange:
    """A definition change recorded after the file was last applied (one of the web app's)."""

    kind: str
    item_id: str
    action: str
    field: str | None
    actor: str
    changed_at: dt.datetime


def read_changes_since_applied(conn: Connection) -> list[LaterChange]:
    """The definition changes recorded since a file was last applied (all of them when none
    was: the definitions were written elsewhere), oldest first."""
    h = t.definition_changes.c
    since = select(t.organization.c.applied_change).scalar_subquery()
    query = (
        select(h.kind, h.item_id, h.action, h.field, h.actor, h.changed_at)
        .where(h.id > func.coalesce(since, 0))
        .order_by(h.id)
    )
    return [LaterChange(*row) for row in conn.execute(query)]


HISTORY_COLUMNS = columns_of(t.definition_changes)[1:]  # the id is the database's


def record_changes(
    conn: Connection,
    records: Sequence[ChangeRecord],
    *,
    batch: str,
    actor: str,
    source: str | None,
    at: dt.datetime,
) -> None:
    """Append definition history rows (dates in `before` and `after` are written as text)."""
    when = native_value(conn, t.definition_changes.c.changed_at, at)
    insert_rows(
        conn,
        t.definition_changes,
        HISTORY_COLUMNS,
        (
            (
                batch,
                when,
                actor,
                source,
                r.kind,
                r.item_id,
                r.action,
                r.field,
                json_text(r.before),
                json_text(r.after),
            )
            for r in records
        ),
        native=True,
    )


def history_item_ids(conn: Connection) -> list[str]:
    """Every id that has a history (the items defined now and those removed since)."""
    query = select(t.definition_changes.c.item_id).distinct()
    return [row[0] for row in conn.execute(query)]


def read_history(
    conn: Connection, kind: str | None = None, item_id: str | None = None
) -> list[dict[str, Any]]:
    """Definition history, oldest first, optionally for one item."""
    query = select(t.definition_changes).order_by(t.definition_changes.c.id)
    if kind is not None:
        query = query.where(t.definition_changes.c.kind == kind)
    if item_id is not None:
        query = query.where(t.definition_changes.c.item_id == item_id)
    return [dict(r) for r in conn.execute(query).mappings()]
