"""Changing the strategy in the browser: a form per unit, person, objective and KPI, a
preview of what saving changes (the apply's plan, the alignment findings that appear or go),
then the save through the same validation and history as `los apply`.

    /edit                      what the account may change, and the changes waiting
    /edit/{kind}/new           a new unit, person, objective or KPI
    /edit/{kind}/{id}          change one (or remove it)

A form posts `op=preview` (or `remove`) and gets the preview; the preview posts `op=save`
(`remove-save`) with the same fields, which are validated again against the strategy as it
is then. With the approval setting on, an editor's save becomes a change waiting for an
admin or the unit's lead (`pages_edit_review`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.errors import InputError, SpecError, UsageError
from lineofsight.services import edit_approval
from lineofsight.services.accounts import Account
from lineofsight.services.apply import Plan
from lineofsight.services.permissions import refused_definitions
from lineofsight.services.strategy_edit import (
    SECTIONS,
    Edit,
    EditPreview,
    item_plain,
    preview_edit,
    problem_path,
    problem_text,
    save_edit,
)
from lineofsight.web.pagedata import Snapshot
from lineofsight.web.pagekit import (
    can,
    item_unit,
    keep_period,
    not_found,
    page_snapshot,
    require,
    require_seen,
    store_of,
    today,
)
from lineofsight.web.pages_edit_fields import FIELDS, form_from_item, item_from_form
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()

KIND_NAMES = {"unit": "unit", "person": "person", "objective": "objective", "kpi": "KPI"}
ITEM_PAGES = {"unit": "/units/{}", "person": "/people/{}", "kpi": "/kpis/{}"}
LISTED = 100  # items of each kind listed on /edit (others are reached by their id)
HISTORY = 20  # changes of an item listed under its form
NOTHING_TO_SAVE = "Nothing to save: the form is as the strategy already is."


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as text, each field at most 10,000 characters."""
    sent = await request.form()
    return {key: str(value)[:10_000] for key, value in sent.items() if isinstance(value, str)}


def may_edit(account: Account) -> bool:
    """Whether the account may change definitions anywhere (admins and editors)."""
    return any(g.role in ("admin", "editor") for g in account.grants)


def edit_path(
    request: Request, account: Account | None, snap: Snapshot, kind: str, item_id: str
) -> str | None:
    """The link to an item's edit form, keeping the period, for a reader who may change it
    (None otherwise: a page shows no link that would answer 403)."""
    if account is None or not may_edit(account):
        return None
    unit = item_id if kind == "unit" else item_unit(snap, kind, item_id)
    if unit is None or not can(account, "edit_definitions", snap, unit):
        return None
    return keep_period(request, f"/edit/{kind}/{quote(item_id, safe='')}")


def _kind(kind: str) -> str:
    if kind not in SECTIONS:
        raise HTTPException(status_code=404, detail=f"no kind of item '{kind}'")
    return kind


def value_text(value: Any) -> str:
    """A changed value as the preview shows it."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@router.get("/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_index(
    request: Request,
    removed: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    store = store_of(request)
    snap = page_snapshot(request, today())
    pending = edit_approval.pending_changes(store)
    decidable = [
        c
        for c in pending
        if c.requested_by == account.username
        or edit_approval.may_decide(account, c.units, snap.org, None)
    ]
    require(may_edit(account) or bool(decidable), "the strategy's edit pages (editors only)")
    items: dict[str, list[tuple[str, str]]] = {}
    if may_edit(account):
        for kind, (_, attr) in SECTIONS.items():
            shown = []
            for item in getattr(snap.org, attr):
                unit = item.id if kind == "unit" else item.unit
                if can(account, "edit_definitions", snap, unit):
                    shown.append((item.id, getattr(item, "name", None) or item.title))
                if len(shown) >= LISTED:
                    break
            items[kind] = shown
    return render(
        request,
        "edit_index.html",
        items=items,
        kinds=KIND_NAMES,
        pending=decidable,
        approval=edit_approval.require_approval(store),
        waits=edit_approval.must_wait(store, account),
        removed=(removed or "")[:200],
        may_edit=may_edit(account),
    )


@router.get("/edit/go", include_in_schema=False)
def edit_go(
    request: Request, kind: str = "", id: str = "", account: Account = Depends(page_account)
) -> Response:
    """The index's "edit by id" box (with nothing in it: back to the index)."""
    item_id = id.strip()
    if not kind or not item_id:
        return RedirectResponse(keep_period(request, "/edit"), status_code=303)
    kind = _kind(kind)
    path = f"/edit/{kind}/{quote(item_id, safe='')}"
    return RedirectResponse(keep_period(request, path), status_code=303)


def _form_page(
    request: Request,
    kind: str,
    item_id: str | None,
    form: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    summary: str | None = None,
    status_code: int = 200,
    saved: bool = False,
    nothing: bool = False,
) -> HTMLResponse:
    """The item's form; `nothing`: the notice that the form changes nothing (what to save,
    or with approval on, to approve)."""
    waits = edit_approval.must_wait(store_of(request), request.state.account)
    return render(
        request,
        "edit_item.html",
        status_code=status_code,
        kind=kind,
        kind_name=KIND_NAMES[kind],
        item_id=item_id,
        fields=FIELDS[kind],
        form=form,
        errors=errors or {},
        summary=summary,
        saved=saved,
        item_page=ITEM_PAGES.get(kind, "").format(item_id)
        if item_id and kind in ITEM_PAGES
        else None,
        waits=waits,
        nothing=(edit_approval.NOTHING_TO_APPROVE if waits else NOTHING_TO_SAVE) if nothing else "",
        history=item_history(request, kind, item_id) if item_id else [],
    )


def _stored_item(request: Request, account: Account, kind: str, item_id: str) -> dict[str, Any]:
    """The item as the strategy file writes it; 404 when there is none or it lies outside
    the units the account may read (the same answer), 403 when the account may read it but
    not change it."""
    snap = page_snapshot(request, today())
    item = item_plain(snap.org, kind, item_id)
    if item is None:
        raise not_found(KIND_NAMES[kind], item_id)
    unit = item_id if kind == "unit" else str(item.get("unit"))
    require_seen(can(account, "read", snap, unit), KIND_NAMES[kind], item_id)
    require(
        can(account, "edit_definitions", snap, unit),
        f"changes to this {KIND_NAMES[kind]} (your role does not reach its unit)",
    )
    return item


@router.get("/edit/{kind}/new", response_class=HTMLResponse, include_in_schema=False)
def new_form(request: Request, kind: str, account: Account = Depends(page_account)) -> Response:
    kind = _kind(kind)
    require(may_edit(account), "the strategy's edit pages (editors only)")
    return _form_page(request, kind, None, form_from_item(kind, None))


@router.get("/edit/{kind}/{item_id}", response_class=HTMLResponse, include_in_schema=False)
def edit_form(
    request: Request,
    kind: str,
    item_id: str,
    saved: bool = False,
    account: Account = Depends(page_account),
) -> Response:
    kind = _kind(kind)
    require(may_edit(account), "the strategy's edit pages (editors only)")
    item = _stored_item(request, account, kind, item_id)
    return _form_page(request, kind, item_id, form_from_item(kind, item), saved=saved)


def item_history(request: Request, kind: str, item_id: str) -> list[dict[str, str]]:
    """The item's latest changes of definition, newest first (what `los history ID` lists)."""
    from lineofsight.services.history import definition_history

    try:
        records = definition_history(store_of(request), item_id, limit=HISTORY)
    except UsageError:
        return []
    return [
        {
            "at": r.changed_at.strftime("%Y-%m-%d %H:%M"),
            "actor": r.actor,
            "source": r.source or "",
            "change": r.action if r.field is None else r.field,
            "before": value_text(r.before) if r.action == "change" else "",
            "after": value_text(r.after) if r.action == "change" else "",
        }
        for r in reversed(records)
        if r.kind == kind
    ]


@router.post(
    "/edit/{kind}/{item_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def edit_submit(
    request: Request,
    kind: str,
    item_id: str,
    form: dict[str, str] = Depends(form_fields),
    account: Account = Depends(page_account),
) -> Response:
    kind = _kind(kind)
    require(may_edit(account), "the strategy's edit pages (editors only)")
    op = form.get("op", "preview")
    new = item_id == "new"
    fields = {f.name: form.get(f.name, "") for f in FIELDS[kind]}
    if new:
        start = None
        target = fields["id"].strip()
    else:
        start = _stored_item(request, account, kind, item_id)
        fields["id"] = item_id  # an item keeps its id; a new one is added instead
        target = item_id
    if op == "back":
        return _form_page(request, kind, None if new else item_id, fields)
    removing = op in ("remove", "remove-save")
    if removing and new:
        raise HTTPException(status_code=422, detail="a new item cannot be removed")
    item = None if removing else item_from_form(kind, fields, start)
    edit = Edit(kind, target or "new", item, new=new)
    store = store_of(request)
    try:
        preview = preview_edit(
            store,
            edit,
            actor=account.username,
            as_of=today(),
            findings=op not in ("save", "remove-save"),  # shown only on the preview page
        )
    except SpecError as exc:
        return _invalid(request, kind, None if new else item_id, fields, edit, exc)
    except UsageError as exc:
        return _form_page(
            request, kind, None if new else item_id, fields, summary=exc.summary, status_code=422
        )
    refused = refused_definitions(account, preview.before, preview.after, preview.reach)
    if refused:
        where = ", ".join("the whole organisation" if u is None else f"unit '{u}'" for u in refused)
        return _form_page(
            request,
            kind,
            None if new else item_id,
            fields,
            summary=f"Your role does not allow this change: it reaches {where}. Nothing was saved.",
            status_code=403,
        )
    if preview.plan.empty:
        # Not an error: nothing is saved, and nothing waits for approval either.
        return _form_page(request, kind, None if new else item_id, fields, nothing=True)
    if op in ("save", "remove-save"):
        return _save(request, account, preview, fields)
    return _preview_page(request, account, preview, fields, removing)


def _invalid(
    request: Request,
    kind: str,
    item_id: str | None,
    fields: dict[str, str],
    edit: Edit,
    exc: InputError,
) -> HTMLResponse:
    """The form again with every problem of the strategy file next to its field (problems of
    other items, which the change broke, at the top)."""
    errors: dict[str, str] = {}
    others: list[str] = []
    snap = page_snapshot(request, today())
    index = len(getattr(snap.org, SECTIONS[kind][1])) if edit.new else None
    for problem in exc.problems:
        name = form_field(kind, problem_path(problem, edit, index))
        if name is not None:
            errors[name] = f"{errors[name]}; " if name in errors else ""
            errors[name] += problem_text(problem, edit, shown_at=name)
        else:
            others.append(problem.message)
    count = len(exc.problems)
    summary = f"{count} problem{'' if count == 1 else 's'}: nothing was saved."
    return render(
        request,
        "edit_item.html",
        status_code=422,
        kind=kind,
        kind_name=KIND_NAMES[kind],
        item_id=item_id,
        fields=FIELDS[kind],
        form=fields,
        errors=errors,
        others=others,
        summary=summary,
        saved=False,
        item_page=None,
        waits=edit_approval.must_wait(store_of(request), request.state.account),
    )


def form_field(kind: str, path: str | None) -> str | None:
    """The form's field a problem at `path` of the item is shown at: the field of that path
    (`baseline.period`), else the first field of its key (`target` as a whole: the target
    value); None when no field holds it."""
    if path is None:
        return None
    names = [f.name for f in FIELDS[kind]]
    for name in names:
        if path == name or path.startswith((name + ".", name + "[")):
            return name
    key = re.match(r"[a-z_]+", path)
    return next((n for n in names if key and n.split(".")[0] == key.group(0)), None)


def _preview_page(
    request: Request,
    account: Account,
    preview: EditPreview,
    fields: dict[str, str],
    removing: bool,
) -> HTMLResponse:
    edit = preview.edit
    return render(
        request,
        "edit_preview.html",
        kind=edit.kind,
        kind_name=KIND_NAMES[edit.kind],
        item_id=edit.item_id,
        action_path=f"/edit/{edit.kind}/{'new' if edit.new else edit.item_id}",
        records=change_rows(preview.plan),
        appeared=preview.appeared,
        gone=preview.gone,
        fields=fields,
        removing=removing,
        waits=edit_approval.must_wait(store_of(request), account),
    )


def change_rows(plan: Plan) -> list[dict[str, str]]:
    return [
        {
            "action": r.action,
            "what": f"{KIND_NAMES.get(r.kind, r.kind)} {r.item_id}",
            "field": r.field or "",
            "before": value_text(r.before) if r.action != "add" else "",
            "after": value_text(r.after) if r.action != "remove" else "",
        }
        for r in plan.records
    ]


def _save(
    request: Request, account: Account, preview: EditPreview, fields: dict[str, str]
) -> Response:
    store = store_of(request)
    edit = preview.edit
    if edit_approval.must_wait(store, account):
        change_id = edit_approval.request_change(store, preview, actor=account.username)
        return RedirectResponse(keep_period(request, f"/edit/pending/{change_id}"), status_code=303)

    def authorize(before: Any, after: Any) -> None:
        # The strategy may have moved since the preview: judged again on what is saved.
        if refused_definitions(account, before, after):
            raise UsageError("your role does not allow this change any more: nothing was saved")

    try:
        save_edit(store, edit, actor=account.username, authorize=authorize)
    except SpecError as exc:
        return _invalid(request, edit.kind, None if edit.new else edit.item_id, fields, edit, exc)
    except UsageError as exc:
        return _form_page(
            request,
            edit.kind,
            None if edit.new else edit.item_id,
            fields,
            summary=exc.summary,
            status_code=409,
        )
    if edit.item is None:
        removed = f"{edit.kind}:{edit.item_id}"
        return RedirectResponse(keep_period(request, "/edit", removed=removed), status_code=303)
    path = keep_period(request, f"/edit/{edit.kind}/{edit.item_id}", saved="true")
    return RedirectResponse(path, status_code=303)
