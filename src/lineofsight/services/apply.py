"""Bring the store's definitions to a strategy file, reporting and recording every change."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from lineofsight.checks.base import Finding
from lineofsight.domain import model as m
from lineofsight.domain.order import moved
from lineofsight.domain.text import plural
from lineofsight.errors import Problem, UndoRefused
from lineofsight.gcpause import paused_gc
from lineofsight.services import declared_actions, notify_settings, review_settings
from lineofsight.services.check import chosen_rules, unknown_owners
from lineofsight.services.history import as_utc
from lineofsight.services.snapshots import refresh_kept
from lineofsight.services.workspace import local_user, shown_file
from lineofsight.spec.dump import (
    Plain,
    checks_to_plain,
    kpi_to_plain,
    objective_to_plain,
    person_to_plain,
    scoring_to_plain,
    sources_to_plain,
    strategy_to_plain,
    unit_to_plain,
)
from lineofsight.spec.files import read_strategy_file
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.definition_rows import (
    PLACE,
    DefinitionRows,
    ItemRow,
    item_from_row,
    organization_rows,
    read_rows,
)
from lineofsight.store.definitions import (
    AppliedFile,
    ChangeRecord,
    ItemChanges,
    LaterChange,
    mark_applied,
    read_changes_since_applied,
    read_settings,
    record_changes,
    save_organization,
)
from lineofsight.store.measurement_writes import move_fiscal_periods

KINDS: Sequence[tuple[str, Callable[[m.Organization], Sequence[Any]], Callable[[Any], Plain]]] = (
    ("unit", lambda org: org.units, unit_to_plain),
    ("person", lambda org: org.people, person_to_plain),
    ("objective", lambda org: org.objectives, objective_to_plain),
    ("kpi", lambda org: org.kpis, kpi_to_plain),
)


@dataclass
class Plan:
    """What applying a file changes, item by item and field by field."""

    records: list[ChangeRecord] = field(default_factory=list)
    items: dict[str, ItemChanges] = field(default_factory=dict)

    def count(self, action: str) -> int:
        """How many items the plan adds, changes or removes."""
        return len({(r.kind, r.item_id) for r in self.records if r.action == action})

    def counts_by_kind(self) -> dict[str, dict[str, int]]:
        """Items added, changed and removed, per kind of item, in the order kinds first appear."""
        seen: dict[str, dict[str, set[str]]] = {}
        for r in self.records:
            seen.setdefault(r.kind, {"add": set(), "change": set(), "remove": set()})[r.action].add(
                r.item_id
            )
        return {kind: {a: len(ids) for a, ids in acts.items()} for kind, acts in seen.items()}

    @property
    def empty(self) -> bool:
        return not self.records

    def undoing(self) -> list[ChangeRecord]:
        """The changes that undo a change made in the web app since the file was last
        applied (`ChangeRecord.undoes`)."""
        return [r for r in self.records if r.undoes is not None]


@dataclass
class ApplyResult:
    file: str
    plan: Plan
    dry_run: bool
    organization: m.Organization
    # OW01's errors: owners who are not people (stored all the same; `los check` fails on them)
    unknown_owners: list[Finding] = field(default_factory=list)


def jsonable(value: Any) -> Any:
    """Plain data as JSON can hold it: dates as ISO text, enums as their values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _organization_plain(org: m.Organization) -> Plain:
    plain: Plain = jsonable(
        {
            "name": org.name,
            "calendar": {
                "fiscal_year_start": org.calendar.fiscal_year_start,
                "due_days": org.calendar.due_days,
            },
            "strategy": strategy_to_plain(org.strategy),
            "scoring": scoring_to_plain(org.scoring),
            "checks": checks_to_plain(org.checks),
            "sources": sources_to_plain(org.sources),
        }
    )
    return plain


def plan_changes(
    stored: DefinitionRows | None,
    old: m.Organization | None,
    new: m.Organization,
    rows: DefinitionRows,
) -> Plan:
    """Compare the store's rows (and its organisation-wide settings, `old`) with `new`.

    Items whose rows are the same are unchanged; the others are compared in their plain form,
    field by field, as the history records them. Lines alone are not changes; an order is
    (`_moved`): what lists the items follows it, and reads the definitions' history to know
    that it changed.
    """
    plan = Plan()
    before = _organization_plain(old) if old is not None else {}
    after = _organization_plain(new)
    for key in after:
        if before.get(key) != after[key]:
            action = "add" if old is None else "change"
            plan.records.append(
                ChangeRecord(
                    "organization", "organization", action, key, before.get(key), after[key]
                )
            )
    for kind, items_of, to_plain in KINDS:
        new_rows = rows.items[kind]
        old_rows = stored.items[kind] if stored is not None else {}
        changes = ItemChanges()
        items = {item.id: item for item in items_of(new)}
        for item_id in new_rows:
            if item_id not in old_rows:
                item = items[item_id]
                label = getattr(item, "name", None) or getattr(item, "title", None)
                plan.records.append(ChangeRecord(kind, item_id, "add", label=label))
                changes.write.add(item_id)
                changes.added.add(item_id)
                continue
            assert stored is not None
            if stored.definition(kind, item_id) == rows.definition(kind, item_id):
                continue
            previous = jsonable(to_plain(item_from_row(kind, old_rows[item_id], stored, None)))
            plain = jsonable(to_plain(items[item_id]))
            if previous == plain:
                continue
            changes.write.add(item_id)
            for key in [*previous, *(k for k in plain if k not in previous)]:
                if previous.get(key) != plain.get(key):
                    plan.records.append(
                        ChangeRecord(
                            kind, item_id, "change", key, previous.get(key), plain.get(key)
                        )
                    )
        plan.records.extend(_moved(kind, old_rows, new_rows))
        for item_id, row in old_rows.items():
            if item_id not in new_rows:
                assert stored is not None
                plain = jsonable(to_plain(item_from_row(kind, row, stored, None)))
                plan.records.append(ChangeRecord(kind, item_id, "remove", None, plain, None))
                changes.remove.add(item_id)
        plan.items[kind] = changes
    return plan


def _moved(
    kind: str, old_rows: Mapping[str, ItemRow], new_rows: Mapping[str, ItemRow]
) -> list[ChangeRecord]:
    """The items kept whose order among the others changed (`order.moved`), as changes of
    their position (1 for the first of their kind in the file)."""
    old_order = sorted(old_rows, key=lambda item_id: old_rows[item_id][PLACE][0])
    return [
        ChangeRecord(
            kind,
            item_id,
            "change",
            "position",
            old_rows[item_id][PLACE][0] + 1,
            new_rows[item_id][PLACE][0] + 1,
        )
        for item_id in moved(old_order, list(new_rows))
    ]


def apply_organization(
    store: Store,
    org: m.Organization,
    *,
    source: str,
    file: AppliedFile | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    also: Callable[[StoreConnection, Plan], None] | None = None,
    force: bool | None = None,
) -> Plan:
    """Write `org` to the store in one transaction and record its history.

    `source`: what the history names as where the change came from; `file`: the strategy
    file `org` was read from (None: a change made elsewhere, the web app's, which keeps
    the file last applied and gives the items it writes no line of it). `also` runs inside
    the same transaction after a write that changed something (the web app writes its audit
    row there). UsageError, before anything is stored, when its `checks:` section is bad
    (as `los check` says of it).

    `force`: None for a change of single items (the web app's edit forms, which guard what
    they change themselves); for a whole strategy (a file, one sent to the API), the plan's
    changes that would undo a change made in the web app since a file was last applied are
    marked (`Plan.undoing`), and refused (UndoRefused, nothing written) unless `force`."""
    chosen_rules(org.checks, source)
    with paused_gc(), store.transaction() as conn:
        settings = read_settings(conn)
        stored = read_rows(conn) if settings is not None else None
        rows = organization_rows(org, store.dialect)
        plan = plan_changes(stored, settings, org, rows)
        notifications = notify_settings.settings_change(conn, org.notifications)
        if notifications is not None:
            plan.records.append(notifications)
        cadences = review_settings.cadences_change(conn, org.reviews)
        if cadences is not None:
            plan.records.append(cadences)
        actions = declared_actions.plan_actions(conn, org.actions)
        plan.records.extend(actions.records)
        if force is not None:
            _mark_undoing(plan, read_changes_since_applied(conn))
            if plan.undoing() and not force and not dry_run:
                raise undoing_refused(plan, source)
        if dry_run:
            return plan
        # Even with no change, the file's lines may have moved: keep them for the checks.
        save_organization(conn, org, plan.items, file, new=rows, stored=stored)
        notify_settings.save_settings(conn, org.notifications)
        review_settings.save_cadences(conn, org.reviews)
        if settings is not None and settings.calendar != org.calendar:
            move_fiscal_periods(conn, org.calendar)
        declared_actions.save_actions(conn, actions, actor or local_user())
        if plan.empty:
            if file is not None:
                mark_applied(conn)
            return plan
        record_changes(
            conn,
            plan.records,
            batch=str(uuid.uuid4()),
            actor=actor or local_user(),
            source=source,
            at=dt.datetime.now(dt.UTC),
        )
        if file is not None:
            mark_applied(conn)
        if also is not None:
            also(conn, plan)
    refresh_kept(store)  # the next status reads its scorecard as kept, not computed anew
    return plan


def _mark_undoing(plan: Plan, later: Sequence[LaterChange]) -> None:
    """Mark each change of the plan that undoes one of the `later` changes (those made in
    the web app since a file was last applied) with who made that and on what day: a change
    of an item's field changed since, or of any kind to an item added, removed or changed
    since (an addition, a removal)."""
    if not later:
        return
    made: dict[tuple[str, str], list[LaterChange]] = {}
    for change in later:
        made.setdefault((change.kind, change.item_id), []).append(change)
    for record in plan.records:
        since = made.get((record.kind, record.item_id))
        if not since:
            continue
        if record.action == "change":
            since = [c for c in since if c.action != "change" or c.field == record.field]
            if not since:
                continue
        last = since[-1]
        record.undoes = (last.actor, f"{as_utc(last.changed_at):%Y-%m-%d}")


def undoing_refused(plan: Plan, source: str) -> UndoRefused:
    """The refusal of a whole strategy that would undo changes made in the web app: how to
    keep them (write what the store has into the strategy, each change says it) or undo them
    (force), as `los` says it for a file and the API for one sent to it. Exporting over the
    file one edits is never advised: it would replace its comments and layout."""
    undoing = plan.undoing()
    it = "it" if len(undoing) == 1 else "them"
    if Path(source).is_absolute():
        file = shown_file(source)
        advice = (
            f"to keep {it}, write what the store has (below) into {file} and apply it again "
            "(`los export exported.yaml` writes the store's whole strategy to another file to "
            f"copy from), or run `los apply {file} --force` to undo {it}"
        )
    else:  # sent to the API, as `strategy.yaml (web, USER)`: its problems name the file
        file = source.partition(" (")[0]
        advice = (
            f"to keep {it}, send the strategy with what the store has (below), or send it "
            f"with force=true to undo {it}"
        )
    return UndoRefused(
        f"{file}: applying it would undo {plural(len(undoing), 'change')} made in the web app "
        f"since a file was last applied; nothing was written: {advice}",
        [Problem(file, 0, undoing_text(r)) for r in undoing],
    )


_SHOWN = 70  # characters of a stored value an undoing change shows


def undoing_text(record: ChangeRecord) -> str:
    """A change that undoes one made in the web app, in words: what it changes, who changed
    it in the web app and when, and what the store has, to be written into the file to keep
    it (a field's value; an item the file lacks, or has and the store does not)."""
    assert record.undoes is not None
    what = f"{record.kind} {record.item_id}" + (f": {record.field}" if record.field else "")
    verb = {"add": "added back", "remove": "removed", "change": "changed back"}[record.action]
    actor, day = record.undoes
    keep = {
        "add": f"the store has no {record.kind} {record.item_id}",
        "remove": "the store has it; the file does not",
        "change": f"the store has {_shown(record.before)}",
    }[record.action]
    return f"{what} {verb}, changed in the web app by {actor} on {day}; {keep}"


def _shown(value: Any) -> str:
    """A stored value as JSON on one line, cut to `_SHOWN` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def apply_file(
    store: Store, path: Path, *, dry_run: bool = False, force: bool = False
) -> ApplyResult:
    """Validate a strategy file and bring the store to it; UndoRefused, nothing written, when
    it would undo a change made in the web app since the file was last applied, unless
    `force`."""
    with paused_gc():
        org, digest = read_strategy_file(path)
        # Before anything is stored: a bad `checks:` section refuses the file, as `los check`
        # does, rather than failing after the file was applied.
        owners = unknown_owners(org, dt.date.today(), str(path))
        source = str(path.resolve())
        plan = apply_organization(
            store,
            org,
            source=source,
            file=AppliedFile(source, digest),
            dry_run=dry_run,
            force=force,
        )
    return ApplyResult(str(path), plan, dry_run, org, owners)
