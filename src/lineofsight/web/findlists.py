"""Finding the red: the KPI rows of a snapshot by status (and overdue), counted and listed
within what a reader may see, and the sentence that says when a list is empty because of
the reader's scope.

The rows are those `los status` lists: one per KPI and unit it is scored at. The index is
built once per snapshot and kept with the page fragments, so a list or a count costs a walk
over the rows of one status (or of one unit's subtree), never over the whole organisation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from lineofsight.services.scorecards import ScorecardCache
from lineofsight.web.pagedata import STATUSES, Row, Snapshot, cached_fragment

# The lists a status box or count links to, with their headings.
LISTS: dict[str, str] = {
    "red": "Red KPIs",
    "amber": "Amber KPIs",
    "overdue": "Overdue values",
    "off-track": "KPIs off track by forecast",
    "green": "Green KPIs",
    "no_data": "KPIs without data",
    "awaiting": "KPI results awaiting values not due yet",
    "no_target": "KPIs without a target",
}


@dataclass(frozen=True, slots=True)
class StatusIndex:
    """A snapshot's KPI rows grouped by status (and `awaiting`, `overdue`), each group sorted
    by unit then KPI name; `awaiting_due` the last day an awaited value falls due (None: none
    awaited)."""

    groups: dict[str, tuple[Row, ...]]
    awaiting_due: dt.date | None = None


def status_index(
    cache: ScorecardCache, snap: Snapshot, label: str, due: Snapshot | None = None
) -> StatusIndex:
    """The snapshot's rows by status, kept per snapshot (revision, date and period `label`).

    A result of a period that has ended whose value is not due yet is *awaiting*, not without
    data (SPEC section 3): it is listed as such. The values overdue are those of `due` (the
    scorecard as of the day a page's period is read at, `pagekit.due_view`; else `snap`)."""
    due = snap if due is None else due

    def build() -> StatusIndex:
        groups: dict[str, list[Row]] = {key: [] for key in (*STATUSES, "awaiting", "overdue")}
        for row in snap.kpi_rows.values():
            groups.setdefault(_group(row), []).append(row)
        for row in due.kpi_rows.values():
            if row.data == "overdue":
                groups["overdue"].append(row)

        def order(row: Row) -> tuple[str, str]:
            return (row.unit or "", snap.kpis[row.id].name.lower())

        last = max((r.due for r in groups["awaiting"] if r.due), default=None)
        return StatusIndex(
            {key: tuple(sorted(rows, key=order)) for key, rows in groups.items()}, last
        )

    key = ("status-index", snap.version, snap.as_of, label, due.version, due.as_of)
    return cached_fragment(cache, key, build)


def _group(row: Row) -> str:
    """The box a KPI result is counted in: its status, or awaiting."""
    return "awaiting" if row.data == "awaiting" else row.status


def in_scope(rows: Iterable[Row], units: Collection[str] | None) -> list[Row]:
    """The rows at units in `units` (None: every row)."""
    if units is None:
        return list(rows)
    return [r for r in rows if (r.unit or "") in units]


def scope_of(readable: set[str] | None, unit_subtree: set[str] | None) -> set[str] | None:
    """The units a list or count covers: the reader's units cut to a unit's subtree."""
    if readable is None:
        return unit_subtree
    if unit_subtree is None:
        return readable
    return readable & unit_subtree


def counts(
    cache: ScorecardCache,
    snap: Snapshot,
    label: str,
    units: set[str] | None,
    due: Snapshot | None = None,
) -> dict[str, int]:
    """How many KPI rows have each status (or await their values, or are overdue in `due`:
    see `status_index`) within `units` (None: all), kept per snapshot and scope; `results` is
    the rows (one per KPI and unit it is scored at, as `los status` lists them) and `kpis` the
    KPIs they are of, so that a page can say what it counts; `awaiting_due` the last day an
    awaited value falls due (None: none awaited). (Never called while a kept fragment is being
    made: the cache makes one thing at a time.)"""
    due = snap if due is None else due
    index = status_index(cache, snap, label, due)
    if units is None:
        found: dict[str, Any] = {key: len(rows) for key, rows in index.groups.items()}
        return {
            **found,
            "results": len(snap.kpi_rows),
            "kpis": len(snap.kpi_units),
            "awaiting_due": index.awaiting_due,
        }

    def count() -> dict[str, Any]:
        found: dict[str, Any] = dict.fromkeys(index.groups, 0)
        kpis: set[str] = set()
        results = 0
        last: dt.date | None = None
        for unit in units:
            for row in snap.rows_by_unit.get(unit, ()):
                group = _group(row)
                found[group] = found.get(group, 0) + 1
                if group == "awaiting" and row.due is not None:
                    last = row.due if last is None else max(last, row.due)
                kpis.add(row.id)
                results += 1
            for row in due.rows_by_unit.get(unit, ()):
                if row.data == "overdue":
                    found["overdue"] += 1
        return {**found, "results": results, "kpis": len(kpis), "awaiting_due": last}

    scope = frozenset(units)
    key = ("status-counts", snap.version, snap.as_of, label, due.version, due.as_of, scope)
    return cached_fragment(cache, key, count)


def scope_roots(snap: Snapshot, readable: set[str]) -> list[str]:
    """The top units of a reader's scope (those whose parent the reader may not read)."""
    return [
        u.id
        for u in snap.org.units
        if u.id in readable and (u.parent is None or u.parent not in readable)
    ]


def scope_note(snap: Snapshot, readable: set[str] | None) -> str:
    """What a scoped reader sees, for beside a list that may be short because of it: "You see
    Customer Experience and the units below it only." Empty for a reader who sees all."""
    if readable is None:
        return ""
    roots = scope_roots(snap, readable)
    if not roots:
        return "You may see no unit."
    names = ", ".join(snap.name("unit", u) for u in roots)
    below = "the units below it" if len(roots) == 1 else "the units below them"
    return f"You see {names} and {below} only."


def scope_sentence(snap: Snapshot, readable: set[str] | None, what: str) -> str:
    """Why a list may be empty for a scoped reader: "No red KPIs in the units you may see
    (Customer Experience and the units below it); other units are not shown to you."
    Empty for a reader who sees everything."""
    if readable is None:
        return ""
    roots = scope_roots(snap, readable)
    if not roots:
        return f"You may see no unit, so no {what} are shown to you."
    names = ", ".join(snap.name("unit", u) for u in roots)
    below = "the units below it" if len(roots) == 1 else "the units below them"
    return (
        f"No {what} in the units you may see ({names} and {below}); "
        "other units are not shown to you."
    )
