"""The JSON API of reviews: a unit's briefing book (JSON, HTML or PDF) and the review record.

A reader of a unit reads its book (a scoped role only within its subtree); recording a review
needs `edit_definitions` on the unit (editors and admins of it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from lineofsight.errors import Problem, UsageError
from lineofsight.services.brief_items import book_plain, review_plain
from lineofsight.services.permissions import readable_units
from lineofsight.web.api_actions import SubjectIn
from lineofsight.web.api_common import (
    AccountDep,
    AsOfQuery,
    PeriodQuery,
    cache_of,
    json_response,
    organization,
    query_error,
    readable_unit,
    require,
)
from lineofsight.web.api_partial import checks_body
from lineofsight.web.errors import ApiError, not_found
from lineofsight.web.security import verify_csrf

router = APIRouter()
MAX_ID = 2**31 - 1  # review numbers are the store's 32-bit integers


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class BookKpiOut(_Out):
    """A red or amber KPI of the book: value, target, chart, forecast, commentary, actions."""

    id: str
    name: str
    unit: str
    period: str
    actual: float | None
    target: float | None
    score: float | None
    status: str
    chart: list[dict[str, Any]]
    forecast: dict[str, Any] | None
    commentary: dict[str, Any] | None
    actions: list[dict[str, Any]]


class ReviewOut(_Out):
    """A review held: who attended, what was decided, the actions created in it."""

    id: int
    unit: str
    period: str
    held_on: dt.date
    attendees: list[str]
    decisions: list[str]
    action_ids: list[int]
    recorded_by: str | None
    recorded_at: dt.datetime


class Reviews(_Out):
    reviews: list[ReviewOut]


class BookCovers(_Out):
    """The week a weekly review covers, and how many KPI results each period shows (each KPI
    at its latest own period with a value or due by the week's end)."""

    start: dt.date
    end: dt.date
    periods: dict[str, int]


class BriefAnswer(_Out):
    """The briefing book of a unit's subtree for a period (format=json)."""

    unit: str
    unit_name: str
    period: str
    as_of: dt.date
    covers: BookCovers | None
    levels: int | None
    kpi_count: int
    units: list[dict[str, Any]]
    objectives: list[dict[str, Any]]
    red: list[BookKpiOut]
    amber: list[BookKpiOut]
    no_red: str | None
    findings: list[dict[str, Any]]
    finding_count: int
    overdue: list[dict[str, Any]]
    overdue_count: int
    previous_review: dict[str, Any] | None


def _account_name(account: object) -> str | None:
    return getattr(account, "username", None)


@router.get(
    "/units/{unit_id}/brief",
    response_model=BriefAnswer,
    summary="A unit's briefing book for a period (format json, html or pdf)",
)
def unit_brief(
    request: Request,
    unit_id: str,
    account: AccountDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
    review: Annotated[
        bool,
        Query(
            description="The review's book of `period` (each KPI at its latest period with a "
            "value or due by the period's end), not its report; the book without `period` is."
        ),
    ] = False,
    format: Annotated[
        Literal["json", "html", "pdf"], Query(description="json (default), html or pdf.")
    ] = "json",
    levels: Annotated[int | None, Query(ge=1, description="Only the first N levels.")] = None,
) -> Response:
    from lineofsight.services.brief import build_book

    cache = cache_of(request)
    org = organization(cache)
    readable_unit(account, cache.unit_tree(), unit_id)
    try:
        book = build_book(
            cache.store, unit_id, period=period, as_of=as_of, review=review, levels=levels, org=org
        )
    except UsageError as exc:
        if "--period" not in exc.summary and "--as-of" not in exc.summary:
            raise
        raise query_error(exc) from None
    if format == "pdf":
        from lineofsight.services.brief_pdf import book_pdf

        name = f"brief-{unit_id}-{book.period}.pdf"
        return Response(
            book_pdf(book),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )
    if format == "html":
        from lineofsight.services.brief_html import book_document

        return Response(book_document(book), media_type="text/html; charset=utf-8")
    return json_response(book_plain(book))


class ActionIn(BaseModel):
    """An action decided in the review: on a KPI or an objective of the unit's subtree, its
    subject written as `POST /api/v1/actions` writes it."""

    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    title: str = Field(min_length=1, max_length=500)
    owner: str | None = None
    due: dt.date | None = None


class ReviewIn(BaseModel):
    """The record of a review held."""

    model_config = ConfigDict(extra="forbid")

    unit: str
    period: str
    held_on: dt.date | None = Field(None, description="Default: today.")
    attendees: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    actions: list[ActionIn] = Field(default_factory=list)


@router.post(
    "/reviews",
    status_code=201,
    response_model=ReviewOut,
    summary="Record a review held: attendees, decisions, new actions",
    dependencies=[Depends(verify_csrf)],
)
def post_review(request: Request, body: ReviewIn, account: AccountDep) -> Response:
    from lineofsight.services.reviews import record_review

    cache = _recorder(request, account, body.unit)
    try:
        held = record_review(
            cache.store, _account_name(account), account=account, **_record(body.model_dump())
        )
    except UsageError as exc:
        raise UsageError(exc.summary, _as_sent(exc.problems)) from None
    return json_response(review_plain(held), status=201)


def _recorder(request: Request, account: Any, unit: str) -> Any:
    """The cache, once the account may record a review of the unit (404 or 403 otherwise)."""
    cache = cache_of(request)
    organization(cache)  # a store with no strategy yet says so
    # A unit that does not exist or that the account may not read: the same 404.
    readable_unit(account, cache.unit_tree(), unit)
    require(account, "edit_definitions", cache.unit_tree(), unit)
    return cache


def _record(fields: dict[str, Any]) -> dict[str, Any]:
    """The review service's arguments from a body's fields (those the schema accepted)."""
    from lineofsight.services.reviews import NewAction

    actions = []
    for a in fields.get("actions") or []:
        subject = a.get("subject") or {}
        actions.append(
            NewAction(
                subject.get("kind", "kpi"),
                subject.get("id", ""),
                a.get("title", ""),
                a.get("owner"),
                a.get("due"),
            )
        )
    return {
        "unit": fields.get("unit", ""),
        "period": fields.get("period", ""),
        "held_on": fields.get("held_on"),
        "attendees": fields.get("attendees") or [],
        "decisions": fields.get("decisions") or [],
        "actions": actions,
    }


@checks_body(post_review, ReviewIn)
def _review_problems(request: Request, fields: dict[str, Any]) -> list[dict[str, Any]]:
    from lineofsight.services.reviews import review_problems
    from lineofsight.web.security import api_account

    unit = fields.get("unit", "")
    account = api_account(request)
    try:
        cache = _recorder(request, account, unit)
    except ApiError as exc:
        if exc.status != 404 or exc.code != "not_found":
            raise  # no strategy yet, or not the account's to record: the schema's problems
        # The unit does not exist (or the account may not read it: the same answer), so
        # nothing else of the record can be checked: said first, before the schema's.
        return [{"field": "unit", "reason": f"unknown unit '{unit}'", "first": True}]
    problems = _as_sent(review_problems(cache.store, account=account, **_record(fields)))
    return [{"field": p.file, "reason": p.message} for p in problems]


# The review service names an action's subject as the record's form does (`subject_type`,
# `subject_id`); the API's body names it `subject.kind` and `subject.id`.
_SUBJECT_FIELD = re.compile(r"^(actions\[\d+\])\.subject_(type|id)$")


def _as_sent(problems: Sequence[Problem]) -> list[Problem]:
    """The problems of a review's record, each naming the field of the body sent."""

    def field(name: str) -> str:
        found = _SUBJECT_FIELD.match(name)
        if found is None:
            return name
        return f"{found[1]}.subject.{'kind' if found[2] == 'type' else 'id'}"

    return [Problem(field(p.file), p.line, p.message, p.is_row) for p in problems]


@router.get(
    "/reviews", response_model=Reviews, summary="Reviews held (of a unit), the latest first"
)
def get_reviews(
    request: Request,
    account: AccountDep,
    unit: Annotated[str | None, Query(description="Only this unit's reviews.")] = None,
) -> Response:
    from lineofsight.services.reviews import reviews_of

    cache = cache_of(request)
    readable = readable_units(account, cache.unit_tree())
    if unit is not None:
        readable_unit(account, cache.unit_tree(), unit)
    units = [unit] if unit is not None else (None if readable is None else sorted(readable))
    found = reviews_of(cache.store, units, limit=200)
    return json_response({"reviews": [review_plain(r) for r in found]})


@router.get("/reviews/{review_id}", response_model=ReviewOut, summary="One review held")
def get_review(
    request: Request,
    review_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The review's number.")],
    account: AccountDep,
) -> Response:
    from lineofsight.errors import UsageError
    from lineofsight.services.reviews import review

    cache = cache_of(request)
    try:
        found = review(cache.store, review_id)
    except UsageError:
        raise not_found(f"review {review_id}") from None
    require(account, "read", cache.unit_tree(), found.unit)
    return json_response(review_plain(found))
