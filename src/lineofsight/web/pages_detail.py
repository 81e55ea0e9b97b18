"""The pages about one thing: a unit's scorecard, a KPI, a person's KPIs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from lineofsight.domain.sources import fed_by_source
from lineofsight.engine.trace import MISSION, trace
from lineofsight.errors import InputError
from lineofsight.services.accounts import Account
from lineofsight.services.kpi_series import (
    KpiChart,
    PageReads,
    chart_values,
    held_ends,
    kpi_chart,
    log_entries,
    page_reads,
    recent_values,
)
from lineofsight.services.permissions import HIDDEN, visible_explanation
from lineofsight.services.sources import kpi_source
from lineofsight.store.database import Store
from lineofsight.web.findlists import counts, scope_note, scope_of
from lineofsight.web.kpi_view import (
    change_chart,
    fallback_charts,
    kept_block,
    log_body,
    options,
    points_body,
    readable_period,
    thresholds,
)
from lineofsight.web.pagedata import Snapshot, cached_fragment, item_fragment
from lineofsight.web.pagekit import (
    Moment,
    cache_of,
    can,
    due_view,
    keep_period,
    not_found,
    page_snapshot,
    page_view,
    readable,
    readable_unit,
    recent_periods,
    requested_unit,
    require_seen,
    seer,
    store_of,
    today,
    visible_org,
)
from lineofsight.web.pages_edit import edit_path
from lineofsight.web.security import page_account
from lineofsight.web.sparklines import sparkline
from lineofsight.web.templating import render, templates

router = APIRouter()


@router.get("/units/{unit_id}", response_class=HTMLResponse, include_in_schema=False)
def unit_page(
    request: Request,
    unit_id: str,
    period: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    store = store_of(request)
    when, snap = page_view(request, period)
    units = readable(account, snap)
    readable_unit(snap, unit_id, units)
    unit = snap.units[unit_id]
    scope = frozenset(units) if units is not None else None
    subtree = snap.subtree(unit_id)
    found = counts(
        cache_of(request), snap, when.label, scope_of(units, subtree), due_view(request, when, snap)
    )

    def draw() -> Markup:
        context = _unit_context(store, snap, unit_id, when)
        context["see"] = seer(snap, units)
        context["counts"] = found
        return Markup(templates.get_template("unit_body.html").render(context))

    # The scorecard is the same for everyone with the same scope: kept per revision, date and
    # scope, so a request costs the permission check and the page frame. (Links to what lies
    # outside the reader's units are drawn as plain names.)
    body = cached_fragment(
        cache_of(request), ("unit", snap.version, when.as_of, when.label, unit_id, scope), draw
    )
    return render(
        request,
        "unit.html",
        unit=unit,
        body=body,
        edit_path=edit_path(request, account, snap, "unit", unit_id),
    )


def _unit_context(store: Store, snap: Snapshot, unit_id: str, when: Moment) -> dict[str, Any]:
    rows = sorted(
        snap.rows_by_unit.get(unit_id, ()),
        key=lambda r: (not r.own_unit, snap.kpis[r.id].name.lower()),
    )
    series = recent_values(store, snap.org, [r.id for r in rows], unit_id, when.as_of)
    return {
        "snap": snap,
        "when": when,
        "unit": snap.units[unit_id],
        "unit_row": snap.unit_rows.get(unit_id),
        "ancestors": snap.ancestors(unit_id),
        "rows": rows,
        "sparks": {kpi_id: sparkline(points) for kpi_id, points in series.items()},
        "children": [
            (snap.units[c], snap.unit_rows.get(c)) for c in snap.child_units.get(unit_id, ())
        ],
        "objectives": [
            (snap.objectives[o], snap.objective_rows.get(o))
            for o in snap.objectives_by_unit.get(unit_id, ())
        ],
        "periods": recent_periods(snap.org.calendar),
    }


def _default_change(chart: KpiChart) -> tuple[str, str]:
    measured = [p.period for p in chart.points if p.actual is not None]
    if len(measured) < 2:
        return "", ""
    return measured[-2], measured[-1]


def not_scored(
    snap: Snapshot, kpi: Any, unit: str, readable_by: Callable[[str], bool]
) -> HTTPException:
    """404 for a KPI asked for at a unit where the scorecard has no row of it, saying where
    it is scored (at the units the reader may read)."""
    units = [u for u in snap.kpi_units.get(kpi.id, []) if u != unit and readable_by(u)]
    where = ", ".join(f"'{u}'" for u in units) or "no unit you may read"
    return HTTPException(
        status_code=404,
        detail=f"KPI '{kpi.id}' has no row at unit '{unit}' as of {snap.as_of.isoformat()} "
        f"(a unit other than its own has one where it has values or a unit target); as of "
        f"then its rows are at {where}",
    )


@router.get("/kpis/{kpi_id}", response_class=HTMLResponse, include_in_schema=False)
def kpi_page(
    request: Request, kpi_id: str, account: Account = Depends(page_account)
) -> HTMLResponse:
    # The query's optional texts (unit, period, from_period, to_period, saved) taken as they
    # come, the last of a repeated one, as FastAPI takes a declared one: its checks of five
    # parameters that cannot fail cost more than a first visit's reads of them.
    query = request.query_params
    unit, period, from_period, to_period, saved = (
        query.get(name) for name in ("unit", "period", "from_period", "to_period", "saved")
    )
    store = store_of(request)
    cache = cache_of(request)
    when, snap = page_view(request, period)
    kpi = snap.kpis.get(kpi_id)
    if kpi is None:
        raise not_found("KPI", kpi_id)
    at = requested_unit(snap, unit, kpi.unit, readable(account, snap))
    read: list[PageReads] = []

    def reads() -> PageReads:
        """The KPI's measurements (and its inputs') with its log, in one snapshot, and its
        kept forecast, read once per request in one connection, for what the page makes of
        them (its kept parts)."""
        if not read:
            # The last days held: the same for every KPI's page until the values change.
            ends = cached_fragment(cache, ("held-ends", snap.version), lambda: held_ends(store))
            read.append(page_reads(store, snap.org, kpi_id, ends, at, when.as_of))
        return read[0]

    def rows() -> Any:
        return reads().rows

    row = snap.kpi_row(kpi_id, at)
    reads_at = can(account, "read", snap, at)
    # A KPI with values at another unit than its own, looked at a period without a row
    # there (a link from its history or from another period): the unit's page, saying so.
    elsewhere = (
        held_at(rows(), at, when.as_of) if row is None and at != kpi.unit and reads_at else None
    )
    # A KPI of another unit is shown at a unit the account reads only where it has a row
    # there (values or a unit target of that unit): that row is the unit's own data.
    seen = can(account, "read", snap, kpi.unit) or (kpi_id, at) in snap.kpi_rows
    require_seen(reads_at and (seen or elsewhere is not None), "KPI", kpi_id)
    if row is None and at != kpi.unit and elsewhere is None:
        # Never its page "now (no period)" at a unit it has no value at, as if it had.
        raise not_scored(snap, kpi, at, lambda u: can(account, "read", snap, u))

    def measured() -> Any:
        """The rows the chart and the explanation of a change take their values from."""
        return rows().measurements

    tables: list[Any] = []

    def chart_table() -> Any:
        """The values the chart is drawn from (kept for the explanation of this request)."""
        tables.append(chart_values(snap.org, measured(), when.as_of))
        return tables[0]

    chart = item_fragment(
        cache,
        ("chart", snap.version, when.as_of, kpi_id, at),
        lambda: kpi_chart(
            store, snap.org, kpi_id, at, when.as_of, chart_table(), kept=lambda: reads().forecast
        ),
    )
    default_from, default_to = _default_change(chart)
    p0, p1 = (from_period or default_from).strip(), (to_period or default_to).strip()
    units = readable(account, snap)
    see = seer(snap, units)

    def lower() -> dict[str, Any]:
        """What the page's lower half reads: drawn once per revision, date, KPI, unit,
        periods compared and scope (see kept_block)."""
        explanation, explain_error = None, None
        if p0 and p1:
            try:
                explanation = item_fragment(
                    cache,
                    ("explain", snap.version, kpi_id, at, p0, p1),
                    lambda: _explain(
                        store,
                        snap.org,
                        kpi_id,
                        p0,
                        p1,
                        at,
                        measured(),
                        tables[0] if tables else None,
                    ),
                )
            except InputError as exc:
                explain_error = exc.summary
        if explanation is not None:
            explanation = visible_explanation(explanation, see)
        entries = log_entries(rows())
        other_units = sorted(
            (
                snap.kpi_rows[(kpi_id, u)]
                for u in snap.kpi_units.get(kpi_id, ())
                if u != at and see("unit", u or "")
            ),
            key=lambda r: r.unit or "",
        )
        driven = [link.kpi for link in kpi.contributes_to if see("kpi", link.kpi)]
        driven += [
            k for k in snap.formula_users.get(kpi_id, ()) if k not in driven and see("kpi", k)
        ]
        choices = [p.period for p in chart.points if p.actual is not None][::-1]
        return {
            "points_body": points_body(chart, kpi.unit_of_measure),
            "chart_fallback": fallback_charts(chart, kpi.name, kpi.unit_of_measure or ""),
            "explanation": explanation,
            "explain_chart": (
                _both(partial(change_chart, _explain_data(snap, explanation)))
                if explanation is not None and explanation.contributions
                else None
            ),
            "explain_error": explain_error,
            "hidden": HIDDEN,
            "from_options": options(choices, p0),
            "to_options": options(choices, p1),
            "paths": _scoped_paths(request, snap, units, kpi_id),
            "mission": MISSION,
            "log_body": log_body([e for e in entries if e.unit == at]),
            "other_units": other_units,
            "drivers": [d for d in snap.feeders.get(kpi_id, []) if see("kpi", d)],
            "driven": driven,
        }

    scope = frozenset(units) if units is not None else None
    page: dict[str, Any] = {
        "snap": snap,
        "when": when,
        "kpi": kpi,
        "at": at,
        "chart": chart,
        "change_from": p0,
        "change_to": p1,
        "see": see,
    }
    return render(
        request,
        "kpi.html",
        **page,
        lower=kept_block(
            request,
            "kpi.html",
            "lower",
            ("kpi-lower", snap.version, when.as_of, when.label, kpi_id, at, p0, p1, scope),
            lambda: {**page, **lower()},
        ),
        row=row,
        thresholds=thresholds(kpi, row.target if row else None, chart.range_low, chart.range_high),
        forecast=chart.forecast,
        may_enter=can(account, "enter_data", snap, at, kpi.owner) and kpi.formula is None,
        source=kpi_source(store, kpi),
        edit_path=edit_path(request, account, snap, "kpi", kpi_id),
        saved=saved,
        periods=recent_periods(snap.org.calendar),
        elsewhere=elsewhere,
    )


def held_at(rows: Any, unit_id: str, as_of: dt.date) -> tuple[str | None, str | None] | None:
    """The periods with a value of the KPI (`rows`: its page rows) at this unit nearest to
    `as_of`: the last one ended by then and the first one after (None where there is none);
    None when the KPI has no value at the unit at any period."""
    ends = sorted((end, period) for unit, period, end, *_ in rows.values if unit == unit_id)
    if not ends:
        return None
    before = [period for end, period in ends if end <= as_of]
    after = [period for end, period in ends if end > as_of]
    return (before[-1] if before else None, after[0] if after else None)


def _both(draw: Callable[..., Markup]) -> Markup:
    """A chart drawn for a laptop and for a phone; los.css shows the one that fits the
    screen (a drawing shrunk to a phone's width has text too small to read)."""
    return draw(narrow=False) + draw(narrow=True)


def _explain_data(snap: Snapshot, explanation: Any) -> dict[str, Any]:
    """The waterfall's numbers: the first value, each contribution (named), the last value."""
    return {
        "from_label": explanation.from_period.label,
        "to_label": explanation.to_period.label,
        "from_name": readable_period(explanation.from_period.label),
        "to_name": readable_period(explanation.to_period.label),
        "from": explanation.from_value,
        "to": explanation.to_value,
        "items": [
            "Other units" if c.id == HIDDEN else snap.name(c.kind, c.id)
            for c in explanation.contributions
        ],
        "values": [c.contribution for c in explanation.contributions],
    }


def _explain(
    store: Any,
    org: Any,
    kpi_id: str,
    p0: str,
    p1: str,
    unit: str,
    frame: Any = None,
    table: Any = None,
) -> Any:
    from lineofsight.services.explain import explain_change

    found = explain_change(store, kpi_id, p0, p1, unit=unit, org=org, frame=frame, table=table)
    return found.explanation


def _scoped_paths(
    request: Request, snap: Snapshot, units: set[str] | None, item_id: str
) -> list[Any]:
    """Every path up from a KPI, objective or person (the engine's trace) within what the
    account may read: a path stops where the account's scope ends."""
    scope = frozenset(units) if units is not None else None

    def paths() -> list[Any]:
        found = trace(visible_org(snap, units), item_id)
        return [p for p in found.paths if p.ids] if found else []

    return item_fragment(cache_of(request), ("trace", snap.version, item_id, scope), paths)


def due_for_checkin(snap: Snapshot, kpi_ids: list[str]) -> list[tuple[str, str]]:
    """The owner's measured KPIs without a value for their latest period that has ended:
    (KPI id, period label)."""
    due = []
    for kpi_id in kpi_ids:
        kpi = snap.kpis[kpi_id]
        row = snap.kpi_row(kpi_id)
        if kpi.formula is None and row is not None and row.actual is None:
            due.append((kpi_id, row.period or ""))
    return due


@router.get("/people/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def person_page(
    request: Request,
    person_id: str,
    period: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    when, snap = page_view(request, period)
    person = snap.people.get(person_id)
    if person is None:
        raise not_found("person", person_id)
    own = account.person_id == person_id
    require_seen(own or can(account, "read", snap, person.unit), "person", person_id)
    # Only what lies in the account's units, even on one's own page: the person a user
    # acts as never widens what the user's roles let them read.
    units = readable(account, snap)
    see = seer(snap, units)
    kpi_ids = [k for k in snap.kpis_by_owner.get(person_id, []) if see("kpi", k)]
    # What is due is about now, whatever period the page is looked at.
    now = snap if when.as_of == today() else page_snapshot(request, today())
    return render(
        request,
        "person.html",
        snap=snap,
        when=when,
        person=person,
        own=own,
        kpi_ids=kpi_ids,
        objectives=[
            o for o in snap.org.objectives if o.owner == person_id and see("objective", o.id)
        ],
        see=see,
        due=due_for_checkin(now, kpi_ids),
        # A KPI fed by a source is not offered for a check-in: its refresh brings the value.
        may_enter={
            k: can(account, "enter_data", snap, snap.kpis[k].unit, snap.kpis[k].owner)
            and not fed_by_source(snap.kpis[k])
            for k in kpi_ids
        },
        paths=_scoped_paths(request, snap, units, person_id),
        edit_path=edit_path(request, account, snap, "person", person_id),
        hidden_kpis=len(snap.kpis_by_owner.get(person_id, [])) - len(kpi_ids),
        scope_note=scope_note(snap, units),
        mission=MISSION,
        periods=recent_periods(snap.org.calendar),
    )


@router.get("/me", include_in_schema=False)
def my_page(request: Request, account: Account = Depends(page_account)) -> Response:
    if account.person_id:
        return RedirectResponse(
            keep_period(request, f"/people/{account.person_id}"), status_code=303
        )
    return render(request, "me.html", today=dt.date.today())
