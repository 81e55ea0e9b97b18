"""The pages of reviews: a unit's briefing book (and its PDF), and the form that records a
review held (attendees, decisions, new actions)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from lineofsight.errors import InputError
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
        "problems": [],
    }


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
    actions = []
    for i in range(ACTION_ROWS):
        subject = str(data.get(f"action_subject_{i}", "")).strip()
        title = str(data.get(f"action_title_{i}", "")).strip()
        if not subject and not title:
            continue
        kind, _, item = subject.partition(":")
        actions.append(
            NewAction(
                kind or "kpi",
                item,
                title,
                str(data.get(f"action_owner_{i}", "")).strip() or None,
                str(data.get(f"action_due_{i}", "")).strip() or None,
            )
        )
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
        )
    except InputError as exc:
        context = _form_context(request, unit_id, period)
        context["form"] = {"period": period, "held_on": held_on, "decisions": decisions}
        context["invited"] = set(attendees)
        context["problems"] = [f"{p.file}: {p.message}" for p in exc.problems] or [exc.summary]
        return render(request, "review_form.html", status_code=422, **context)
    target = keep_period(request, f"/units/{unit_id}/brief", recorded=held.period)
    return RedirectResponse(target, status_code=303)
