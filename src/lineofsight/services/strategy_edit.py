"""Changing one unit, person, objective or KPI of the stored strategy, as `los apply` would.

An edit is the item as the strategy file writes it (or its removal). It is put into the
store's strategy document in place of the item, the whole document goes through the strategy
file's validation (`spec.files.parse_document`: what `los apply` does once it has read the
file's YAML; every problem at once) and then through the
apply service (`services.apply.apply_organization`: one transaction, the definitions'
history, the audit row). A preview shows the apply's plan and which alignment findings
(`los check`, the rules that need no measurements) the edit makes appear or go.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineofsight.checks.base import Finding
from lineofsight.checks.runner import run_checks
from lineofsight.domain import model as m
from lineofsight.domain.text import plural
from lineofsight.errors import Problem, SpecError, UsageError
from lineofsight.services import audit
from lineofsight.services.apply import KINDS, Plan, apply_organization, jsonable
from lineofsight.services.export import stored_organization
from lineofsight.services.permissions import Reach, definition_reach
from lineofsight.services.scorecards import definitions_revision
from lineofsight.services.strategy_edit_base import (
    EditBase,
    edit_base,
    finding_key,
    kept_base,
    quick_edit,
    remember,
    section_copy,
)
from lineofsight.spec import schema as s
from lineofsight.spec.dump import Plain, organization_to_plain
from lineofsight.spec.files import parse_document
from lineofsight.spec.yamlload import paused_gc
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.organization import read_revision

# Where each kind of item sits in the strategy document, and the field of the org holding it.
SECTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "unit": (("organization", "units"), "units"),
    "person": (("organization", "people"), "people"),
    "objective": (("objectives",), "objectives"),
    "kpi": (("kpis",), "kpis"),
}
DOCUMENT = "strategy.yaml"


@dataclass(frozen=True)
class Edit:
    """One item changed: its kind, its id, and the item as the strategy file writes it (None:
    removed). `new` is an item added, whose id no item may have yet."""

    kind: str
    item_id: str
    item: Plain | None
    new: bool = False


@dataclass
class EditPreview:
    """What saving an edit would do: the apply's plan and the findings it adds or takes away."""

    edit: Edit
    before: m.Organization
    after: m.Organization
    plan: Plan
    reach: Reach
    appeared: list[Finding] = field(default_factory=list)
    gone: list[Finding] = field(default_factory=list)


def item_plain(org: m.Organization, kind: str, item_id: str) -> Plain | None:
    """An item as the strategy file writes it (None: the organisation has no such item)."""
    for name, items_of, to_plain in KINDS:
        if name == kind:
            for item in items_of(org):
                if item.id == item_id:
                    plain: Plain = jsonable(to_plain(item))
                    return plain
    return None


def _section(document: Plain, kind: str) -> list[Any]:
    path, _ = SECTIONS[kind]
    node: Any = document
    for key in path[:-1]:
        node = node.setdefault(key, {})
    found = node.setdefault(path[-1], [])
    assert isinstance(found, list)
    return found


def _all_ids(org: m.Organization) -> dict[str, str]:
    ids: dict[str, str] = {}
    for kind, items_of, _ in KINDS:
        for item in items_of(org):
            ids.setdefault(item.id, kind)
    return ids


def edited_organization(
    before: m.Organization, edit: Edit, base: EditBase | None = None
) -> m.Organization:
    """The organisation with the edit made, validated as a whole strategy file.

    SpecError lists every problem; a problem about the edited item names its field first
    (`kpi nps: target.value: ...`), see `problem_field`. The items the edit leaves alone
    keep where their strategy file wrote them (the checks' line numbers). With the `base`
    of `before` kept, only the edited item is validated and built anew (see
    `strategy_edit_base`); the organisation is the same.
    """
    return _edited(before, edit, base)[0]


def _edited(
    before: m.Organization, edit: Edit, base: EditBase | None
) -> tuple[m.Organization, Plain, s.StrategyFile | None]:
    """The edited organisation, its document, and the document's model when the kept base
    gave it (see `edited_organization`)."""
    if edit.kind not in SECTIONS:
        raise UsageError(f"unknown kind of item '{edit.kind}'")
    if base is not None:
        document, items = section_copy(base.document, SECTIONS[edit.kind][0])
    else:
        document = jsonable(organization_to_plain(before))
        items = _section(document, edit.kind)
    index = next((i for i, it in enumerate(items) if it.get("id") == edit.item_id), None)
    taken: Problem | None = None
    if edit.new:
        new_id = (edit.item or {}).get("id")
        kind_taken = _all_ids(before).get(str(new_id))
        if kind_taken is not None:
            # Said with every other problem of the item, in place of the file's own
            # "duplicate id" (which names a line the form does not have).
            taken = _problem(edit, f"id: '{new_id}' is already the id of a {kind_taken}")
        items.append(edit.item)
    elif index is None:
        raise UsageError(f"no {edit.kind} '{edit.item_id}'")
    elif edit.item is None:
        del items[index]
    else:
        items[index] = edit.item
    if base is not None and taken is None:
        quick = quick_edit(
            base,
            before,
            document,
            edit.kind,
            edit.item_id,
            edit.item,
            None if edit.new else index,
            DOCUMENT,
        )
        if quick is not None:
            return quick[0], document, quick[1]
    try:
        parsed = parse_document(document, DOCUMENT)
    except SpecError as exc:
        raise _with_owner(_with_taken(exc, taken, edit), edit, document) from None
    if taken is not None:  # not reached: the file's validation finds the id twice
        raise SpecError(f"{DOCUMENT}: 1 problem", [taken])
    changes: dict[str, Any] = {"notifications": parsed.notifications}
    for _path, attr in SECTIONS.values():
        kept = {item.id: item for item in getattr(before, attr)}
        changes[attr] = tuple(
            kept[item.id] if kept.get(item.id) == item else dataclasses.replace(item, location=None)
            for item in getattr(parsed, attr)
        )
    return dataclasses.replace(before, **changes), document, None


def _with_taken(exc: SpecError, taken: Problem | None, edit: Edit) -> SpecError:
    """`exc` with a new item's id that is taken said first, as the form's id field shows
    it, instead of the file's problem of the id written twice."""
    if taken is None:
        return exc
    twice = f"duplicate id '{(edit.item or {}).get('id')}': "
    problems = [taken, *(p for p in exc.problems if not p.message.startswith(twice))]
    return SpecError(f"{DOCUMENT}: {plural(len(problems), 'problem')}", problems)


def _with_owner(exc: SpecError, edit: Edit, document: Plain) -> SpecError:
    """`exc` with the edited item's owner said too when it is no person: an owner is checked
    by `los check` (OW01) on an organisation that validates, which this one does not, so the
    form would otherwise say it only after the other problems are fixed."""
    owner = (edit.item or {}).get("owner") if edit.kind in ("kpi", "objective") else None
    people = _section(document, "person")
    if not isinstance(owner, str) or any(p.get("id") == owner for p in people):
        return exc
    said = _problem(
        edit, f"owner: '{owner}' is not in people (`los check` OW01 will report it as an error)"
    )
    problems = [*exc.problems, said]
    return SpecError(f"{DOCUMENT}: {plural(len(problems), 'problem')}", problems)


def _problem(edit: Edit, message: str) -> Problem:
    return Problem(DOCUMENT, 0, f"{edit.kind} {edit.item_id}: {message}")


_FIELD = re.compile(r"([a-z_]+)")
_PATH = re.compile(r"[a-z_]+(\[\d+\]|\.[a-z_]+)*")


def problem_path(problem: Problem, edit: Edit, index: int | None = None) -> str | None:
    """Where in the edited item a problem is (`baseline.period`, `supports[0].weight`; None:
    elsewhere, or the whole item).

    `index` is the item's place in its section, which names an item whose id is not valid."""
    heads = [f"{edit.kind} {edit.item_id}: "]
    if index is not None:
        heads.append(f"{edit.kind} #{index + 1}: ")
    for head in heads:
        if problem.message.startswith(head):
            found = _PATH.match(problem.message[len(head) :])
            return found.group(0) if found else None
    return None


def problem_field(problem: Problem, edit: Edit, index: int | None = None) -> str | None:
    """The field of the edited item a problem is about (None: elsewhere, or the whole item);
    see `problem_path`."""
    path = problem_path(problem, edit, index)
    found = None if path is None else _FIELD.match(path)
    return found.group(1) if found else None


def problem_text(problem: Problem, edit: Edit, shown_at: str | None = None) -> str:
    """A problem as the form shows it next to a field: without the item's name, and without
    the field's name when it is the field itself (a top-level key, or `shown_at`, the path of
    the form's field it is shown at; `target.value` shown elsewhere keeps its path)."""
    message = problem.message
    head = f"{edit.kind} {edit.item_id}: "
    if not message.startswith(head):
        return message
    path, sep, reason = message[len(head) :].partition(": ")
    if sep and _PATH.fullmatch(path):
        return reason if _FIELD.fullmatch(path) or path == shown_at else f"{path}: {reason}"
    return message[len(head) :]


def finding_changes(
    before: m.Organization,
    after: m.Organization,
    as_of: dt.date,
    base: EditBase | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """The alignment findings (the rules that need no measurements) that appear and go
    (those before the edit kept in the `base` of `before`)."""
    if base is not None:
        old = base.findings(as_of)
    else:
        old = {finding_key(f): f for f in run_checks(before, as_of).findings}
    new = {finding_key(f): f for f in run_checks(after, as_of).findings}
    appeared = [f for key, f in new.items() if key not in old]
    gone = [f for key, f in old.items() if key not in new]
    return appeared, gone


def source_of(actor: str) -> str:
    """What the definitions' history shows as the source of an edit made in the browser."""
    return f"the web app ({actor})"


def preview_edit(
    store: Store, edit: Edit, *, actor: str, as_of: dt.date, findings: bool = True
) -> EditPreview:
    """Validate an edit against the stored strategy and plan it; nothing is written. The
    stored strategy is kept for the next edit until the store's definitions change."""
    base = edit_base(store)
    before = base.before
    with paused_gc():  # 100,000s of objects made and dropped, in no cycle
        after = edited_organization(before, edit, base)
        plan = apply_organization(store, after, source=source_of(actor), dry_run=True, actor=actor)
        # Without `findings` (a save judged before it is made) the rules are not run.
        appeared, gone = finding_changes(before, after, as_of, base) if findings else ([], [])
    return EditPreview(edit, before, after, plan, definition_reach(before, after), appeared, gone)


def _guard(
    edit: Edit, also: Callable[[StoreConnection, Plan], None] | None
) -> Callable[[StoreConnection, Plan], None]:
    """Inside the apply's transaction: the change must be this item's and nothing else's.

    The strategy was read before the transaction; a change made in between (an apply from
    the command line, another edit) would otherwise be undone by this one."""

    def check(conn: StoreConnection, plan: Plan) -> None:
        if any((r.kind, r.item_id) != (edit.kind, edit.item_id) for r in plan.records):
            raise UsageError(
                "the strategy changed while this edit was being saved: nothing was written; "
                "look at the preview again"
            )
        if also is not None:
            also(conn, plan)

    return check


def save_edit(
    store: Store,
    edit: Edit,
    *,
    actor: str,
    source: str | None = None,
    authorize: Callable[[m.Organization, m.Organization], None] | None = None,
    also: Callable[[StoreConnection, Plan], None] | None = None,
) -> Plan:
    """Validate the edit again against the store as it is now and apply it: one transaction
    with the definitions' history and an audit row. `authorize(before, after)` raises to
    refuse it before anything is written; `also` writes more in the same transaction."""
    # Read afresh (where the file wrote each item is not in the base's revision), the
    # document and the validated items of the kept base reused when they are the same.
    with paused_gc():
        before = stored_organization(store)
        after, document, model = _edited(before, edit, kept_base(store, before))
    if authorize is not None:
        authorize(before, after)

    def write_audit(conn: StoreConnection, plan: Plan) -> None:
        audit.record(
            conn,
            actor=actor,
            action=f"definition.{plan_action(plan)}",
            subject=f"{edit.kind}:{edit.item_id}",
            before=item_plain(before, edit.kind, edit.item_id),
            after=edit.item,
        )
        if also is not None:
            also(conn, plan)
        written.append(definitions_revision(read_revision(conn)))

    written: list[tuple[int, ...]] = []
    plan = apply_organization(
        store,
        after,
        source=source or source_of(actor),
        actor=actor,
        also=_guard(edit, write_audit),
    )
    if written and model is not None:
        remember(store, EditBase(written[0], after, document, model))
    return plan


def plan_action(plan: Plan) -> str:
    """add, change or remove: what a one-item plan does."""
    actions: Sequence[str] = [r.action for r in plan.records]
    for action in ("add", "remove"):
        if action in actions:
            return action
    return "change"
