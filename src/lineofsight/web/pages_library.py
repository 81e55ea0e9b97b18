"""The KPI library in the browser: search the catalogue, show an entry, add it to the strategy.

    /library                  search (?q=, ?function=, ?industry=, ?level=, ?mode=)
    /library/{id}             one catalogue entry, its drivers and what it drives
    /library/{id}/add         the add form (GET) and the addition (POST, editors and admins)

Everything about the catalogue comes from services.library, as for `los library`; adding
adds the items to the store's definitions as they are (never to unapplied edits of the file
on disk), credited to the user with an audit row in the same transaction, and checked by the
same scope rule as every other write (`permissions.refused_definitions`): a unit editor may
not link the new KPI to an objective, a formula input or an owner outside their units.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from lineofsight.domain.text import noun
from lineofsight.errors import InputError, UsageError
from lineofsight.services import library
from lineofsight.services.accounts import Account
from lineofsight.web.pagedata import Snapshot
from lineofsight.web.pagekit import can, page_snapshot, require, store_of, today
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter()

RESULTS = 20  # results per search: a page that is read, not paged through
MAX_QUERY = 400  # characters of a query that are searched


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _modes() -> list[str]:
    """The search modes this installation offers (semantic needs the optional model)."""
    return list(library.MODES) if library.semantic_available() else ["lexical"]


@router.get("/library", response_class=HTMLResponse, include_in_schema=False)
def search_page(
    request: Request,
    q: str = "",
    function: str = "",
    industry: str = "",
    level: str = "",
    mode: str = "lexical",
    account: Account = Depends(page_account),
) -> HTMLResponse:
    query = q.strip()[:MAX_QUERY]
    form = {"q": query, "function": function, "industry": industry, "level": level, "mode": mode}
    results: list[library.SearchResult] = []
    error = None
    if query:
        try:
            results = library.search(
                query,
                function=_blank(function),
                industry=_blank(industry),
                level=_blank(level),
                limit=RESULTS,
                mode=mode,  # type: ignore[arg-type]  # the service checks it
            )
        except UsageError as exc:
            error = exc.summary
    return render(
        request,
        "library.html",
        status_code=422 if error else 200,
        form=form,
        results=results,
        error=error,
        searched=bool(query),
        functions=library.FUNCTIONS,
        industries=library.INDUSTRIES,
        levels=library.LEVELS,
        modes=_modes(),
    )


def _snapshot_or_none(request: Request) -> Snapshot | None:
    """The organisation's snapshot, or None while no strategy has been applied."""
    try:
        return page_snapshot(request, today())
    except UsageError:
        return None


def _editable_units(account: Account, snap: Snapshot | None) -> list[str]:
    """The units whose definitions the account may edit, in the strategy's order."""
    if snap is None:
        return []
    return [u.id for u in snap.org.units if can(account, "edit_definitions", snap, u.id)]


def _view_or_404(kpi_id: str) -> library.EntryView:
    try:
        return library.show(kpi_id)
    except UsageError as exc:
        raise HTTPException(status_code=404, detail=exc.summary) from None


@router.get("/library/{kpi_id}", response_class=HTMLResponse, include_in_schema=False)
def entry_page(
    request: Request, kpi_id: str, account: Account = Depends(page_account)
) -> HTMLResponse:
    view = _view_or_404(kpi_id)
    snap = _snapshot_or_none(request)
    in_strategy = snap is not None and view.entry.id in snap.kpis
    return render(
        request,
        "library_entry.html",
        view=view,
        item=view.entry,
        in_strategy=in_strategy,
        may_add=bool(_editable_units(account, snap)) and not in_strategy,
    )


def _add_context(request: Request, kpi_id: str, account: Account) -> dict[str, Any]:
    """The entry and the choices of the add form; 403 for accounts that may edit nothing."""
    view = _view_or_404(kpi_id)
    snap = _snapshot_or_none(request)
    units = _editable_units(account, snap)
    require(bool(units), "the library's add form (editors and admins only)")
    assert snap is not None
    objectives = [o for o in snap.org.objectives if o.unit in set(units)]
    return {
        "view": view,
        "item": view.entry,
        "snap": snap,
        "units": [snap.units[u] for u in units],
        # A KPI's owner is linked to it like its objective: only people of the units the
        # account may edit are offered (and others are refused on submit).
        "people": [p for p in snap.org.people if p.unit in set(units)],
        "objectives": objectives,
    }


@router.get("/library/{kpi_id}/add", response_class=HTMLResponse, include_in_schema=False)
def add_form(
    request: Request, kpi_id: str, account: Account = Depends(page_account)
) -> HTMLResponse:
    context = _add_context(request, kpi_id, account)
    form = {"unit": "", "owner": "", "supports": ""}
    return render(request, "library_add.html", form=form, errors=[], **context)


@router.post(
    "/library/{kpi_id}/add",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)
def add_submit(
    request: Request,
    kpi_id: str,
    unit: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    supports: Annotated[str, Form()] = "",
    account: Account = Depends(page_account),
) -> Response:
    context = _add_context(request, kpi_id, account)
    form = {"unit": unit.strip(), "owner": owner.strip(), "supports": supports.strip()}
    errors: list[str] = []
    if not form["unit"]:
        errors.append("unit: choose the unit the KPI belongs to")
    elif form["unit"] in context["snap"].units:
        # The add form lists only the units the account may edit; a forged one is refused.
        require(
            can(account, "edit_definitions", context["snap"], form["unit"]),
            f"the definitions of unit '{form['unit']}'",
        )
    if not form["owner"]:
        errors.append("owner: choose the person who owns the KPI")
    if not errors:
        try:
            result = _add(request, kpi_id, form, account)
        except InputError as exc:
            errors.append(exc.summary)
            errors += [str(problem) for problem in exc.problems]
        else:
            return render(request, "library_added.html", result=result, **context)
    return render(request, "library_add.html", status_code=422, form=form, errors=errors, **context)


def _add(
    request: Request, kpi_id: str, form: dict[str, str], account: Account
) -> library.AddResult:
    from lineofsight.services import audit
    from lineofsight.services.permissions import refused_definitions

    def authorize(before: Any, after: Any) -> None:
        refused = refused_definitions(account, before, after)
        if refused:
            where = ", ".join("the whole organisation" if u is None else f"'{u}'" for u in refused)
            raise HTTPException(
                status_code=403,
                detail=f"this addition reaches {noun(len(refused), 'unit')} your role may not "
                f"edit: {where}",
            )

    def write_audit(conn: Any, _plan: Any) -> None:
        audit.record(
            conn,
            actor=account.username,
            action="library.add",
            subject=kpi_id,
            after={"unit": form["unit"], "owner": form["owner"], "supports": form["supports"]},
        )

    return library.add_to_store(
        store_of(request),
        kpi_id,
        unit=form["unit"],
        owner=form["owner"],
        supports=form["supports"] or None,
        actor=account.username,
        authorize=authorize,
        also=write_audit,
    )
