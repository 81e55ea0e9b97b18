"""The JSON API of the data sources: list them, read one's state and runs, start a refresh.

A refresh started here runs on a thread of its own (the request answers 202 at once) unless
`wait=true` asks for its summary; one refresh of a source at a time per server (409 while one
runs). Starting one needs the `refresh` permission on the whole organisation (admins and
editors) and is written to the audit log; with a session cookie, the session's CSRF token.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lineofsight.errors import LineOfSightError
from lineofsight.services import audit
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import allows
from lineofsight.services.refresh import SourceSummary, refresh
from lineofsight.services.sources import SourceStatus, source_runs, source_status, source_statuses
from lineofsight.store.database import Store
from lineofsight.web import api_models as am
from lineofsight.web.api_common import AccountDep, cache_of, json_response
from lineofsight.web.errors import ApiError, forbidden, not_found
from lineofsight.web.security import verify_csrf

logger = logging.getLogger(__name__)
router = APIRouter()
writes = APIRouter(dependencies=[Depends(verify_csrf)])


class Running:
    """The sources being refreshed by this server, so that one source runs once at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: set[str] = set()

    def claim(self, name: str) -> bool:
        with self._lock:
            if name in self._names:
                return False
            self._names.add(name)
            return True

    def release(self, name: str) -> None:
        with self._lock:
            self._names.discard(name)


def running_of(request: Request) -> Running:
    state = request.app.state
    found = getattr(state, "refreshing", None)
    if found is None:
        found = state.refreshing = Running()
    return found


def may_refresh(account: Account | None, request: Request) -> bool:
    """Whether the account may start a refresh (on the whole organisation)."""
    return allows(account, "refresh", unit_id=None, org=cache_of(request).unit_tree())


def start_refresh(
    request: Request, store: Store, account: Account, name: str, *, full: bool, wait: bool, via: str
) -> SourceSummary | None:
    """Start a refresh of source `name` for `account` (403, 404, 409 as the API says): its
    summary when `wait`, else None once its thread has started. Audit-logged."""
    if not may_refresh(account, request):
        raise forbidden("your role does not allow 'refresh' on the whole organisation")
    if source_status(store, name) is None:
        raise not_found(f"source '{name}'")
    running = running_of(request)
    if not running.claim(name):
        raise ApiError(409, f"a refresh of source '{name}' is running", code="running")
    try:
        with store.transaction() as conn:
            audit.record(
                conn,
                actor=account.username,
                action="source.refresh",
                subject=name,
                after={"full": full, "via": via},
            )
    except BaseException:
        running.release(name)
        raise

    def run() -> SourceSummary | None:
        try:
            report = refresh(store, sources=(name,), full=full, trigger=via, actor=account.username)
            return report.sources[0]
        except LineOfSightError as exc:  # no strategy any more, the store busy: logged
            logger.warning("refresh of source %s did not run: %s", name, exc)
            return None
        finally:
            running.release(name)

    if wait:
        return run()
    threading.Thread(target=run, name=f"los-refresh-{name}", daemon=True).start()
    return None


def visible_sources(request: Request, account: Account) -> list[SourceStatus]:
    """The sources, each listing only the KPIs of units the account may read (a source whose
    KPIs are all outside them is not listed)."""
    import dataclasses

    from lineofsight.errors import UsageError
    from lineofsight.services.permissions import readable_units

    cache = cache_of(request)
    statuses = source_statuses(cache.store)
    try:
        org = cache.organization()
    except UsageError:
        return statuses
    units = readable_units(account, cache.unit_tree())
    if units is None:
        return statuses
    unit_of = {kpi.id: kpi.unit for kpi in org.kpis}
    found = []
    for status in statuses:
        kpis = tuple(k for k in status.kpis if unit_of.get(k) in units)
        if kpis or not status.kpis:
            found.append(dataclasses.replace(status, kpis=kpis))
    return found


@router.get(
    "/sources",
    response_model=am.Sources,
    summary="The data sources: kind, schedule, KPIs, last and next run",
)
def list_sources(request: Request, account: AccountDep) -> Response:
    """Each source as `los sources --format json` gives it. Settings show as written: a
    secret stays an `env:NAME` reference. An account scoped to units sees the KPIs of its
    units only."""
    statuses = visible_sources(request, account)
    return json_response({"sources": [s.as_json() for s in statuses]})


@router.get(
    "/sources/{name}",
    response_model=am.SourceWithRuns,
    summary="A data source's state and its recent runs",
)
def get_source(request: Request, name: str, account: AccountDep) -> Response:
    """The source (as in `GET sources`) with its last 20 runs, newest first."""
    store = cache_of(request).store
    status = next((s for s in visible_sources(request, account) if s.name == name), None)
    if status is None:
        raise not_found(f"source '{name}'")
    return json_response({**status.as_json(), "runs": source_runs(store, name)})


@writes.post(
    "/sources/{name}/refresh",
    status_code=202,
    response_model=am.RefreshStarted,
    responses={200: {"model": am.RefreshSummary, "description": "Refreshed (wait=true)"}},
    summary="Start a refresh of a data source",
)
def post_refresh(
    request: Request,
    name: str,
    account: AccountDep,
    full: Annotated[
        bool, Query(description="Read every period again, not only from :since.")
    ] = False,
    wait: Annotated[
        bool, Query(description="Answer when the refresh has ended, with its summary (200).")
    ] = False,
) -> Response:
    """Admins and editors. 202 once the refresh has started (`GET sources/{name}` shows its
    state); with `wait=true`, 200 and the summary (a failed source is `state: failed` with its
    `reason` and `error`). 409 while a refresh of the source runs (started here, or, with
    `wait=true`, by another process)."""
    store = cache_of(request).store
    summary = start_refresh(request, store, account, name, full=full, wait=wait, via="api")
    if summary is None and wait:
        raise ApiError(503, f"the refresh of source '{name}' did not run: see the server's log")
    if summary is None:
        return json_response({"source": name, "state": "running"}, 202)
    if summary.reason == "running":  # started by another process (`los refresh`, a scheduler)
        raise ApiError(
            409, summary.error or f"a refresh of source '{name}' is running", code="running"
        )
    return json_response(summary.as_json(), 200)


router.include_router(writes)
