"""A line of sight as text for people (rich markup, user text escaped) and JSON for programs."""

from __future__ import annotations

import json

from rich.markup import escape

from lineofsight.domain import model as m
from lineofsight.engine.trace import MISSION, ItemKind, PathEnd, TracePath
from lineofsight.services.shapes import trace_plain
from lineofsight.services.trace import TraceResult


def trace_json(result: TraceResult) -> str:
    """`{"id", "kind", "paths": [[id, ..., "mission"]], "ends", "truncated"}`."""
    return json.dumps(trace_plain(result.trace), indent=2, ensure_ascii=False) + "\n"


def trace_text(result: TraceResult) -> list[str]:
    """A header line, then one line per path, each ending at the mission or saying why not."""
    names = _Names(result.org)
    trace = result.trace
    lines = [f"Line of sight from {names.header(trace.id, trace.kind)}: {_summary(trace.paths)}"]
    for path in trace.paths:
        above = path.ids[1:-1] if path.reaches_mission else path.ids[1:]
        steps = [names.first(path.ids[0], trace.kind)] + [names.step(i) for i in above]
        if path.reaches_mission:
            steps.append(names.mission_step())
        line = "  " + " -> ".join(steps)
        if path.end is PathEnd.CYCLE:
            back = escape(path.repeats or "?")
            line += f" [red](cycle: leads back to {back}; does not reach the mission)[/]"
        elif path.end is PathEnd.DANGLING:
            owns_nothing = trace.kind is ItemKind.PERSON and len(path.ids) == 1
            why = "owns no KPI or objective; " if owns_nothing else ""
            line += f" [yellow]({why}does not reach the mission)[/]"
        lines.append(line)
    if trace.truncated:
        lines.append(f"[yellow]Only the first {len(trace.paths):,} paths are shown.[/]")
    return lines


def _summary(paths: tuple[TracePath, ...]) -> str:
    total = len(paths)
    reach = sum(p.reaches_mission for p in paths)
    noun = "path" if total == 1 else "paths"
    if reach == total:
        return f"{total} {noun} to the mission"
    if reach == 0:
        return f"{total} {noun}, none reaches the mission"
    miss = total - reach
    reaches = "reaches" if reach == 1 else "reach"
    does = "does" if miss == 1 else "do"
    return f"{total} {noun}, {reach} {reaches} the mission, {miss} {does} not"


class _Names:
    """How each id reads in a path: its kind, and a name, title or unit to recognise it by.

    An objective's title and the mission's text are shown where they first appear; later
    lines name them by id only, so that every path stays one readable line."""

    def __init__(self, org: m.Organization) -> None:
        self.kpis = {k.id: k for k in org.kpis}
        self.objectives = {o.id: o for o in org.objectives}
        self.people = {p.id: p for p in org.people}
        self.units = {u.id: u.name for u in org.units}
        self.mission = org.strategy.mission
        self.shown: set[str] = set()
        self.mission_shown = False

    def _unit(self, unit_id: str) -> str:
        return escape(self.units.get(unit_id, unit_id))

    def header(self, item_id: str, kind: ItemKind) -> str:
        """`KPI nps "Net Promoter Score" (Customer Service)`."""
        if kind is ItemKind.KPI:
            kpi = self.kpis[item_id]
            return f'KPI {escape(item_id)} "{escape(kpi.name)}" ({self._unit(kpi.unit)})'
        if kind is ItemKind.OBJECTIVE:
            obj = self.objectives[item_id]
            return f'objective {escape(item_id)} "{escape(obj.title)}" ({self._unit(obj.unit)})'
        person = self.people[item_id]
        return f"person {escape(item_id)} ({escape(person.name)}, {self._unit(person.unit)})"

    def first(self, item_id: str, kind: ItemKind) -> str:
        """The traced item opens each path with its kind and unit: `nps (KPI, Customer Service)`."""
        if kind is ItemKind.KPI:
            what, unit = "KPI", self.kpis[item_id].unit
        elif kind is ItemKind.OBJECTIVE:
            what, unit = "objective", self.objectives[item_id].unit
        else:
            what, unit = "person", self.people[item_id].unit
        return f"[bold]{escape(item_id)}[/] ({what}, {self._unit(unit)})"

    def step(self, item_id: str) -> str:
        """A later step: `nps (KPI)`, `grow (objective: Grow market share)` the first time."""
        objective = self.objectives.get(item_id)
        if objective is None:
            return f"{escape(item_id)} (KPI)"
        if item_id in self.shown:
            return f"{escape(item_id)} (objective)"
        self.shown.add(item_id)
        return f"{escape(item_id)} (objective: {escape(objective.title)})"

    def mission_step(self) -> str:
        """The end of the line: `mission: We help small businesses …` the first time."""
        if not self.mission:
            return f"[green]{MISSION}[/] (no mission statement written)"
        if self.mission_shown:
            return f"[green]{MISSION}[/]"
        self.mission_shown = True
        return f"[green]{MISSION}[/]: {escape(' '.join(self.mission.split()))}"
