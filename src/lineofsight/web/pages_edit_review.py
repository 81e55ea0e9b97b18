"""Changes waiting for approval: what one changes against the strategy as it is now, and
the approval or rejection by an admin or the lead of the unit it concerns.

    /edit/pending/{id}           the change, its preview, and the decision's buttons
    /edit/pending/{id}/approve   save it (validated again; credited to whoever made it)
    /edit/pending/{id}/reject    turn it down, with a reason
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.errors import SpecError, UsageError
from lineofsight.services import edit_approval
from lineofsight.services.accounts import Account
from lineofsight.services.edit_approval import PendingChange
from lineofsight.services.strategy_edit import preview_edit
from lineofsight.web.pagekit import keep_period, page_snapshot, require, store_of, today
from lineofsight.web.pages_edit import KIND_NAMES, change_rows
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()


def _change(request: Request, account: Account, change_id: int) -> tuple[PendingChange, bool]:
    """The change and whether the account may decide it; 404, or 403 unless the account made
    it or may decide it."""
    change = edit_approval.pending_change(store_of(request), change_id)
    if change is None:
        raise HTTPException(status_code=404, detail=f"no pending change {change_id}")
    org = page_snapshot(request, today()).org
    decides = change.requested_by != account.username and edit_approval.may_decide(
        account, change.units, org
    )
    require(decides or change.requested_by == account.username, "this change")
    return change, decides


def _page(
    request: Request,
    account: Account,
    change_id: int,
    *,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    change, decides = _change(request, account, change_id)
    preview = None
    invalid: list[str] = list(problems or [])
    stale = None
    if change.state == "pending":
        store = store_of(request)
        try:
            preview = preview_edit(store, change.edit, actor=change.requested_by, as_of=today())
        except (SpecError, UsageError) as exc:
            invalid = invalid or [p.message for p in exc.problems] or [exc.summary]
        else:
            with store.reading() as conn:
                stale = edit_approval.changed_since_request(conn, change, preview.plan)
            if stale is not None and stale not in invalid:
                invalid.append(stale)
    return render(
        request,
        "edit_pending.html",
        status_code=status_code,
        change=change,
        kind_name=KIND_NAMES[change.edit.kind],
        decides=decides and change.state == "pending",
        approvable=stale is None,
        records=change_rows(preview.plan) if preview is not None else [],
        appeared=preview.appeared if preview is not None else [],
        gone=preview.gone if preview is not None else [],
        problems=invalid,
    )


@router.get("/edit/pending/{change_id}", response_class=HTMLResponse, include_in_schema=False)
def pending_page(
    request: Request, change_id: int, account: Account = Depends(page_account)
) -> HTMLResponse:
    return _page(request, account, change_id)


@router.post(
    "/edit/pending/{change_id}/approve",
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def approve(request: Request, change_id: int, account: Account = Depends(page_account)) -> Response:
    _, decides = _change(request, account, change_id)
    require(decides, "the approval of this change")
    try:
        edit_approval.approve_change(store_of(request), change_id, approver=account)
    except SpecError as exc:
        return _page(
            request,
            account,
            change_id,
            problems=[p.message for p in exc.problems] or [exc.summary],
            status_code=422,
        )
    except UsageError as exc:
        return _page(request, account, change_id, problems=[exc.summary], status_code=409)
    return RedirectResponse(keep_period(request, f"/edit/pending/{change_id}"), status_code=303)


@router.post(
    "/edit/pending/{change_id}/reject",
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def reject(
    request: Request,
    change_id: int,
    reason: str = Form(""),
    account: Account = Depends(page_account),
) -> Response:
    _, decides = _change(request, account, change_id)
    require(decides, "the rejection of this change")
    try:
        edit_approval.reject_change(
            store_of(request), change_id, approver=account, reason=reason[:2000]
        )
    except UsageError as exc:
        return _page(request, account, change_id, problems=[exc.summary], status_code=422)
    return RedirectResponse(keep_period(request, f"/edit/pending/{change_id}"), status_code=303)
