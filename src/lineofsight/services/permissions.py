"""Who may do what where: the one permission check the JSON API and the pages both use.

Roles hold on a unit and its subtree (or the whole organisation):

| role   | read | edit_definitions | enter_data                 | upload | manage_users |
|--------|------|------------------|----------------------------|--------|--------------|
| admin  | yes  | yes              | yes                        | yes    | yes          |
| editor | yes  | yes              | no                         | no     | no           |
| owner  | yes  | no               | KPIs their person owns     | no     | no           |
| viewer | yes  | no               | no                         | no     | no           |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lineofsight.domain import model as m
from lineofsight.domain.graph import reachable

if TYPE_CHECKING:
    # Types only: the accounts module needs the web extra (argon2), and the command line's
    # scorecards use the unit tree here without it.
    from lineofsight.services.accounts import Account, Grant

ACTIONS = ("read", "edit_definitions", "enter_data", "upload", "manage_users")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "editor": frozenset({"read", "edit_definitions"}),
    "owner": frozenset({"read", "enter_data"}),
    "viewer": frozenset({"read"}),
}


@dataclass(frozen=True)
class UnitTree:
    """The unit tree as parent links, to tell whether a unit lies in another's subtree."""

    parents: Mapping[str, str | None]
    _children: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, org: m.Organization | UnitTree) -> UnitTree:
        if isinstance(org, UnitTree):
            return org
        return cls({u.id: u.parent for u in org.units})

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


def may_grant(account: Account | None, grants: Iterable[Grant], tree: UnitTree) -> bool:
    """Whether an admin may give (or take away) these roles: each within its own scope."""
    return all(allows(account, "manage_users", unit_id=g.unit_id, org=tree) for g in grants)
