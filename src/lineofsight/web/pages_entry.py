"""Entering data in the browser: a KPI owner's check-in of one value, an admin's file upload.

Both go through the check-in services (the same rules as `los load`, one transaction with its
audit row); a mistake re-shows the form with every problem next to what caused it.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.domain.text import noun
from lineofsight.engine.calendar import evaluation_period
from lineofsight.errors import InputError, StoreBusy
from lineofsight.services.accounts import Account
from lineofsight.web.errors import RETRY_AFTER
from lineofsight.web.pagekit import (
    can,
    not_found,
    page_snapshot,
    require,
    store_of,
    today,
)
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render
from lineofsight.web.uploads import save_upload, upload_name

router = APIRouter()


def _number(name: str, text: str, errors: dict[str, str]) -> float | None:
    """A form field as a number (None when empty); a message in `errors` when it is not one."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        errors[name] = f"'{text.strip()}' is not a number"
        return None
    if not math.isfinite(value):
        errors[name] = "give a finite number"
        return None
    return value


def _checkin_context(
    request: Request, kpi_id: str, unit: str | None, account: Account
) -> dict[str, Any]:
    snap = page_snapshot(request, today())
    kpi = snap.kpis.get(kpi_id)
    if kpi is None:
        raise not_found("KPI", kpi_id)
    at = unit if unit in snap.units else kpi.unit
    require(can(account, "enter_data", snap, at, kpi.owner), "the check-in of this KPI")
    current = evaluation_period(kpi.frequency, today(), snap.org.calendar)
    return {"snap": snap, "kpi": kpi, "at": at, "default_period": current.label}


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
    return render(request, "checkin.html", form=form, errors={}, summary=None, **context)


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
        name: _number(name, form[name], errors) for name in ("value", "numerator", "denominator")
    }
    if not period.strip():
        errors["period"] = "give the period the value is for, e.g. " + str(
            context["default_period"]
        )
    if not errors:
        from lineofsight.services.checkin import record_measurement

        at = str(context["at"])
        try:
            record_measurement(
                store_of(request),
                kpi_id=kpi_id,
                unit_id=at,
                period=period.strip(),
                value=numbers["value"],
                numerator=numbers["numerator"],
                denominator=numbers["denominator"],
                note=note,
                actor=account.username,
            )
        except InputError as exc:
            for problem in exc.problems:
                errors[problem.file if problem.file in form else "form"] = problem.message
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
                summary=message[:1].upper() + message[1:] + ".",
                **context,
            )
            page.headers["Retry-After"] = str(RETRY_AFTER)
            return page
        else:
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
        summary=f"{len(errors)} problem{'' if len(errors) == 1 else 's'}: nothing was saved.",
        **context,
    )


def _may_upload_somewhere(request: Request, account: Account) -> bool:
    snap = page_snapshot(request, today())
    return any(can(account, "upload", snap, u) for u in snap.units)


@router.get("/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_form(request: Request, account: Account = Depends(page_account)) -> HTMLResponse:
    require(_may_upload_somewhere(request, account), "the upload page (admins only)")
    return render(request, "upload.html", problems=[], summary=None, result=None)


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
        return render(
            request,
            "upload.html",
            status_code=status,
            result=None,
            problems=problems or [],
            summary=summary,
        )

    if file is None or not file.filename:
        return refused(422, "Choose a CSV or XLSX file to upload.")
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
            return render(
                request,
                "upload.html",
                status_code=422,
                result=None,
                problems=exc.problems,
                summary=summary,
                filename=name,
            )
    return render(request, "upload.html", result=result, problems=[], summary=None)
