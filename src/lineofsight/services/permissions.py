"""Who may do what where: the one permission check the JSON API and the pages both use.

Roles hold on a unit and its subtree (or the whole organisation):

| role   | read | edit_definitions | enter_data                 | upload | manage_users | refresh |
|--------|------|------------------|----------------------------|--------|--------------|---------|
| admin  | yes  | yes              | yes                        | yes    | yes          | yes     |
| editor | yes  | yes              | no                         | no     | no           | yes     |
| owner  | yes  | no               | KPIs their person owns     | no     | no           | no      |
| viewer | yes  | no               | no                         | no     | no           | no      |

`refresh` starts a refresh of a data source: it writes only what the sources that admins and
editors defined give, so editors may start one too. A source may write values anywhere, so it
is held on the whole organisation.

A write is allowed only when the account holds the action on every unit the write reaches,
not only on the unit of the item it names: `outside()` is that one rule. What a change of
the definitions reaches is `definition_reach()` (the items changed, and both ends of every
link added or removed: supports, parents, contributes_to, formula inputs, influences,
owners, leads, unit targets); what a user reaches is its roles' units and its person's unit
(`user_units()`). Reads show what lies in `readable_units()`; `visible_organization()` is
the organisation cut to it, for the views (trace, map, person) that follow links.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineofsight.domain import model as m
from lineofsight.domain.formula import FormulaError, parse_formula, references
from lineofsight.domain.graph import OrgGraph, organisation_graph, reachable
from lineofsight.domain.order import moved, moved_around
from lineofsight.engine.explain import Explanation

if TYPE_CHECKING:
    # Types only: the accounts module needs the web extra (argon2), and the command line's
    # scorecards use the unit tree here without it.
    from lineofsight.services.accounts import Account, Grant

ACTIONS = ("read", "edit_definitions", "enter_data", "upload", "manage_users", "refresh")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "editor": frozenset({"read", "edit_definitions", "refresh"}),
    "owner": frozenset({"read", "enter_data"}),
    "viewer": frozenset({"read"}),
}


@dataclass(frozen=True)
class UnitTree:
    """The unit tree as parent links, to tell whether a unit lies in another's subtree.

    Made from an organisation, it walks down with the organisation's graph (built once and
    shared); made from parent links alone (a change being checked), with its own.
    """

    parents: Mapping[str, str | None]
    _children: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    graph: OrgGraph | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, org: m.Organization | UnitTree) -> UnitTree:
        if isinstance(org, UnitTree):
            return org
        graph = organisation_graph(org)
        return cls(graph.unit_parents, graph=graph)

    @property
    def roots(self) -> list[str]:
        return [unit for unit, parent in self.parents.items() if parent is None]

    def within(self, unit_id: str, top: str) -> bool:
        """Whether `unit_id` is `top` or below it."""
        current: str | None = unit_id
        seen = 0
        while current is not None and seen <= len(self.parents):
            if current == top:
                return True
            current = self.parents.get(current)
            seen += 1  # a cycle in a broken file must not loop forever
        return False

    def subtree(self, top: str) -> set[str]:
        if self.graph is not None:
            return set(self.graph.subtree(top)) if top in self.parents else set()
        if not self._children:
            for unit, parent in self.parents.items():
                if parent is not None:
                    self._children.setdefault(parent, []).append(unit)
        start = [top] if top in self.parents else []
        return reachable(start, lambda unit: self._children.get(unit, ()))


def _covers(grant: Grant, unit_id: str | None, tree: UnitTree) -> bool:
    """Whether the grant's scope holds the unit (None: the whole organisation)."""
    if grant.unit_id is None:
        return True
    if unit_id is None:
        # The whole organisation: a grant on the only root unit holds all of it.
        return tree.roots == [grant.unit_id]
    return tree.within(unit_id, grant.unit_id)


def allows(
    account: Account | None,
    action: str,
    *,
    unit_id: str | None,
    kpi_owner: str | None = None,
    org: m.Organization | UnitTree,
) -> bool:
    """Whether the account may do `action` on `unit_id` (None: the whole organisation).

    `kpi_owner` is the person owning the KPI written to; an owner may enter data only for
    KPIs whose owner is the account's own person.
    """
    if account is None:
        return False
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    tree = UnitTree.of(org)
    for grant in account.grants:
        if action not in ROLE_ACTIONS.get(grant.role, frozenset()):
            continue
        owns = account.person_id is not None and kpi_owner == account.person_id
        if grant.role == "owner" and action == "enter_data" and not owns:
            continue
        if _covers(grant, unit_id, tree):
            return True
    return False


# What each action lets one do, in words, for a refusal.
ACTION_WORDS = {
    "read": "read",
    "edit_definitions": "change the strategy",
    "enter_data": "enter data",
    "upload": "upload files",
    "manage_users": "manage users",
    "refresh": "refresh data sources",
}


def refusal(
    account: Account | None,
    action: str,
    *,
    unit_id: str | None,
    kpi_owner: str | None = None,
    org: m.Organization | UnitTree,
) -> str:
    """Why `allows` refuses the action, in words: for an owner role that covers the unit but
    not the KPI (another person's, or an account linked to no person), who owns it; else
    the roles held and where the action was refused."""
    where = "the whole organisation" if unit_id is None else f"unit '{unit_id}'"
    tree = UnitTree.of(org)
    as_owner = account is not None and any(
        grant.role == "owner" and _covers(grant, unit_id, tree) for grant in account.grants
    )
    if account is not None and action == "enter_data" and as_owner:
        whose = f"this KPI is owned by {kpi_owner}" if kpi_owner else "this KPI has no owner"
        if account.person_id is None:
            return (
                "an owner enters data only for the KPIs their person owns, and your account "
                f"is linked to no person ({whose}); an admin links it with `los user change "
                f"{account.username} --person ID`"
            )
        return (
            f"only the KPI's owner may enter its data: you may enter data only for the KPIs "
            f"your person ({account.person_id}) owns, and {whose}"
        )
    roles = ", ".join(str(g) for g in account.grants) if account is not None else ""
    held = f"your roles ({roles})" if roles else "your account"
    return f"{held} do not let you {ACTION_WORDS.get(action, action)} on {where}"


def readable_units(account: Account | None, org: m.Organization | UnitTree) -> set[str] | None:
    """The units an account may read: None for all of them, else the union of its subtrees."""
    if account is None:
        return set()
    tree = UnitTree.of(org)
    found: set[str] = set()
    for grant in account.grants:
        if "read" not in ROLE_ACTIONS.get(grant.role, frozenset()):
            continue
        if _covers(grant, None, tree):
            return None
        assert grant.unit_id is not None
        found |= tree.subtree(grant.unit_id)
    return found


def outside(
    account: Account | None,
    action: str,
    units: Iterable[str | None],
    org: m.Organization | UnitTree,
) -> list[str | None]:
    """The units of a write that the account may not do `action` on (empty: allowed).

    None stands for the whole organisation. Every write checks every unit it reaches here,
    so that naming an item of one's own unit cannot carry a change into another one.
    """
    tree = UnitTree.of(org)
    refused: list[str | None] = []
    for unit in dict.fromkeys(units):
        if not allows(account, action, unit_id=unit, org=tree):
            refused.append(unit)
    return refused


def user_units(
    grants: Iterable[Grant], person_id: str | None, org: m.Organization | None
) -> list[str | None]:
    """The units a user reaches: its roles' units, and the unit of the person it acts as.

    A user linked to a person enters data for that person's KPIs and sees their page, so
    making (or acting for) such a user reaches the person's unit too. A person the
    organisation does not hold reaches nothing (the store refuses the link).
    """
    units: list[str | None] = [g.unit_id for g in grants]
    if person_id is not None and org is not None:
        person = next((p for p in org.people if p.id == person_id), None)
        if person is not None:
            units.append(person.unit)
    return units


@dataclass(frozen=True)
class Reach:
    """What a change of the definitions touches: units, and whether it is organisation-wide."""

    units: frozenset[str]
    organization: bool  # settings of the whole organisation (name, calendar, strategy, ...)

    def scopes(self) -> list[str | None]:
        """The units to check, None standing for the whole organisation."""
        return ([None] if self.organization else []) + sorted(self.units)


def _formula_inputs(formula: str | None) -> tuple[str, ...]:
    if formula is None:
        return ()
    try:
        return references(parse_formula(formula))
    except FormulaError:  # the file was validated; a broken formula links nothing
        return ()


def _links(item: object) -> set[tuple[str, str, object]]:
    """The links of an item to other items: (kind of target, target id, what the link carries).

    What a link carries (weights, effects, target values) is part of it: changing the weight
    of a support changes the supported objective's score as much as adding it does.
    """
    links: set[tuple[str, str, object]] = set()
    if isinstance(item, m.Kpi):
        links |= {("objective", s.objective, s.weight) for s in item.supports}
        links |= {("kpi", c.kpi, (c.weight, c.effect.value)) for c in item.contributes_to}
        links |= {("kpi", k, "influences") for k in item.influences}
        links |= {("kpi", k, "formula") for k in _formula_inputs(item.formula)}
        links |= {("unit", u, target) for u, target in item.unit_targets}
        if item.owner:
            links.add(("person", item.owner, "owner"))
    elif isinstance(item, m.Objective):
        if item.parent:
            links.add(("objective", item.parent, item.weight))
        if item.owner:
            links.add(("person", item.owner, "owner"))
    elif isinstance(item, m.Unit):
        if item.parent:
            links.add(("unit", item.parent, "parent"))
        if item.lead:
            links.add(("person", item.lead, "lead"))
    return links


def _units_of(org: m.Organization | None) -> dict[tuple[str, str], str]:
    """(kind, id) -> the unit the item belongs to, for every unit, person, objective, KPI."""
    if org is None:
        return {}
    found: dict[tuple[str, str], str] = {("unit", u.id): u.id for u in org.units}
    found |= {("person", p.id): p.unit for p in org.people}
    found |= {("objective", o.id): o.unit for o in org.objectives}
    found |= {("kpi", k.id): k.unit for k in org.kpis}
    return found


def _items(org: m.Organization | None) -> dict[tuple[str, str], object]:
    if org is None:
        return {}
    found: dict[tuple[str, str], object] = {("unit", u.id): u for u in org.units}
    found |= {("person", p.id): p for p in org.people}
    found |= {("objective", o.id): o for o in org.objectives}
    found |= {("kpi", k.id): k for k in org.kpis}
    return found


def _settings(org: m.Organization) -> m.Organization:
    """The organisation without its units, people, objectives and KPIs: its settings."""
    return dataclasses.replace(org, units=(), people=(), objectives=(), kpis=())


def _orders(
    before: m.Organization, after: m.Organization
) -> list[tuple[str, list[str], list[str]]]:
    """Each kind of item with the ids in their order before and after."""
    return [
        ("unit", [u.id for u in before.units], [u.id for u in after.units]),
        ("person", [p.id for p in before.people], [p.id for p in after.people]),
        ("objective", [o.id for o in before.objectives], [o.id for o in after.objectives]),
        ("kpi", [k.id for k in before.kpis], [k.id for k in after.kpis]),
    ]


def definition_reach(
    before: m.Organization | None,
    after: m.Organization,
    own: Callable[[str], bool] | None = None,
) -> Reach:
    """The units a change of the definitions from `before` to `after` reaches.

    An item added, changed, removed or moved among the others of its kind reaches its unit
    (before and after: moving a KPI to another unit reaches both); a link added or removed
    reaches the unit of the item at its other end, since a support or a parent changes the
    linked objective's score, and a formula, a contribution or an influence ties the linked
    KPI to this one. A new unit reaches its parent; anything else about the organisation
    reaches all of it. `own`: the units of the writer, to whose items a new order is put down
    where moving them alone explains it (see `_shifted`).
    """
    if before is None:
        return Reach(frozenset(), organization=True)
    organization = _settings(before) != _settings(after)
    old_items, new_items = _items(before), _items(after)
    old_units, new_units = _units_of(before), _units_of(after)
    reached: set[str] = set()
    shifted = _shifted(before, after, old_units, own)
    for key in old_items.keys() | new_items.keys():
        old, new = old_items.get(key), new_items.get(key)
        if old == new and key not in shifted:
            continue
        kind, item_id = key
        if kind == "unit":
            # A unit is itself (when it existed) and hangs under its parent: a new unit
            # reaches the parent it is put under, through its parent link below; a root
            # added or taken away changes what the whole organisation is.
            if old != new and any(isinstance(u, m.Unit) and u.parent is None for u in (old, new)):
                organization = True
            if old is not None:
                reached.add(item_id)
        else:
            reached |= {u for u in (old_units.get(key), new_units.get(key)) if u is not None}
        for kind_to, target, _ in _links(old) ^ _links(new):
            where = old_units.get((kind_to, target)) or new_units.get((kind_to, target))
            if where is not None:
                reached.add(where)
    return Reach(frozenset(reached), organization)


def _shifted(
    before: m.Organization,
    after: m.Organization,
    units: dict[tuple[str, str], str],
    own: Callable[[str], bool] | None,
) -> set[tuple[str, str]]:
    """The items whose order among the others of their kind changed: each is a change of it
    (its position). Where two items of different units swapped, moving either explains the
    new order; with `own` given, a new order that moving the writer's items alone explains
    (the others keep their order among themselves) is put down to the fewest of the
    writer's items that explain it (`order.moved_around`), so a unit editor may move their
    KPI past another unit's, as they could in two steps."""
    shifted: set[tuple[str, str]] = set()
    for kind, old_ids, new_ids in _orders(before, after):
        ids = moved(old_ids, new_ids)
        if ids and own is not None:

            def theirs(item_id: str, kind: str = kind) -> bool:
                unit = units.get((kind, item_id))
                return unit is None or not own(unit)

            mine = moved_around(old_ids, new_ids, theirs)
            if mine is not None:
                ids = mine
        shifted |= {(kind, item_id) for item_id in ids}
    return shifted


def change_tree(before: m.Organization | None, after: m.Organization) -> UnitTree:
    """The unit tree a change is judged on: the units as they were, and new units where the
    change puts them (a unit moved is judged where it was; its new parent is reached too)."""
    parents = {u.id: u.parent for u in after.units}
    if before is not None:
        parents |= {u.id: u.parent for u in before.units}
    return UnitTree(parents)


def refused_definitions(
    account: Account | None,
    before: m.Organization | None,
    after: m.Organization,
    reach: Reach | None = None,
) -> list[str | None]:
    """The units (None: the whole organisation) where the account may not make this change
    of the definitions; empty when it may (`reach`: the change's, when already known)."""
    tree = change_tree(before, after)
    reach, refused = _judged(account, before, after, reach, tree)
    # What a source reads and where (a query, a URL, a path) is the server's to run: only
    # an admin of the whole organisation changes it, whatever unit the KPI is in.
    if _sources_changed(before, after) and None not in refused:
        refused += outside(account, "manage_users", [None], tree)
    return refused


def writer_reach(
    account: Account | None, before: m.Organization | None, after: m.Organization
) -> Reach:
    """The units a change of the definitions by this account reaches as its permission check
    (`refused_definitions`) judges it: a new order that moving the account's own items
    explains is put down to those items. Whose admins or lead approve the change when it
    waits for approval. Only a strategy edit waits, and an edit of one item never reorders
    the others (a change keeps the item's place, an addition comes last, a removal leaves
    the rest in order): for a waiting change the reach is `definition_reach`'s, and the rule
    for a new order applies where whole files are applied (`PUT /api/strategy`)."""
    return _judged(account, before, after, None, change_tree(before, after))[0]


def _judged(
    account: Account | None,
    before: m.Organization | None,
    after: m.Organization,
    reach: Reach | None,
    tree: UnitTree,
) -> tuple[Reach, list[str | None]]:
    """The reach the account's change is judged on, and its units the account may not edit."""
    reach = reach if reach is not None else definition_reach(before, after)
    refused = outside(account, "edit_definitions", reach.scopes(), tree)
    if refused and before is not None:
        # A new order that the account's own items explain is theirs to set.
        def own(unit: str) -> bool:
            return allows(account, "edit_definitions", unit_id=unit, org=tree)

        reach = definition_reach(before, after, own)
        refused = outside(account, "edit_definitions", reach.scopes(), tree)
    return reach, refused


def _sources_changed(before: m.Organization | None, after: m.Organization) -> bool:
    """Whether the change adds, alters or removes a data source or a KPI's source."""

    # Settings compared as mappings: a stored strategy may keep them in another order.
    def named(org: m.Organization | None) -> dict[str, Any]:
        found = org.sources if org is not None else ()
        return {s.name: (s.kind, dict(s.settings)) for s in found}

    def fed(org: m.Organization | None) -> dict[str, Any]:
        found = org.kpis if org is not None else ()
        return {
            k.id: (k.source.kind, dict(k.source.settings))
            for k in found
            if k.source is not None and k.source.kind is not m.SourceKind.MANUAL
        }

    return named(before) != named(after) or fed(before) != fed(after)


def visible_organization(org: m.Organization, units: Collection[str] | None) -> m.Organization:
    """The organisation as an account may read it: the units, people, objectives and KPIs of
    `units` (None: all of them). Links to what is cut away lead nowhere, so a trace or a
    map built on it stops where the account's scope ends instead of showing what is above."""
    if units is None:
        return org
    return dataclasses.replace(
        org,
        units=tuple(u for u in org.units if u.id in units),
        people=tuple(p for p in org.people if p.unit in units),
        objectives=tuple(o for o in org.objectives if o.unit in units),
        kpis=tuple(k for k in org.kpis if k.unit in units),
    )


def visible_links(
    item: m.Kpi | m.Objective, org: m.Organization, units: Collection[str] | None
) -> Any:
    """An item as an account may read its definition: its links to objectives, KPIs and
    units outside `units` (None: all) left out, like the items themselves."""
    if units is None:
        return item
    objectives = {o.id for o in org.objectives if o.unit in units}
    kpis = {k.id for k in org.kpis if k.unit in units}
    if isinstance(item, m.Objective):
        return (
            item
            if item.parent in objectives or item.parent is None
            else dataclasses.replace(item, parent=None)
        )
    return dataclasses.replace(
        item,
        supports=tuple(s for s in item.supports if s.objective in objectives),
        contributes_to=tuple(c for c in item.contributes_to if c.kpi in kpis),
        influences=tuple(k for k in item.influences if k in kpis),
        unit_targets=tuple((u, t) for u, t in item.unit_targets if u in units),
    )


# What stands for the items of an explanation that lie outside the account's units.
HIDDEN = "(other units)"


def visible_explanation(explanation: Explanation, see: Callable[[str, str], bool]) -> Explanation:
    """An explanation of a change as an account may read it: the contributions of KPIs and
    units it may not see (`see(kind, id)` is False) summed into one, named HIDDEN, so that
    the parts still add up to the change without naming or valuing what is outside."""
    hidden = [c for c in explanation.contributions if not see(c.kind, c.id)]
    if not hidden:
        return explanation
    kept = tuple(c for c in explanation.contributions if see(c.kind, c.id))
    total = math.fsum(c.contribution for c in hidden)
    other = dataclasses.replace(
        hidden[0], id=HIDDEN, contribution=total, from_value=None, to_value=None, breakdown=None
    )
    return dataclasses.replace(explanation, contributions=(*kept, other))
