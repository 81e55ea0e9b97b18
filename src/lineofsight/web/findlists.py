"""Finding the red: the KPI rows of a snapshot by status (and overdue), counted and listed
within what a reader may see, and the sentence that says when a list is empty because of
the reader's scope.

The rows are those `los status` lists: one per KPI and unit it is scored at. The index is
built once per snapshot and kept with the page fragments, so a list or a count costs a walk
over the rows of one status (or of one unit's subtree), never over the whole organisation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

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
    "no_target": "KPIs without a target",
}


@dataclass(frozen=True, slots=True)
class StatusIndex:
    """A snapshot's KPI rows grouped by status (and `overdue`), each group sorted by unit
    then KPI name."""

    groups: dict[str, tuple[Row, ...]]


def status_index(cache: ScorecardCache, snap: Snapshot, label: str) -> StatusIndex:
    """The snapshot's rows by status, kept per snapshot (revision, date and period `label`)."""

    def build() -> StatusIndex:
        groups: dict[str, list[Row]] = {key: [] for key in (*STATUSES, "overdue")}
        for row in snap.kpi_rows.values():
            groups.setdefault(row.status, []).append(row)
            if row.data == "overdue":
                groups["overdue"].append(row)

        def order(row: Row) -> tuple[str, str]:
            return (row.unit or "", snap.kpis[row.id].name.lower())

        return StatusIndex({key: tuple(sorted(rows, key=order)) for key, rows in groups.items()})

    key = ("status-index", snap.version, snap.as_of, label)
    return cached_fragment(cache, key, build)


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
    cache: ScorecardCache, snap: Snapshot, label: str, units: set[str] | None
) -> dict[str, int]:
    """How many KPI rows have each status (and are overdue) within `units` (None: all), kept
    per snapshot and scope; `results` is the rows (one per KPI and unit it is scored at, as
    `los status` lists them) and `kpis` the KPIs they are of, so that a page can say what it
    counts. (Never called while a kept fragment is being made: the cache makes one thing at
    a time.)"""
    index = status_index(cache, snap, label)
    if units is None:
        found = {key: len(rows) for key, rows in index.groups.items()}
        return {**found, "results": len(snap.kpi_rows), "kpis": len(snap.kpi_units)}

    def count() -> dict[str, int]:
        found = dict.fromkeys(index.groups, 0)
        kpis: set[str] = set()
        results = 0
        for unit in units:
            for row in snap.rows_by_unit.get(unit, ()):
                found[row.status] = found.get(row.status, 0) + 1
                if row.data == "overdue":
                    found["overdue"] += 1
                kpis.add(row.id)
                results += 1
        return {**found, "results": results, "kpis": len(kpis)}

    key = ("status-counts", snap.version, snap.as_of, label, frozenset(units))
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
