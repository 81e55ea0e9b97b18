"""What the API's read and write endpoints share: the cache, permission checks, JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from lineofsight.domain import model as m
from lineofsight.errors import Problem, UsageError
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import UnitTree, allows, refusal
from lineofsight.services.scorecards import Scorecard, ScorecardCache
from lineofsight.web.errors import ApiError, forbidden, not_found
from lineofsight.web.security import api_account

AccountDep = Annotated[Account, Depends(api_account)]
PeriodQuery = Annotated[
    str | None, Query(description="Evaluate as of the last day of this period (e.g. 2026-Q3).")
]
AsOfQuery = Annotated[
    str | None, Query(description="Evaluate as of this date (YYYY-MM-DD); default today.")
]


def cache_of(request: Request) -> ScorecardCache:
    return request.app.state.scorecards  # type: ignore[no-any-return]


class JSONBytes(Response):
    media_type = "application/json"


def json_response(data: Any, status: int = 200) -> Response:
    """JSON with dates as ISO text (what the CLI's JSON output does)."""
    import json

    return JSONBytes(
        json.dumps(data, ensure_ascii=False, default=_plain).encode(), status_code=status
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def require(
    account: Account,
    action: str,
    tree: UnitTree,
    unit_id: str | None,
    kpi_owner: str | None = None,
) -> None:
    """403 unless the account may do `action` on the unit."""
    if not allows(account, action, unit_id=unit_id, kpi_owner=kpi_owner, org=tree):
        raise forbidden(refusal(account, action, unit_id=unit_id, kpi_owner=kpi_owner, org=tree))


def readable_unit(account: Account, tree: UnitTree, unit_id: str) -> None:
    """404 `unit 'X' not found` for a unit that does not exist or that the account may not
    read: the same answer, so that a reader scoped to some units cannot tell which units
    exist outside them by asking for them."""
    if unit_id not in tree.parents:
        raise not_found(f"unit '{unit_id}'")
    readable_item(account, tree, unit_id, f"unit '{unit_id}'")


def readable_item(account: Account, tree: UnitTree, unit_id: str | None, what: str) -> None:
    """404 `WHAT not found` unless the account may read unit `unit_id` (the item's): a KPI,
    objective, person or unit outside the account's units is answered as one that does not
    exist, so that a reader scoped to some units cannot tell which ids exist outside them
    by asking for them."""
    if not allows(account, "read", unit_id=unit_id, org=tree):
        raise not_found(what)


def scorecard_for(cache: ScorecardCache, period: str | None, as_of: str | None) -> Scorecard:
    """The cached scorecard; 422 naming the query field for a bad period or date."""
    try:
        return cache.scorecard(period, as_of)
    except UsageError as exc:
        raise query_error(exc) from None


def query_error(exc: UsageError) -> UsageError:
    """A service's complaint about `--period` or `--as-of` (as the command line names them)
    as the API's 422 naming its query field, `period` or `as_of`."""
    field = "period" if "--period" in exc.summary else "as_of"
    reason = exc.summary.replace("--period", "period").replace("--as-of", "as_of")
    return UsageError(reason, [Problem(field, 0, reason)])


def organization(cache: ScorecardCache) -> m.Organization:
    try:
        return cache.organization()
    except UsageError as exc:
        raise ApiError(404, exc.summary, code="no_strategy") from None


def kpi_or_404(org: m.Organization, kpi_id: str) -> m.Kpi:
    kpi = org.kpis_by_id().get(kpi_id)
    if kpi is None:
        raise not_found(f"KPI '{kpi_id}'")
    return kpi


def scorecard_day(cache: ScorecardCache, as_of: str | None) -> dt.date:
    try:
        return cache.as_of(None, as_of)
    except UsageError as exc:
        reason = exc.summary.replace("--as-of", "as_of")
        raise UsageError(reason, [Problem("as_of", 0, reason)]) from None
