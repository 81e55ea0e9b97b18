"""The `actions:` section of a strategy file written from the domain objects (`los export`)."""

from __future__ import annotations

from typing import Any

from lineofsight.domain.actions import DeclaredAction

Plain = dict[str, Any]


def action_to_plain(action: DeclaredAction) -> Plain:
    """One action in the file's form, keys in the documented order, unset ones left out."""
    plain: Plain = {"id": action.key, action.subject_type: action.subject_id}
    plain["title"] = action.title
    if action.owner is not None:
        plain["owner"] = action.owner
    if action.due is not None:
        plain["due"] = action.due
    if action.status is not None:
        plain["status"] = action.status
    if action.milestones:
        plain["milestones"] = [
            {"title": step.title, **({"due": step.due} if step.due else {}), "done": step.done}
            for step in action.milestones
        ]
    return plain


def actions_to_plain(actions: tuple[DeclaredAction, ...] | None) -> list[Plain] | None:
    """The `actions:` section (None when there is none)."""
    return [action_to_plain(a) for a in actions or ()] or None
