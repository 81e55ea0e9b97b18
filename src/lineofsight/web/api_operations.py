"""The JSON API of the operating rhythm's machinery, for administrators of the whole
organisation: the scheduled jobs (as `los jobs` lists them) and the notifications' outbox (as
the page /notifications/sent shows it), with "send again" for a failed message or one that may
have been sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from lineofsight.errors import UsageError
from lineofsight.services import notify_admin
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import allows
from lineofsight.web.api_common import AccountDep, cache_of, json_response
from lineofsight.web.errors import ApiError, forbidden, not_found
from lineofsight.web.security import verify_csrf

router = APIRouter()
MAX_ID = 2**31 - 1  # message numbers are the store's 32-bit integers


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class RunOutside(_Out):
    """The job's work run since outside the scheduler (a refresh by hand, from the web app or
    the API)."""

    finished_at: str
    trigger: str = Field(description="command, web or api")
    error: str | None


class JobOut(_Out):
    """A scheduled job: a source's refresh, the notifications, the briefing books, the kept
    scorecards."""

    key: str
    schedule: str
    state: str
    next_due: str = Field(description="ISO 8601, UTC.")
    last_started_at: str | None
    last_finished_at: str | None
    last_outcome: str | None
    last_error: str | None
    attempts: int = Field(description="Runs failed in a row.")
    last_run_outside: RunOutside | None


class Jobs(_Out):
    jobs: list[JobOut]


class NotificationOut(_Out):
    """A message of the outbox."""

    id: int
    key: str
    kind: str
    channel: str
    recipient: str
    address: str | None
    subject: str | None
    reason: str | None
    state: str = Field(description="As stored: queued, sending, retry, sent, failed, ...")
    shown_state: str = Field(description="'sending' past its lease shows as 'may have been sent'.")
    attempts: int
    created_at: str | None = Field(description="ISO 8601, UTC.")
    sent_at: str | None = Field(description="ISO 8601, UTC.")
    next_attempt_at: str | None = Field(description="ISO 8601, UTC.")
    last_error: str | None
    resendable: bool


class Notifications(_Out):
    counts: dict[str, int] = Field(description="Messages per state shown.")
    notifications: list[NotificationOut] = Field(description="The newest 500, newest first.")


class Resent(_Out):
    id: int
    state: str = Field(description="'queued': it is sent again by the next sending.")
    was: str = Field(description="The state it was shown in before.")


def _require_admin(request: Request, account: Account) -> None:
    from lineofsight.services.permissions import UnitTree

    try:
        tree = cache_of(request).unit_tree()
    except UsageError:  # no strategy applied yet: an organisation-wide grant still counts
        tree = UnitTree({})
    if not allows(account, "manage_users", unit_id=None, org=tree):
        raise forbidden(
            "the jobs and the notifications are for administrators of the whole organisation"
        )


@router.get(
    "/jobs",
    response_model=Jobs,
    summary="The scheduled jobs: state, next run, last outcome (organisation-wide admins)",
)
def get_jobs(request: Request, account: AccountDep) -> Response:
    from lineofsight.services.jobs import scheduled_jobs
    from lineofsight.services.scheduler import job_statuses

    _require_admin(request, account)
    store = cache_of(request).store
    now = dt.datetime.now(dt.UTC)
    return json_response(
        {"jobs": [s.plain(now) for s in job_statuses(store, scheduled_jobs(store))]}
    )


@router.get(
    "/notifications",
    response_model=Notifications,
    summary="The notifications' outbox, newest first (organisation-wide admins)",
)
def get_notifications(
    request: Request,
    account: AccountDep,
    state: Annotated[str, Query(description="Only the messages shown in this state.")] = "",
) -> Response:
    _require_admin(request, account)
    wanted = notify_admin.check_state(state)
    store = cache_of(request).store
    now = dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {
        "counts": notify_admin.counts(store, now),
        "notifications": notify_admin.outbox(store, now, state=wanted, iso_times=True),
    }
    return json_response(data)


@router.post(
    "/notifications/{message_id}/resend",
    response_model=Resent,
    summary="Send a failed message, or one that may have been sent, again",
    dependencies=[Depends(verify_csrf)],
)
def post_resend(
    request: Request,
    account: AccountDep,
    message_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The message's number.")],
) -> Response:
    _require_admin(request, account)
    outcome, shown = notify_admin.resend(
        cache_of(request).store, message_id, dt.datetime.now(dt.UTC), actor=account.username
    )
    if outcome is notify_admin.Resend.UNKNOWN:
        raise not_found(f"notification {message_id}")
    if outcome is notify_admin.Resend.NOT_NOW:
        raise ApiError(
            409,
            f"notification {message_id} is {shown!r}: only a failed message, or one that may "
            "have been sent, can be sent again",
        )
    return json_response({"id": message_id, "state": "queued", "was": shown})
