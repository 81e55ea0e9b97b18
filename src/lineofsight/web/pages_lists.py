"""The lists behind the status boxes and counts: red, amber, overdue, off track (and the
other statuses) across what the reader may see, optionally within one unit's subtree.

    /lists/{kind}   kind: red | amber | overdue | off-track | green | no_data | awaiting |
                    no_target
                    (?unit=, ?period=)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from lineofsight.services.accounts import Account
from lineofsight.web.findlists import (
    LISTS,
    counts,
    in_scope,
    scope_of,
    scope_sentence,
    status_index,
)
from lineofsight.web.pagedata import Row, Snapshot, cached_fragment, unit_choices
from lineofsight.web.pagekit import (
    Moment,
    cache_of,
    due_view,
    not_found,
    page_view,
    readable,
    recent_periods,
    requested_unit,
    seer,
    store_of,
)
from lineofsight.web.security import page_account
from lineofsight.web.templating import render, templates

router = APIRouter()

# Rows drawn on one page; the count above says how many there are in all.
SHOWN = 500


def _off_track(request: Request, snap: Snapshot, when: Moment, units: set[str] | None) -> Any:
    """The KPIs the engine's forecast calls off track (at their own units) within `units`:
    the whole organisation's calls are kept in the store once made; a scope asks only for
    its own KPIs."""
    from lineofsight.services.attention_forecast import off_track

    scope = frozenset(units) if units is not None else None

    def make() -> list[tuple[Row, Any]]:
        asked = None if units is None else [k.id for k in snap.org.kpis if k.unit in units]
        calls = off_track(store_of(request), when.as_of, asked, snap.org)
        found = []
        for call in calls.iter_rows(named=True):
            row = snap.kpi_row(call["id"])
            if row is not None and (units is None or (row.unit or "") in units):
                found.append((row, call))
        found.sort(key=lambda rc: (rc[0].unit or "", snap.kpis[rc[0].id].name.lower()))
        return found

    key = ("off-track", snap.version, when.as_of, when.label, scope)
    return cached_fragment(cache_of(request), key, make)


@router.get("/lists/{kind}", response_class=HTMLResponse, include_in_schema=False)
def status_list(
    request: Request,
    kind: str,
    unit: str | None = None,
    period: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    if kind not in LISTS:
        raise not_found("list", kind)
    when, snap = page_view(request, period)
    units = readable(account, snap)
    subtree = None
    unit = requested_unit(snap, unit, "", units) or None
    if unit:
        subtree = snap.subtree(unit)
    scope = scope_of(units, subtree)
    # Everything kept is fetched before drawing: a kept fragment must not ask for another
    # while it is made (the cache makes one thing at a time).
    off_track = _off_track(request, snap, when, scope) if kind == "off-track" else []
    due = due_view(request, when, snap)
    index = status_index(cache_of(request), snap, when.label, due)
    what = LISTS[kind][0].lower() + LISTS[kind][1:]
    found = counts(cache_of(request), snap, when.label, scope, due)

    def draw() -> Markup:
        if kind == "off-track":
            rows = [row for row, _ in off_track]
            calls = {row.id: call for row, call in off_track}
        else:
            rows, calls = in_scope(index.groups[kind], scope), {}
        context = {
            "snap": snap,
            "when": when,
            "kind": kind,
            "heading": LISTS[kind],
            "rows": rows[:SHOWN],
            "total": len(rows),
            "calls": calls,
            "counts": found,
            "unit": unit or "",
            "unit_choices": unit_choices(snap, units, unit),
            "empty_scope": scope_sentence(snap, units, what),
            "periods": recent_periods(snap.org.calendar),
            "see": seer(snap, units),
        }
        return Markup(templates.get_template("list_body.html").render(context))

    # A list of thousands of rows is drawn once per revision, date, list, unit and scope.
    readers = frozenset(units) if units is not None else None
    key = ("list", snap.version, when.as_of, when.label, kind, unit, readers)
    body = cached_fragment(cache_of(request), key, draw)
    return render(request, "list.html", heading=LISTS[kind], body=body)
