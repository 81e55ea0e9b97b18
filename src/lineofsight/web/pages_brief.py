"""The pages of reviews: a unit's briefing book (and its PDF), and the form that records a
review held (attendees, decisions, new actions)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from lineofsight.errors import InputError, Problem
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import allows
from lineofsight.web.pagekit import (
    cache_of,
    checked_moment,
    keep_period,
    not_found,
    require,
    store_of,
)
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()
ACTION_ROWS = 3


def _unit_or_404(request: Request, unit_id: str, account: Account) -> object:
    """The unit; the same 404 when it does not exist or the account may not read it (a
    scoped reader cannot tell the units outside their scope from units that do not exist)."""
    org = cache_of(request).organization()
    unit = org.units_by_id().get(unit_id)
    tree = cache_of(request).unit_tree()
    if unit is None or not allows(account, "read", unit_id=unit_id, org=tree):
        raise not_found("unit", unit_id)
    return unit


@router.get("/units/{unit_id}/brief", response_class=HTMLResponse, include_in_schema=False)
def brief_page(
    request: Request,
    unit_id: str,
    period: str | None = None,
    review: bool = False,
    recorded: str | None = None,
    account: Account = Depends(page_account),
) -> Response:
    from lineofsight.services.brief import build_book
    from lineofsight.services.brief_html import BOOK_CSS, book_fragment

    cache = cache_of(request)
    unit = _unit_or_404(request, unit_id, account)
    tree = cache.unit_tree()
    require(allows(account, "read", unit_id=unit_id, org=tree), "this unit's briefing book")
    when = checked_moment(request, period)  # a bad ?period= is refused, as on every page
    org = cache.organization()  # kept by the app: the book reads no definitions again
    book = build_book(store_of(request), unit_id, period=when.label or None, review=review, org=org)
    body = Markup(book_fragment(book, link=lambda path: keep_period(request, path)))
    return render(
        request,
        "brief.html",
        unit=unit,
        book=book,
        body=body,
        css=Markup(BOOK_CSS),
        recorded=recorded,
        review=review,
        pdf=keep_period(request, f"/units/{unit_id}/brief.pdf", review="true" if review else None),
        record=keep_period(request, f"/units/{unit_id}/reviews/new"),
        may_record=allows(account, "edit_definitions", unit_id=unit_id, org=tree),
    )


@router.get("/units/{unit_id}/brief.pdf", include_in_schema=False)
def brief_pdf(
    request: Request,
    unit_id: str,
    period: str | None = None,
    review: bool = False,
    account: Account = Depends(page_account),
) -> Response:
    from lineofsight.services.brief import build_book
    from lineofsight.services.brief_pdf import book_pdf

    _unit_or_404(request, unit_id, account)
    require(
        allows(account, "read", unit_id=unit_id, org=cache_of(request).unit_tree()),
        "this unit's briefing book",
    )
    when = checked_moment(request, period)
    org = cache_of(request).organization()
    book = build_book(store_of(request), unit_id, period=when.label or None, review=review, org=org)
    name = f"brief-{unit_id}-{book.period}.pdf"
    return Response(
        book_pdf(book),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def _form_context(request: Request, unit_id: str, period: str | None) -> dict[str, Any]:
    from lineofsight.domain.reviews import review_period
    from lineofsight.services.review_settings import cadences

    org = cache_of(request).organization()
    tree = cache_of(request).unit_tree()
    subtree = tree.subtree(unit_id)
    cadence = next((c for c in cadences(store_of(request)) if c.unit == unit_id), None)
    default_period = period or review_period(cadence, dt.date.today(), org.calendar).label
    subjects = [(f"objective:{o.id}", o.title) for o in org.objectives if o.unit in subtree]
    subjects += [(f"kpi:{k.id}", k.name) for k in org.kpis if k.unit in subtree]
    return {
        "unit": org.units_by_id()[unit_id],
        "people": sorted(org.people, key=lambda p: p.name.lower()),
        "invited": set(cadence.attendees) if cadence is not None else set(),
        "subjects": subjects[:2000],
        "rows": range(ACTION_ROWS),
        "form": {"period": default_period, "held_on": dt.date.today().isoformat()},
        "actions": [dict.fromkeys(ACTION_FIELDS, "") for _ in range(ACTION_ROWS)],
        "errors": {},
        "problems": [],
    }


ACTION_FIELDS = ("subject", "title", "owner", "due")
_LABELS = {
    "unit": "Unit",
    "period": "Period reviewed",
    "held_on": "Held on",
    "attendees": "Attendees",
    "decisions": "Decisions",
}
# The record's fields of an action (as the service and the API name them): the form's field.
_ACTION_FIELD = {"subject_type": "subject", "subject_id": "subject"}
_ACTION_LABELS = {"subject": "About", "title": "Title", "owner": "Owner", "due": "Due"}
_PATH = re.compile(r"(?P<key>[a-z_]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<field>[a-z_]+))?")


def _named(problem: Problem, row_of: list[int], lines: list[int]) -> tuple[str | None, str]:
    """The form's field a problem of the record is about (None: none, or a list of boxes),
    and the problem as the form says it, by its labels: `actions[0].subject_id` of the
    first row filled in is "New action 1, About", `decisions[2]` the third line typed."""
    found = _PATH.fullmatch(problem.file)
    if found is None:
        return None, problem.message
    key, index, field = found["key"], found["index"], found["field"]
    if key == "actions" and index is not None and int(index) < len(row_of):
        row = row_of[int(index)]
        name = _ACTION_FIELD.get(field or "", field or "")
        if name in _ACTION_LABELS:
            label = f"New action {row + 1}, {_ACTION_LABELS[name]}"
            return f"action_{name}_{row}", f"{label}: {problem.message}"
        return None, f"New action {row + 1}: {problem.message}"
    if key == "decisions" and index is not None and int(index) < len(lines):
        return "decisions", f"Decisions, line {lines[int(index)]}: {problem.message}"
    if key in _LABELS:
        shown = key if key in ("period", "held_on", "decisions") else None
        return shown, f"{_LABELS[key]}: {problem.message}"
    return None, problem.message


@router.get("/units/{unit_id}/reviews/new", response_class=HTMLResponse, include_in_schema=False)
def review_form(
    request: Request,
    unit_id: str,
    period: str | None = None,
    account: Account = Depends(page_account),
) -> Response:
    _unit_or_404(request, unit_id, account)
    tree = cache_of(request).unit_tree()
    require(allows(account, "edit_definitions", unit_id=unit_id, org=tree), "this form")
    return render(request, "review_form.html", **_form_context(request, unit_id, period))


@router.post(
    "/units/{unit_id}/reviews",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
async def review_submit(
    request: Request,
    unit_id: str,
    period: Annotated[str, Form()] = "",
    held_on: Annotated[str, Form()] = "",
    decisions: Annotated[str, Form()] = "",
    account: Account = Depends(page_account),
) -> Response:
    from lineofsight.services.reviews import NewAction, record_review

    _unit_or_404(request, unit_id, account)
    tree = cache_of(request).unit_tree()
    require(allows(account, "edit_definitions", unit_id=unit_id, org=tree), "this form")
    data = await request.form()
    attendees = [str(v) for v in data.getlist("attendees")]
    rows = [
        {name: str(data.get(f"action_{name}_{i}", "")) for name in ACTION_FIELDS}
        for i in range(ACTION_ROWS)
    ]
    actions, row_of = [], []
    for i, row in enumerate(rows):
        if not any(value.strip() for value in row.values()):
            continue  # a row left empty: no action
        kind, _, item = row["subject"].strip().partition(":")
        actions.append(
            NewAction(
                kind or "kpi",
                item,
                row["title"].strip(),
                row["owner"].strip() or None,
                row["due"].strip() or None,
            )
        )
        row_of.append(i)
    try:
        held = record_review(
            store_of(request),
            account.username,
            unit=unit_id,
            period=period,
            held_on=held_on or None,
            attendees=attendees,
            decisions=decisions.splitlines(),
            actions=actions,
            account=account,
        )
    except InputError as exc:
        # The form again as typed, every problem named by the form's own labels (and shown
        # beside its field too).
        context = _form_context(request, unit_id, period)
        context["form"] = {"period": period, "held_on": held_on, "decisions": decisions}
        context["invited"] = set(attendees)
        context["actions"] = rows
        lines = [n for n, line in enumerate(decisions.splitlines(), 1) if line.strip()]
        named = [_named(p, row_of, lines) for p in exc.problems]
        context["problems"] = [text for _, text in named] or [exc.summary]
        context["errors"] = {}
        for (field, _), p in zip(named, exc.problems, strict=True):
            if field is not None:
                context["errors"].setdefault(field, p.message)
        return render(request, "review_form.html", status_code=422, **context)
    target = keep_period(request, f"/units/{unit_id}/brief", recorded=held.period)
    return RedirectResponse(target, status_code=303)
