"""Entering data in the browser: a KPI owner's check-in of one value, an admin's file upload.

Both go through the check-in services (the same rules as `los load`, one transaction with its
audit row); a mistake re-shows the form with every problem next to what caused it.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, next_period, parse_period
from lineofsight.domain.text import noun
from lineofsight.engine.calendar import evaluation_period
from lineofsight.engine.targets import kpi_target
from lineofsight.errors import InputError, StoreBusy
from lineofsight.services.accounts import Account
from lineofsight.services.measurements import NOT_ENDED, number_of_text
from lineofsight.services.permissions import refusal
from lineofsight.services.sources import kpi_source
from lineofsight.store.database import Store
from lineofsight.web.errors import RETRY_AFTER
from lineofsight.web.pagedata import Snapshot
from lineofsight.web.pagekit import (
    can,
    not_found,
    page_snapshot,
    readable,
    requested_unit,
    require,
    require_seen,
    store_of,
    today,
    unit_tree,
)
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render
from lineofsight.web.uploads import save_upload, upload_name

router = APIRouter()


def read_number(name: str, text: str, errors: dict[str, str]) -> float | None:
    """A form field as a number (None when empty); a message in `errors` when it is not one."""
    if not text.strip():
        return None
    try:
        value = number_of_text(text)  # as a file's cell: `2,5` is refused, never read as 25
    except ValueError as exc:
        errors[name] = str(exc)
        return None
    if not math.isfinite(value):
        errors[name] = "give a finite number"
        return None
    return value


@dataclass(frozen=True, slots=True)
class CheckinFacts:
    """What an owner wants beside the box they type a value in."""

    period: str  # the period the facts are about ("" when the form's period is not one)
    target: float | None
    due: dt.date | None
    last_value: float | None
    last_period: str | None


def checkin_facts(
    store: Store, snap: Snapshot, kpi: m.Kpi, at: str, period_text: str
) -> CheckinFacts:
    """The target and due date of the period being entered (when it is a period of the
    calendar), and the KPI's latest stored value at the unit."""
    from lineofsight.services.checkin import last_value as latest

    calendar = snap.org.calendar
    found = latest(store, kpi, at)
    last_period, last_value = found if found is not None else (None, None)
    try:
        period = parse_period(period_text.strip(), calendar)
    except PeriodError:
        return CheckinFacts("", None, None, last_value, last_period)
    target = kpi_target(kpi, period, calendar, at)
    due = period.end + dt.timedelta(days=kpi.due_days_in(calendar))
    return CheckinFacts(period.label, target, due, last_value, last_period)


AWAITED, OVERDUE = "awaited", "overdue"


def open_periods(snap: Snapshot, kpi: m.Kpi, at: str) -> list[tuple[str, str]]:
    """Every period of the KPI at the unit whose value is missing and may be entered now,
    oldest first, each with its state: the scorecard's period when its value is `overdue`,
    then each period after it that has ended by today (`awaited`: not due yet, and without
    a value, else the scorecard would show it). Both check-in pages offer these."""
    row = snap.kpi_row(kpi.id, at)
    if row is None or not row.period:
        return []
    calendar = snap.org.calendar
    try:
        shown = parse_period(row.period, calendar)
    except PeriodError:
        return []
    found = [(shown.label, OVERDUE)] if row.actual is None else []
    day = today()
    following = next_period(shown, calendar)
    while following.end <= day:
        found.append((following.label, AWAITED))
        following = next_period(following, calendar)
    return found


def default_period(snap: Snapshot, kpi: m.Kpi, at: str) -> str:
    """The period a check-in form offers first: the oldest one whose value is missing, else
    the latest period that has ended (to correct its value)."""
    missing = open_periods(snap, kpi, at)
    if missing:
        return missing[0][0]
    return evaluation_period(kpi.frequency, today(), snap.org.calendar).label


def _checkin_context(
    request: Request, kpi_id: str, unit: str | None, account: Account
) -> dict[str, Any]:
    """The KPI, the unit a value is entered at and the page's snapshot."""
    snap = page_snapshot(request, today())
    kpi = snap.kpis.get(kpi_id)
    if kpi is None:
        raise not_found("KPI", kpi_id)
    # The form, or a value sent, for a unit that does not exist or that the reader may not
    # see: the same 404 (a scoped owner cannot tell them apart), before any other refusal;
    # never the value entered at another unit.
    at = requested_unit(snap, unit, kpi.unit, readable(account, snap))
    require_seen(can(account, "read", snap, at), "KPI", kpi_id)
    if not can(account, "enter_data", snap, at, kpi.owner):
        reason = refusal(
            account, "enter_data", unit_id=at, kpi_owner=kpi.owner, org=unit_tree(snap)
        )
        raise HTTPException(status_code=403, detail=reason)
    return {
        "snap": snap,
        "kpi": kpi,
        "at": at,
        "default_period": default_period(snap, kpi, at),
        "open_periods": open_periods(snap, kpi, at),
        "source": kpi_source(store_of(request), kpi),
    }


def field_message(field: str, message: str) -> str:
    """A check-in problem as the form shows it: a period still running says what to do."""
    if field == "period" and NOT_ENDED in message:
        return f"{message}: a value is entered once its period is over"
    return message


@router.get("/kpis/{kpi_id}/checkin", response_class=HTMLResponse, include_in_schema=False)
def checkin_form(
    request: Request,
    kpi_id: str,
    unit: str | None = None,
    period: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    context = _checkin_context(request, kpi_id, unit, account)
    form = {
        # A link may name the period whose value is due (the attention list's do).
        "period": (period or "").strip()[:40] or context["default_period"],
        "value": "",
        "numerator": "",
        "denominator": "",
        "note": "",
    }
    facts = checkin_facts(
        store_of(request), context["snap"], context["kpi"], context["at"], form["period"]
    )
    return render(
        request, "checkin.html", form=form, errors={}, summary=None, facts=facts, **context
    )


@router.post(
    "/kpis/{kpi_id}/checkin",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def checkin_submit(
    request: Request,
    kpi_id: str,
    period: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    numerator: Annotated[str, Form()] = "",
    denominator: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
    account: Account = Depends(page_account),
) -> Response:
    context = _checkin_context(request, kpi_id, unit or None, account)
    form = {
        "period": period,
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "note": note,
    }
    errors: dict[str, str] = {}
    numbers = {
        name: read_number(name, form[name], errors)
        for name in ("value", "numerator", "denominator")
    }
    facts = checkin_facts(store_of(request), context["snap"], context["kpi"], context["at"], period)
    if not period.strip():
        errors["period"] = "give the period the value is for, e.g. " + str(
            context["default_period"]
        )
    from lineofsight.services.checkin import CheckinEntry, record_measurements

    at = str(context["at"])
    entry = CheckinEntry(
        kpi_id,
        at,
        period.strip(),
        numbers["value"],
        numbers["numerator"],
        numbers["denominator"],
        note,
    )
    try:
        # A number this form could not read is still checked with the rest (as empty),
        # so that every problem is shown at once; then nothing is written.
        saved = record_measurements(
            store_of(request), [entry], actor=account.username, check_only=bool(errors)
        )
    except InputError as exc:
        for problem in exc.problems:
            field = problem.file.partition(".")[2]
            field = field if field in form or field == "unit" else "form"
            errors.setdefault(field, field_message(field, problem.message))
        if not exc.problems:
            errors["form"] = exc.summary
    except StoreBusy as exc:
        # Nothing was saved: the form comes back as it was sent, to send again.
        message = str(exc)
        page = render(
            request,
            "checkin.html",
            status_code=503,
            form=form,
            errors={},
            facts=facts,
            summary=message[:1].upper() + message[1:] + ".",
            **context,
        )
        page.headers["Retry-After"] = str(RETRY_AFTER)
        return page
    if not errors and saved and saved[0].warning:
        # Saved as typed, but it looks like a slip: the form again, the note beside the
        # number, to correct and save again (or leave as it is).
        field = "numerator" if context["kpi"].ratio is not None else "value"
        # The page as it is now: the last value and the values missing with the one saved.
        context = _checkin_context(request, kpi_id, at, account)
        facts = checkin_facts(store_of(request), context["snap"], context["kpi"], at, period)
        return render(
            request,
            "checkin.html",
            form=form,
            errors={},
            warnings={field: saved[0].warning},
            facts=facts,
            saved=period.strip(),
            **context,
        )
    if not errors:
        query = {"saved": period.strip(), "period": period.strip()}
        if at != context["kpi"].unit:
            query["unit"] = at
        return RedirectResponse(f"/kpis/{kpi_id}?{urlencode(query)}", status_code=303)
    return render(
        request,
        "checkin.html",
        status_code=422,
        form=form,
        errors=errors,
        facts=facts,
        summary=f"{len(errors)} problem{'' if len(errors) == 1 else 's'}: nothing was saved.",
        **context,
    )


def _upload_page(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The upload page; its file box offers the types the loader reads."""
    from lineofsight.services.measurement_files import SUFFIXES

    return render(request, "upload.html", status_code, accept=",".join(SUFFIXES), **context)


def _may_upload_somewhere(request: Request, account: Account) -> bool:
    snap = page_snapshot(request, today())
    return any(can(account, "upload", snap, u) for u in snap.units)


@router.get("/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_form(request: Request, account: Account = Depends(page_account)) -> HTMLResponse:
    require(_may_upload_somewhere(request, account), "the upload page (admins only)")
    return _upload_page(request, problems=[], summary=None, result=None)


@router.post(
    "/upload",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def upload_submit(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    sheet: Annotated[str, Form()] = "",
    account: Account = Depends(page_account),
) -> Response:
    from lineofsight.services.checkin import load_upload, upload_units

    require(_may_upload_somewhere(request, account), "the upload page (admins only)")

    def refused(status: int, summary: str, problems: list[Any] | None = None) -> Response:
        return _upload_page(
            request,
            status_code=status,
            result=None,
            problems=problems or [],
            summary=summary,
        )

    if file is None or not file.filename:
        return refused(422, "Choose a CSV or Excel file to upload.")
    try:
        name = upload_name(file.filename)
    except InputError as exc:
        return refused(422, exc.summary)
    store = store_of(request)
    with tempfile.TemporaryDirectory(prefix="los-upload-") as folder:
        path = save_upload(file.file, Path(folder), name, request.app.state.max_upload_bytes)
        try:
            snap = page_snapshot(request, today())
            units = upload_units(store, path, name, sheet.strip() or None)
            refused_units = sorted(u for u in units if not can(account, "upload", snap, u))
            if refused_units:
                return refused(
                    403,
                    f"{name}: your role does not cover the "
                    f"{noun(len(refused_units), 'unit')} "
                    f"{', '.join(refused_units)}; nothing was loaded.",
                )
            result = load_upload(store, path, name, account.username, sheet.strip() or None)
        except InputError as exc:
            # Every message names the user's file; the temporary copy's path is ours alone.
            summary = exc.summary.replace(str(path), name).replace(folder, "")
            return _upload_page(
                request,
                status_code=422,
                result=None,
                problems=exc.problems,
                summary=summary,
                filename=name,
            )
    return _upload_page(request, result=result, problems=[], summary=None)
