"""Walks over the id graphs of the model: unit trees, links between KPIs."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def reachable(start: Iterable[str], next_of: Callable[[str], Iterable[str]]) -> set[str]:
    """Every id reachable from `start` (itself included) by following `next_of`; a cycle in a
    broken file ends the walk instead of looping."""
    found: set[str] = set()
    stack = list(start)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(next_of(current))
    return found


def children_of(pairs: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Each parent's children, from (child, parent) pairs in their order."""
    children: dict[str, list[str]] = {}
    for child, parent in pairs:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    return children
