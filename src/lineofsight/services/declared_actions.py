"""The actions a strategy file declares (`actions:`), brought into the store by `los apply`
and written back by `los export`.

An action is matched by its id in the file (`key`). The file states what it gives: a status
it leaves out stays as people set it in the app. Only actions that a file declared are
removed when a later file drops them; those entered in the app stay. A file without an
`actions:` section leaves every stored action as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineofsight.domain.actions import Action, DeclaredAction
from lineofsight.services.actions import add_action, change_action, remove_action
from lineofsight.store import actions as stored
from lineofsight.store.database import StoreConnection
from lineofsight.store.definitions import ChangeRecord

FIELDS = ("subject_type", "subject_id", "title", "owner", "due", "status", "milestones")


@dataclass
class ActionPlan:
    """What applying the file's actions changes: history lines, and the writes to make."""

    records: list[ChangeRecord] = field(default_factory=list)
    add: list[DeclaredAction] = field(default_factory=list)
    change: list[tuple[Action, dict[str, Any]]] = field(default_factory=list)
    remove: list[Action] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.remove)


def plan_actions(conn: StoreConnection, declared: tuple[DeclaredAction, ...] | None) -> ActionPlan:
    """The changes that bring the stored actions to the file's (none without a section)."""
    plan = ActionPlan()
    if declared is None:
        return plan
    current = {a.key: a for a in stored.read_actions(conn)}
    for action in declared:
        before = current.get(action.key)
        if before is None:
            plan.add.append(action)
            plan.records.append(
                ChangeRecord(
                    "action", action.key, "add", None, None, _plain(action), label=action.title
                )
            )
            continue
        wanted = {name: getattr(action, name) for name in FIELDS}
        if action.status is None:
            del wanted["status"]
        changes = {k: v for k, v in wanted.items() if getattr(before, k) != v}
        if changes:
            plan.change.append((before, changes))
            for name, value in changes.items():
                plan.records.append(
                    ChangeRecord(
                        "action",
                        action.key,
                        "change",
                        name,
                        _value(getattr(before, name)),
                        _value(value),
                    )
                )
    named = {a.key for a in declared}
    for key, before in current.items():
        if before.declared and key not in named:
            plan.remove.append(before)
            plan.records.append(
                ChangeRecord("action", key, "remove", None, _plain(before), None, before.title)
            )
    return plan


def save_actions(conn: StoreConnection, plan: ActionPlan, actor: str | None) -> None:
    """Make the plan's writes in the apply's transaction, each with its audit row."""
    if plan.empty:
        return
    for gone in plan.remove:
        remove_action(conn, actor, gone)
    for before, changes in plan.change:
        change_action(conn, actor, before.id, changes, by_file=True)
    for action in plan.add:
        add_action(
            conn,
            actor,
            subject_type=action.subject_type,
            subject_id=action.subject_id,
            title=action.title,
            owner=action.owner,
            due=action.due,
            milestones=action.milestones,
            status=action.status or "open",
            key=action.key,
            declared=True,
        )


def read_declared(conn: StoreConnection) -> tuple[DeclaredAction, ...] | None:
    """Every stored action as the file declares it (`los export`); None when there is none."""
    found = stored.read_actions(conn)
    if not found:
        return None
    return tuple(
        DeclaredAction(
            key=a.key,
            subject_type=a.subject_type,
            subject_id=a.subject_id,
            title=a.title,
            owner=a.owner,
            due=a.due,
            status=a.status,
            milestones=a.milestones,
        )
        for a in sorted(found, key=lambda a: a.id)
    )


def _value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [
            {"title": s.title, "due": s.due.isoformat() if s.due else None, "done": s.done}
            for s in value
        ]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _plain(action: DeclaredAction | Action) -> dict[str, Any]:
    return {name: _value(getattr(action, name)) for name in FIELDS}
