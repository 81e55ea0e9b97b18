"""Who may read and write actions and commentary, on the shared permission check
(`services.permissions.allows`), so the API and the pages decide alike.

- read: whoever may read the unit of the KPI or objective (scoped roles: their subtree);
- an action: editors and admins of the subject's unit; a person with the owner role there,
  on actions they own or on the KPIs and objectives they own (and new actions they take on
  themselves);
- commentary: editors and admins of the subject's unit, and the owner of the KPI or
  objective (the person who checks its values in).

An action's owner is a link to a person, so the write reaches the person's unit too (as an
owner given to a KPI in a change of the definitions does): an action is given, or passed on,
only to oneself or to a person of a unit the account may add actions in (`give_refusal`); a
person outside the units it may read is answered as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lineofsight.domain import model as m
from lineofsight.domain.actions import Action
from lineofsight.domain.text import did_you_mean
from lineofsight.services.permissions import UnitTree, allows, readable_units

if TYPE_CHECKING:
    from lineofsight.services.accounts import Account


@dataclass(frozen=True, slots=True)
class Subject:
    """A KPI or objective as the permissions see it: its unit and its owner."""

    kind: str
    id: str
    unit: str
    owner: str | None
    name: str


def subject_of(org: m.Organization, kind: str, item_id: str) -> Subject | None:
    """The KPI or objective named, None when the organisation has no such item."""
    if kind == "kpi":
        kpi = org.kpis_by_id().get(item_id)
        return None if kpi is None else Subject(kind, kpi.id, kpi.unit, kpi.owner, kpi.name)
    if kind == "objective":
        for o in org.objectives:
            if o.id == item_id:
                return Subject(kind, o.id, o.unit, o.owner, o.title)
    return None


def subjects_index(org: m.Organization) -> dict[tuple[str, str], Subject]:
    """Every KPI and objective as a Subject, by (kind, id)."""
    found = {("kpi", k.id): Subject("kpi", k.id, k.unit, k.owner, k.name) for k in org.kpis}
    found |= {
        ("objective", o.id): Subject("objective", o.id, o.unit, o.owner, o.title)
        for o in org.objectives
    }
    return found


@dataclass(frozen=True)
class SubjectIndex:
    """Every KPI and objective as a Subject: by (kind, id), by unit and by owner (made once
    per organisation and kept: a page of a unit of a large organisation looks up its own)."""

    by_key: dict[tuple[str, str], Subject]
    by_unit: dict[str, list[tuple[str, str]]]
    by_owner: dict[str, list[tuple[str, str]]]

    @classmethod
    def of(cls, org: m.Organization) -> SubjectIndex:
        by_key = subjects_index(org)
        by_unit: dict[str, list[tuple[str, str]]] = {}
        by_owner: dict[str, list[tuple[str, str]]] = {}
        for key, subject in by_key.items():
            by_unit.setdefault(subject.unit, []).append(key)
            if subject.owner is not None:
                by_owner.setdefault(subject.owner, []).append(key)
        return cls(by_key, by_unit, by_owner)

    def in_units(self, units: Iterable[str]) -> list[tuple[str, str]]:
        """The KPIs and objectives of the units (a unit and those below it: the subtree its
        page counts and its briefing book covers, whose actions are the unit's)."""
        return [key for unit in units for key in self.by_unit.get(unit, [])]


def _as_owner(account: Account | None, tree: UnitTree, unit: str, person: str | None) -> bool:
    """Whether the account holds the owner's rights on the unit for items of `person`: its
    own person, with a role that may enter that person's data there."""
    if account is None or person is None or account.person_id != person:
        return False
    return allows(account, "enter_data", unit_id=unit, kpi_owner=person, org=tree)


def may_read(account: Account | None, tree: UnitTree, subject: Subject) -> bool:
    return allows(account, "read", unit_id=subject.unit, org=tree)


def may_create_action(
    account: Account | None, tree: UnitTree, subject: Subject, owner: str | None
) -> bool:
    """Whether the account may add an action on the subject, owned by `owner`."""
    if allows(account, "edit_definitions", unit_id=subject.unit, org=tree):
        return True
    return _as_owner(account, tree, subject.unit, subject.owner) or _as_owner(
        account, tree, subject.unit, owner
    )


def owner_only_self(account: Account | None, tree: UnitTree, subject: Subject) -> bool:
    """Whether the account may add an action on the subject only with its own person as the
    action's owner: the owner role on a KPI or objective that another person owns (its form
    offers no owner field to fill in)."""
    if account is None or account.person_id is None:
        return False
    if may_create_action(account, tree, subject, None):
        return False
    return _as_owner(account, tree, subject.unit, account.person_id)


def create_refusal(
    account: Account | None, tree: UnitTree, subject: Subject, owner: str | None
) -> tuple[str | None, str] | None:
    """Why the account may not add an action on the subject owned by `owner`, as (the field
    to blame, or None for the whole action, and the reason in words); None when it may."""
    if may_create_action(account, tree, subject, owner):
        return None
    what = "KPI" if subject.kind == "kpi" else "objective"
    owned = f"its owner ({subject.owner})" if subject.owner else "its owner"
    if account is not None and owner_only_self(account, tree, subject):
        return "owner", (
            f"as an owner you may add an action on {what} '{subject.id}' only on yourself "
            f"({account.person_id}): only {owned} or an editor of unit '{subject.unit}' may "
            "give it to someone else"
        )
    return None, (
        f"you may not add actions on {what} '{subject.id}': only an editor or admin of unit "
        f"'{subject.unit}', {owned}, or an owner there taking the action on themselves may"
    )


def _adds_actions_in(account: Account, tree: UnitTree, unit: str) -> bool:
    """Whether the account may add actions in the unit: as an editor or admin there, or
    with the owner role there (on what its person owns)."""
    if allows(account, "edit_definitions", unit_id=unit, org=tree):
        return True
    mine = account.person_id
    if mine is None:
        return False
    return allows(account, "enter_data", unit_id=unit, kpi_owner=mine, org=tree)


def give_refusal(
    account: Account | None, tree: UnitTree, owner: str | None, org: m.Organization
) -> str | None:
    """Why the account may not give an action to the person `owner` (new, or passed on to
    them), in words; None when it may: to itself, or to a person of a unit it may add actions
    in. A person outside the units it may read is an unknown person (with the closest of those
    it may read), so that asking cannot tell which people exist there, and so is one that
    does not exist, to an account that may not read every unit (the action's own checks would
    suggest the closest of all people)."""
    if account is None or owner is None or owner == account.person_id:
        return None
    unit = next((p.unit for p in org.people if p.id == owner), None)
    if unit is not None and _adds_actions_in(account, tree, unit):
        return None
    units = readable_units(account, tree)
    if unit is None and units is None:
        return None  # the action's own checks say it, with the closest of all people
    if unit is None or not allows(account, "read", unit_id=unit, org=tree):
        seen = [p.id for p in org.people if units is None or p.unit in units]
        return f"unknown person '{owner}'{did_you_mean(owner, seen)}"
    return (
        f"you may give an action only to yourself or to a person of the units you may add "
        f"actions in, and '{owner}' is of unit '{unit}'"
    )


def edit_refusal(subject: Subject, action: Action) -> str:
    """Why an action may not be changed by one who may not (`may_edit_action`), in words."""
    what = "KPI" if subject.kind == "kpi" else "objective"
    owners = [f"the {what}'s owner ({subject.owner})"] if subject.owner else []
    if action.owner and action.owner != subject.owner:
        owners.append(f"the action's owner ({action.owner})")
    who = ", ".join([f"an editor or admin of unit '{subject.unit}'", *owners])
    return f"you may not change action '{action.title}': only {who} may"


def comment_refusal(subject: Subject) -> str:
    """Why commentary on the subject may not be written by one who may not (`may_comment`)."""
    what = "KPI" if subject.kind == "kpi" else "objective"
    owner = f" or its owner ({subject.owner})" if subject.owner else ""
    return (
        f"you may not write commentary on {what} '{subject.id}': only an editor or admin of "
        f"unit '{subject.unit}'{owner} may"
    )


def may_create_any_action(account: Account | None, tree: UnitTree) -> bool:
    """Whether the account may add an action on some KPI or objective: on one at the top of
    a grant's scope (a right held there is held below it too)."""
    if account is None:
        return False
    tops = {unit for grant in account.grants for unit in _tops(grant.unit_id, tree)}
    return any(
        may_create_action(account, tree, Subject("kpi", "", unit, None, ""), account.person_id)
        for unit in tops
    )


def _tops(unit: str | None, tree: UnitTree) -> list[str]:
    """The top units of a grant's scope (None: the whole organisation)."""
    if unit is None:
        return tree.roots
    return [unit] if unit in tree.parents else []


def may_edit_action(
    account: Account | None, tree: UnitTree, subject: Subject, action: Action
) -> bool:
    """Whether the account may change the action (on its subject, as it is now)."""
    if allows(account, "edit_definitions", unit_id=subject.unit, org=tree):
        return True
    return _as_owner(account, tree, subject.unit, action.owner) or _as_owner(
        account, tree, subject.unit, subject.owner
    )


def may_comment(account: Account | None, tree: UnitTree, subject: Subject) -> bool:
    """Whether the account may write commentary on the subject."""
    if allows(account, "edit_definitions", unit_id=subject.unit, org=tree):
        return True
    if allows(account, "enter_data", unit_id=subject.unit, org=tree):
        return True  # an admin of the unit
    return _as_owner(account, tree, subject.unit, subject.owner)
