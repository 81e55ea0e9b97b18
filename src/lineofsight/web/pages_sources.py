"""The data sources page: each source's kind, schedule, KPIs, last and next run, state, rows,
duration and last error; admins and editors start a refresh from it.

    /sources                     the list (any signed-in account)
    /sources/{name}/refresh      POST (CSRF): start a refresh, then back to the list

A refresh started here runs on its own thread (see `api_sources.start_refresh`): the page
answers at once and shows the source as running. Settings show as written: a secret stays an
`env:NAME` reference.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.display import utc_minute
from lineofsight.services.accounts import Account
from lineofsight.web.api_sources import may_refresh, start_refresh, visible_sources
from lineofsight.web.pagekit import keep_period, store_of
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()


@router.get("/sources", response_class=HTMLResponse, include_in_schema=False)
def sources_page(
    request: Request,
    started: str = "",
    account: Account = Depends(page_account),
) -> HTMLResponse:
    statuses = visible_sources(request, account)
    return render(
        request,
        "sources.html",
        sources=statuses,
        when=utc_minute,
        may_refresh=may_refresh(account, request),
        started=started if any(s.name == started for s in statuses) else "",
    )


@router.post(
    "/sources/{name}/refresh",
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def refresh_submit(
    request: Request,
    name: str,
    full: Annotated[str, Form()] = "",
    account: Account = Depends(page_account),
) -> Response:
    start_refresh(
        request, store_of(request), account, name, full=full == "on", wait=False, via="web"
    )
    return RedirectResponse(keep_period(request, "/sources", started=name), status_code=303)
