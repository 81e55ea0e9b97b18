"""An owner's every due value on one page: one row per KPI of theirs whose period's value is
awaited or overdue, with its target, last value and due date; saved in one transaction
(all the values typed, or none when any is wrong, each problem next to its box)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from lineofsight.domain import model as m
from lineofsight.domain.graph import PerOrganisation
from lineofsight.domain.sources import fed_by_source
from lineofsight.errors import InputError, StoreBusy
from lineofsight.services import edit_approval
from lineofsight.services.accounts import Account
from lineofsight.services.attention_scope import Organisation, Scope
from lineofsight.services.checkin import CheckinEntry, CheckinResult, record_measurements
from lineofsight.store.database import Store
from lineofsight.web.pagedata import Snapshot
from lineofsight.web.pagekit import can, keep_period, page_snapshot, store_of, today
from lineofsight.web.pages_entry import (
    OVERDUE,
    CheckinFacts,
    checkin_facts,
    field_message,
    open_periods,
    read_number,
)
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()

FIELDS = ("period", "value", "numerator", "denominator", "note")


@dataclass(frozen=True)
class DueLine:
    """One missing value of a KPI of the owner (one KPI and period), as the page lists it."""

    index: int
    kpi: m.Kpi
    unit: str
    facts: CheckinFacts
    # `overdue`: the scorecard's period has no value and is due; `awaited`: a period that
    # has ended after the scorecard's has none yet and is not due (SPEC 3: it may come early).
    state: str = OVERDUE
    unit_name: str = ""

    @property
    def key(self) -> str:
        """What its boxes are named by: the KPI, unit and period, so that a form sent after the
        list changed (a value entered elsewhere, a period ended) still finds its own line."""
        return f"{self.kpi.id}:{self.unit}:{self.facts.period}"


def box_name(field: str, line: DueLine) -> str:
    """The form name of one box of a line (`value:calls:sales:2026-W18`)."""
    return f"{field}:{line.key}"


_ORGANISATIONS = PerOrganisation(Organisation.of_model)


def due_lines(store: Store, snap: Snapshot, account: Account) -> list[DueLine]:
    """Every value missing that the account's person is asked for and may enter: those of the
    rows their attention list holds (`services.attention_scope`: the KPIs they own, at every
    unit, and the units they lead), a line per KPI, unit and period, overdue or awaited (the
    periods the KPI's own check-in offers)."""
    lines: list[DueLine] = []
    if account.person_id is None:
        return lines
    for kpi, unit in _asked(snap, _ORGANISATIONS(snap.org).person_scope(account.person_id)):
        # A KPI fed by a source is not awaited from its owner: its refresh brings the value.
        if kpi.formula is not None or fed_by_source(kpi):
            continue
        if not can(account, "enter_data", snap, unit, kpi.owner):
            continue
        for period, state in open_periods(snap, kpi, unit):
            facts = checkin_facts(store, snap, kpi, unit, period)
            name = snap.name("unit", unit)
            lines.append(DueLine(len(lines), kpi, unit, facts, state, name))
    return lines


def _asked(snap: Snapshot, scope: Scope) -> list[tuple[m.Kpi, str]]:
    """The KPI rows of the snapshot that `scope` holds, in the strategy's order of KPIs, each
    KPI's own unit first: looked up by unit and by owner, not by a scan of every row."""
    if scope.units is None:
        keys = set(snap.kpi_rows)
    else:
        keys = {(row.id, unit) for unit in scope.units for row in snap.rows_by_unit.get(unit, ())}
        for owner in scope.owners:
            for kpi_id in snap.kpis_by_owner.get(owner, ()):
                keys.update((kpi_id, unit) for unit in snap.kpi_units.get(kpi_id, ()))
    order = {kpi_id: place for place, kpi_id in enumerate(snap.kpis)}
    found = [
        (snap.kpis[kpi_id], unit)
        for kpi_id, unit in keys
        if kpi_id in snap.kpis and scope.holds(unit, snap.kpis[kpi_id].owner)
    ]
    found.sort(key=lambda pair: (order[pair[0].id], pair[1] != pair[0].unit, pair[1]))
    return found


def _page(
    request: Request,
    lines: list[DueLine],
    forms: dict[int, dict[str, str]],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    summary: str | None = None,
    saved: int | None = None,
    waiting: int = 0,
    warnings: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "checkin_due.html",
        status_code=status_code,
        lines=lines,
        forms=forms,
        errors=errors,
        summary=summary,
        saved=saved,
        waiting=waiting,
        warnings=warnings or {},
    )


@router.get("/checkin", response_class=HTMLResponse, include_in_schema=False)
def due_form(
    request: Request, saved: int | None = None, account: Account = Depends(page_account)
) -> HTMLResponse:
    snap = page_snapshot(request, today())
    lines = due_lines(store_of(request), snap, account)
    forms = {line.index: _blank(line) for line in lines}
    waiting = edit_approval.waiting_for(store_of(request), account, snap.org)
    return _page(request, lines, forms, {}, saved=saved, waiting=waiting)


def _gone(sent: FormData, by_key: dict[str, DueLine]) -> list[str]:
    """The lines a value was typed for that the page no longer offers, as `KPI unit period`."""
    gone: list[str] = []
    for name, typed in sent.multi_items():
        field, _, key = str(name).partition(":")
        if field not in ("value", "numerator", "denominator") or not str(typed).strip():
            continue
        if key not in by_key:
            kpi, _, rest = key.partition(":")
            unit, _, period = rest.partition(":")
            shown = f"{kpi} (unit {unit}) {period}"[:200]
            if shown not in gone:
                gone.append(shown)
    return gone


def _blank(line: DueLine) -> dict[str, str]:
    return {
        "period": line.facts.period,
        "value": "",
        "numerator": "",
        "denominator": "",
        "note": "",
    }


@router.post(
    "/checkin",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
async def due_submit(request: Request, account: Account = Depends(page_account)) -> Response:
    sent = await request.form()
    lines = await run_in_threadpool(
        lambda: due_lines(store_of(request), page_snapshot(request, today()), account)
    )
    by_key = {line.key: line for line in lines}
    forms: dict[int, dict[str, str]] = {}
    errors: dict[str, str] = {}
    entries: list[CheckinEntry] = []
    places: list[int] = []  # the line of each entry
    for line in lines:
        form = {name: str(sent.get(box_name(name, line), ""))[:10_000] for name in FIELDS}
        if not form["period"].strip():
            form["period"] = line.facts.period
        forms[line.index] = form
        if not any(form[name].strip() for name in ("value", "numerator", "denominator")):
            continue  # a value left empty is simply not entered now
        found: dict[str, str] = {}
        numbers = {name: read_number(name, form[name], found) for name in FIELDS[1:4]}
        if form["period"].strip() != line.facts.period:
            found["period"] = (
                f"This box is for {line.facts.period}; enter a value of another period "
                "on the KPI's own check-in page."
            )
        errors |= {f"{line.index}.{name}": message for name, message in found.items()}
        entries.append(
            CheckinEntry(
                line.kpi.id,
                line.unit,
                line.facts.period,
                numbers["value"],
                numbers["numerator"],
                numbers["denominator"],
                form["note"],
            )
        )
        places.append(line.index)
    gone = _gone(sent, by_key)
    if gone:
        # The list changed since the page was shown: nothing is stored, so that no value is
        # kept without the others typed with it.
        summary = (
            f"No longer awaited: {', '.join(gone)} (a value was entered meanwhile, or the "
            "KPI changed); nothing was saved. Check the values below and save again."
        )
        return _page(request, lines, forms, errors, status_code=409, summary=summary)
    if not entries and not errors:
        return _page(
            request, lines, forms, {}, status_code=422, summary="Type at least one value to save."
        )
    store = store_of(request)
    saved: list[CheckinResult] = []
    try:
        saved = await run_in_threadpool(
            lambda: record_measurements(
                store, entries, actor=account.username, check_only=bool(errors)
            )
        )
    except InputError as exc:
        for problem in exc.problems:
            index, _, field = problem.file.partition(".")
            if index.isdigit() and int(index) < len(places) and field in FIELDS:
                key = f"{places[int(index)]}.{field}"
                errors.setdefault(key, field_message(field, problem.message))
            else:
                errors.setdefault("form", problem.message)
        if not exc.problems:
            errors["form"] = exc.summary
    except StoreBusy as exc:
        return _page(request, lines, forms, {}, status_code=503, summary=f"{exc}; try again.")
    if errors:
        count = len(errors)
        summary = f"{count} problem{'' if count == 1 else 's'}: nothing was saved."
        return _page(request, lines, forms, errors, status_code=422, summary=summary)
    warnings = {
        f"{place}.{'numerator' if result.numerator is not None else 'value'}": result.warning
        for place, result in zip(places, saved, strict=True)
        if result.warning
    }
    if warnings:
        # Saved as typed, but some look like a slip: the page as sent, a note beside each,
        # to correct and save again (a value saved is no longer due: its box stays here).
        return _page(request, lines, forms, {}, saved=len(entries), warnings=warnings)
    return RedirectResponse(keep_period(request, "/checkin", saved=len(entries)), status_code=303)
