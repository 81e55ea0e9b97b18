"""The line of sight: every path up the cascade from a KPI, an objective or a person to the
mission.

The links up, in the order they are written in the strategy file:

- a KPI: each objective it `supports`, each KPI it `contributes_to`, then each formula KPI
  whose formula reads it (in file order of the formula KPIs);
- an objective: its `parent`; an objective without a parent: the mission;
- a person: each objective, then each KPI, that they own (the person starts every path).

A path ends at the mission, or where nothing leads further up (dangling), or just before it
would repeat an id (a cycle). Links to ids the organisation does not hold are not followed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from lineofsight.domain import model as m
from lineofsight.domain.graph import organisation_graph

__all__ = ["MAX_PATHS", "MISSION", "ItemKind", "PathEnd", "Trace", "TracePath", "trace"]

MISSION = "mission"

# Above a top objective: never an id (ids are non-empty), so an objective may even be called
# "mission" without being taken for the end of the line.
_TOP = ""

# Diamonds multiply paths; a cascade that a person reads has far fewer than this. The bound
# keeps a pathological store (long chains of diamonds) from running away.
MAX_PATHS = 10_000


class ItemKind(StrEnum):
    """What a traced id names."""

    KPI = "kpi"
    OBJECTIVE = "objective"
    PERSON = "person"


class PathEnd(StrEnum):
    """How a path ends."""

    MISSION = "mission"  # it reaches the mission
    DANGLING = "dangling"  # nothing leads further up from its last id
    CYCLE = "cycle"  # the next step would repeat an id already on the path


@dataclass(frozen=True, slots=True)
class TracePath:
    """One path up: ids from the traced item upwards, with `MISSION` last when it gets there."""

    ids: tuple[str, ...]
    end: PathEnd
    repeats: str | None = None  # for a cycle: the id the next step would repeat

    @property
    def reaches_mission(self) -> bool:
        return self.end is PathEnd.MISSION


@dataclass(frozen=True, slots=True)
class Trace:
    """Every path up from one item, in a stable order and without duplicates."""

    id: str
    kind: ItemKind
    paths: tuple[TracePath, ...]
    truncated: bool = False  # more than `limit` paths: only the first `limit` are kept


class _Cascade:
    """The links up from each KPI and objective, as the trace follows them."""

    def __init__(self, org: m.Organization) -> None:
        # The organisation's graph is made once per organisation and shared: a trace of one
        # KPI looks up its links instead of indexing 100,000 KPIs again. (A formula that does
        # not parse, never in a validated file but possible in a store, reads nothing.)
        graph = organisation_graph(org)
        self.kpis = graph.kpis
        self.objectives = graph.objectives
        self.formula_users: Mapping[str, list[str]] = graph.formula_users

    def ups(self, item_id: str) -> list[str]:
        """The ids directly above an item (`_TOP` above a top objective), each once."""
        kpi = self.kpis.get(item_id)
        if kpi is not None:
            above = [s.objective for s in kpi.supports if s.objective in self.objectives]
            above += [c.kpi for c in kpi.contributes_to if c.kpi in self.kpis]
            above += self.formula_users.get(item_id, ())
            return list(dict.fromkeys(above))
        objective = self.objectives.get(item_id)
        if objective is None:
            return []
        if objective.parent is None:
            return [_TOP]
        return [objective.parent] if objective.parent in self.objectives else []


def trace(org: m.Organization, item_id: str, *, limit: int = MAX_PATHS) -> Trace | None:
    """The line of sight from a KPI, an objective or a person; None when the organisation
    has no KPI, objective or person with that id."""
    cascade = _Cascade(org)
    if item_id in cascade.kpis:
        kind, starts = ItemKind.KPI, [item_id]
    elif item_id in cascade.objectives:
        kind, starts = ItemKind.OBJECTIVE, [item_id]
    elif any(p.id == item_id for p in org.people):
        kind = ItemKind.PERSON
        starts = [o.id for o in org.objectives if o.owner == item_id]
        starts += [k.id for k in org.kpis if k.owner == item_id]
    else:
        return None
    prefix = (item_id,) if kind is ItemKind.PERSON else ()
    paths, truncated = _walk(cascade, [(*prefix, start) for start in starts], limit)
    if kind is ItemKind.PERSON and not starts:
        paths = [TracePath((item_id,), PathEnd.DANGLING)]
    return Trace(item_id, kind, tuple(paths), truncated)


# A step of the walk: a path still to extend (end None), or a finished one with its end.
_Step = tuple[tuple[str, ...], PathEnd | None, str | None]


def _walk(
    cascade: _Cascade, starts: Sequence[tuple[str, ...]], limit: int
) -> tuple[list[TracePath], bool]:
    """Depth first, links in file order; an explicit stack, so a long chain cannot overflow."""
    found: list[TracePath] = []
    seen: set[tuple[str, ...]] = set()
    stack: list[_Step] = [(start, None, None) for start in reversed(starts)]
    while stack:
        path, end, repeats = stack.pop()
        if end is not None:
            if path not in seen:
                if len(found) == limit:
                    return found, True
                seen.add(path)
                found.append(TracePath(path, end, repeats))
            continue
        ups = cascade.ups(path[-1])
        if not ups:
            stack.append((path, PathEnd.DANGLING, None))
            continue
        on_path = set(path)
        steps: list[_Step] = []
        for up in ups:
            if up == _TOP:
                steps.append(((*path, MISSION), PathEnd.MISSION, None))
            elif up in on_path:
                steps.append((path, PathEnd.CYCLE, up))
            else:
                steps.append(((*path, up), None, None))
        stack.extend(reversed(steps))
    return found, False
