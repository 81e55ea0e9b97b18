"""The heatmap: the units below a unit (rows) against that unit's objectives or KPIs
(columns), each cell in the colour of its worst status with the counts written in it.

    /heatmap   ?unit= (default: the top unit the reader may see), ?by=objectives|kpis, ?period=

By objectives, a cell holds what a unit (and the units below it) does towards an objective:
the objectives below it that the unit owns and the KPIs that measure them. By KPIs, a cell is
the KPI's result at that unit (a KPI reported per unit: revenue by region).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from lineofsight.services.accounts import Account
from lineofsight.web.findlists import scope_roots
from lineofsight.web.pagedata import Row, Snapshot, cached_fragment, unit_choices
from lineofsight.web.pagekit import (
    cache_of,
    may_read,
    page_view,
    readable,
    recent_periods,
    requested_choice,
    requested_unit,
    seer,
)
from lineofsight.web.security import page_account
from lineofsight.web.templating import render, templates

router = APIRouter()

# Past this many columns a heatmap stops being read at a glance: the worst ones are kept.
MAX_COLUMNS = 40
_WORST = ("red", "amber", "no_data", "green", "no_target")


@dataclass
class Cell:
    """The statuses of a cell's items, and where to look at them."""

    counts: dict[str, int] = field(default_factory=dict)
    href: str = ""

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1

    @property
    def status(self) -> str:
        """The worst status among the items ("" for an empty cell)."""
        return next((s for s in _WORST if self.counts.get(s)), "")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _row_of(snap: Snapshot, rows: list[str], top: str) -> dict[str, str]:
    """Each unit of `top`'s subtree mapped to the heatmap row it counts in (the row unit
    above it; `top` itself for its own items)."""
    found = {u: r for r in rows if r != top for u in snap.subtree(r)}
    found[top] = top
    return found


def _descendants(snap: Snapshot, objective_id: str) -> list[str]:
    found, todo, seen = [], [objective_id], {objective_id}
    while todo:
        current = todo.pop()
        found.append(current)
        for child in snap.child_objectives.get(current, ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return found


def by_objectives(
    snap: Snapshot, top: str, rows: list[str], columns: list[str]
) -> dict[tuple[str, str], Cell]:
    """For each row unit and column objective: the objectives below the column (itself
    included) that the row's units own, and the KPIs of the row's units that measure them."""
    row_of = _row_of(snap, rows, top)
    cells: dict[tuple[str, str], Cell] = {}
    for column in columns:
        for objective_id in _descendants(snap, column):
            objective = snap.objectives[objective_id]
            if objective_id != column and objective.unit in row_of:
                found = snap.objective_rows.get(objective_id)
                cell = cells.setdefault((row_of[objective.unit], column), Cell())
                cell.add(found.status if found else "no_data")
            for kpi_id in snap.supporters.get(objective_id, ()):
                kpi_row = snap.kpi_row(kpi_id)
                if kpi_row is not None and (kpi_row.unit or "") in row_of:
                    cells.setdefault((row_of[kpi_row.unit or ""], column), Cell()).add(
                        kpi_row.status
                    )
    return cells


def by_kpis(snap: Snapshot, rows: list[str]) -> tuple[list[str], dict[tuple[str, str], Row]]:
    """The KPIs scored at more than one of the row units (or at any, when none is shared),
    worst first, and their result at each row unit."""
    found: dict[tuple[str, str], Row] = {}
    at: dict[str, int] = {}
    for unit in rows:
        for r in snap.rows_by_unit.get(unit, ()):
            found[(unit, r.id)] = r
            at[r.id] = at.get(r.id, 0) + 1
    shared = [k for k, n in at.items() if n > 1] or list(at)

    def badness(kpi_id: str) -> tuple[int, int, str]:
        statuses = [found[(u, kpi_id)].status for u in rows if (u, kpi_id) in found]
        return (-statuses.count("red"), -statuses.count("amber"), snap.kpis[kpi_id].name)

    return sorted(shared, key=badness), found


def _worst_first(snap: Snapshot, columns: Iterable[str]) -> list[str]:
    def badness(objective_id: str) -> tuple[int, str]:
        found = snap.objective_rows.get(objective_id)
        status = found.status if found else "no_data"
        return (
            _WORST.index(status) if status in _WORST else 9,
            snap.objectives[objective_id].title,
        )

    return sorted(columns, key=badness)


@router.get("/heatmap", response_class=HTMLResponse, include_in_schema=False)
def heatmap(
    request: Request,
    unit: str | None = None,
    by: str = "objectives",
    period: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    when, snap = page_view(request, period)
    units = readable(account, snap)
    by = requested_choice("by", by, ("objectives", "kpis"))
    unit = requested_unit(snap, unit, "", units) or None
    tops = scope_roots(snap, units) if units is not None else list(snap.child_units.get(None, ()))
    top = unit or (tops[0] if tops else None)
    scope = frozenset(units) if units is not None else None

    def draw() -> Markup:
        context: dict[str, Any] = {
            "snap": snap,
            "when": when,
            "top": top,
            "by": by,
            "unit_choices": unit_choices(snap, units, top),
            "periods": recent_periods(snap.org.calendar),
            "see": seer(snap, units),
        }
        if top is not None:
            rows = [top] + [c for c in snap.child_units.get(top, ()) if may_read(units, c)]
            context["rows"] = rows
            if by == "kpis":
                columns, found = by_kpis(snap, rows)
                context["columns"] = columns[:MAX_COLUMNS]
                context["kpi_cells"] = found
                context["more"] = max(0, len(columns) - MAX_COLUMNS)
            else:
                mine = snap.objectives_by_unit.get(top, [])
                if not mine:  # a unit with no objectives of its own: those it works towards
                    mine = [o for o in snap.objectives if snap.objectives[o].unit in rows]
                columns = _worst_first(snap, mine)
                context["columns"] = columns[:MAX_COLUMNS]
                context["cells"] = by_objectives(snap, top, rows, context["columns"])
                context["more"] = max(0, len(columns) - MAX_COLUMNS)
        return Markup(templates.get_template("heatmap_body.html").render(context))

    key = ("heatmap", snap.version, when.as_of, when.label, top, by, scope)
    body = cached_fragment(cache_of(request), key, draw)
    return render(request, "heatmap.html", body=body)
