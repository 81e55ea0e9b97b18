"""Checks of a strategy file's `actions:` that look beyond one field: the KPI, objective and
owner each action names, and ids unique among the actions.

Part of `validate`, which collects their problems with every other.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineofsight.spec.validate import Collector

Ref = Callable[[tuple[Hashable, ...], str, str | None, str], None]


def check_actions(raw: Any, ref: Ref, out: Collector) -> None:
    """Every action's subject and owner exist, and no two actions share an id (checked on
    what the file holds, so that a malformed action elsewhere hides no problem here)."""
    seen: set[str] = set()
    for i, action in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(action, dict):
            continue
        name = action.get("id")
        what = f"action {name}" if isinstance(name, str) else "action"
        for kind in ("kpi", "objective"):
            if isinstance(action.get(kind), str):
                ref(("actions", i, kind), f"{what}: {kind}", action[kind], kind)
        if isinstance(action.get("owner"), str):
            ref(("actions", i, "owner"), f"{what}: owner", action["owner"], "person")
        if isinstance(name, str):
            if name in seen:
                out.add(("actions", i, "id"), f"duplicate action id '{name}'")
            seen.add(name)
