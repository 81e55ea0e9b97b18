"""What a strategy edit in the browser starts from, kept between requests: the stored
organisation, its strategy document, the document's validated items and the alignment
findings before the edit, for one store revision at a time.

At 100,000 KPIs reading, writing out and validating the whole strategy costs seconds; an edit
changes one item. Kept here, a preview (and the save after it) validates only the edited item
against the schema, runs the cross-reference checks of the whole document (they are what an
edit can break anywhere: an id taken, a reference to what was removed, a cycle) and builds only
the edited item. Whatever the shortcut cannot decide alone (the item is not well-formed, or a
check finds a problem) goes through the whole strategy file's validation, so that the problems
are the ones `los apply` lists. The result is the organisation `strategy_edit.edited_organization`
gives without the base: the tests compare the two.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from lineofsight.checks.base import Finding
from lineofsight.checks.runner import run_checks
from lineofsight.domain import model as m
from lineofsight.services.apply import jsonable
from lineofsight.services.export import stored_organization
from lineofsight.services.scorecards import definitions_revision, store_revision
from lineofsight.spec import schema as s
from lineofsight.spec.build import build_organization
from lineofsight.spec.dump import Plain, organization_to_plain
from lineofsight.spec.validate import model_problems
from lineofsight.spec.yamlload import LineMap, paused_gc
from lineofsight.store.database import Store

FindingKey = tuple[str, str, str, str]

# The schema of one item of each kind, and where the document's model holds its section.
ITEM_SPECS: dict[str, type[BaseModel]] = {
    "unit": s.UnitSpec,
    "person": s.PersonSpec,
    "objective": s.ObjectiveSpec,
    "kpi": s.KpiSpec,
}
IN_ORGANIZATION = {"unit": "units", "person": "people"}
IN_FILE = {"objective": "objectives", "kpi": "kpis"}
ATTRS = {"unit": "units", "person": "people", "objective": "objectives", "kpi": "kpis"}


def finding_key(f: Finding) -> FindingKey:
    return (f.code, f.subject.kind.value, f.subject.id, f.message)


@dataclass
class EditBase:
    """The stored strategy at one revision: the organisation, its document (as the strategy
    file writes it), the model of the document's items (None: an item is not well-formed as
    stored, so every edit takes the whole validation) and the findings by as-of date."""

    revision: tuple[int, ...]
    before: m.Organization
    document: Plain
    model: s.StrategyFile | None
    _findings: dict[dt.date, dict[FindingKey, Finding]] = field(default_factory=dict)

    def findings(self, as_of: dt.date) -> dict[FindingKey, Finding]:
        """The alignment findings (the rules that need no measurements) before the edit."""
        found = self._findings.get(as_of)
        if found is None:
            found = {finding_key(f): f for f in run_checks(self.before, as_of).findings}
            self._findings[as_of] = found
        return found


_BASES: weakref.WeakKeyDictionary[Store, EditBase] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def edit_base(store: Store) -> EditBase:
    """The base of the store's strategy as it is now: kept, or read and kept (one per store,
    the latest revision's: the previous one is let go)."""
    # The revision is read first: a write landing before the organisation is read makes the
    # base newer than its revision says, so the next call reads it again; never the reverse.
    revision = definitions_revision(store_revision(store))
    with _LOCK:
        found = _BASES.get(store)
    if found is not None and found.revision == revision:
        return found
    with paused_gc():
        before = stored_organization(store)
        document: Plain = jsonable(organization_to_plain(before))
        model: s.StrategyFile | None
        try:
            model = s.StrategyFile.model_validate(document)
        except ValidationError:
            model = None
    # The document's references are not checked here: an edit's document is checked whole.
    base = EditBase(revision, before, document, model)
    with _LOCK:
        _BASES[store] = base
    return base


def remember(store: Store, base: EditBase) -> None:
    """Keep the strategy a save has just written (its revision read in the save's
    transaction): the next edit starts from it without reading it again."""
    with _LOCK:
        _BASES[store] = base


def kept_base(store: Store, before: m.Organization) -> EditBase | None:
    """The kept base when it holds `before` (read afresh by a save), else None. Equal items
    have the same document: the document is written from what the items compare."""
    with _LOCK:
        found = _BASES.get(store)
    if found is None or found.before != before:
        return None
    return found


def section_copy(document: Plain, path: tuple[str, ...]) -> tuple[Plain, list[Any]]:
    """A copy of the document whose section at `path` (and the mappings above it) may be
    changed without changing the kept document; the section's list."""
    top: Plain = dict(document)
    node = top
    for key in path[:-1]:
        node[key] = dict(node.get(key) or {})
        node = node[key]
    items = list(node.get(path[-1]) or [])
    node[path[-1]] = items
    return top, items


def quick_edit(
    base: EditBase,
    before: m.Organization,
    document: Plain,
    kind: str,
    item_id: str,
    item: Plain | None,
    index: int | None,
    file: str,
) -> tuple[m.Organization, s.StrategyFile] | None:
    """The organisation with one item changed (`index`: its place in its section; None: a
    new item) and the document's model, or None when only the whole validation can tell
    (the item is not well-formed, or the document has a problem)."""
    if base.model is None:
        return None
    specs = list(_section(base.model, kind))
    spec: BaseModel | None = None
    if item is not None:
        try:
            spec = ITEM_SPECS[kind].model_validate(item)
        except ValidationError:
            return None
    if spec is None:
        assert index is not None
        del specs[index]
    elif index is None:
        specs.append(spec)
    else:
        specs[index] = spec
    model = _with_section(base.model, kind, specs)
    if model_problems(model, document, file):
        return None
    attr = ATTRS[kind]
    kept = list(getattr(before, attr))
    # Only the edited item is built: a model holding it alone (the organisation's settings
    # kept, which are what the whole document has).
    alone = build_organization(
        _alone(base.model, kind, [] if spec is None else [spec]), file, LineMap()
    )
    at = next((i for i, it in enumerate(kept) if it.id == item_id), None)
    if spec is None:
        assert at is not None
        del kept[at]
    else:
        built = getattr(alone, attr)[0]
        old = next((it for it in getattr(before, attr) if it.id == built.id), None)
        built = (
            old if old is not None and old == built else dataclasses.replace(built, location=None)
        )
        if at is None:
            kept.append(built)
        else:
            kept[at] = built
    changes: dict[str, Any] = {attr: tuple(kept), "notifications": alone.notifications}
    return dataclasses.replace(before, **changes), model


def _section(model: s.StrategyFile, kind: str) -> list[Any]:
    if kind in IN_ORGANIZATION:
        return list(getattr(model.organization, IN_ORGANIZATION[kind]))
    return list(getattr(model, IN_FILE[kind]))


def _with_section(model: s.StrategyFile, kind: str, specs: list[Any]) -> s.StrategyFile:
    if kind in IN_ORGANIZATION:
        organization = model.organization.model_copy(update={IN_ORGANIZATION[kind]: specs})
        return model.model_copy(update={"organization": organization})
    return model.model_copy(update={IN_FILE[kind]: specs})


def _alone(model: s.StrategyFile, kind: str, specs: list[Any]) -> s.StrategyFile:
    """The model with no items but `specs` in `kind`'s section."""
    empty: dict[str, Any] = {name: [] for name in IN_FILE.values()}
    organization = model.organization.model_copy(update={n: [] for n in IN_ORGANIZATION.values()})
    stripped = model.model_copy(update={**empty, "organization": organization})
    return _with_section(stripped, kind, specs)
