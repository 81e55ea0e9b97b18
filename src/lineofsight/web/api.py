"""The JSON API, version 1 (mounted at /api/v1): reads here, writes in `api_write`.

Every answer comes from the services (the engine computes scores, checks, forecasts and
explanations); this module only checks permissions, picks what to show and writes JSON.
Read endpoints need the `read` permission on the unit concerned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lineofsight.checks.registry import rule_by_code
from lineofsight.domain import model as m
from lineofsight.errors import InputError, Problem, UsageError
from lineofsight.services import kpi_detail
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import (
    UnitTree,
    readable_units,
    visible_explanation,
    visible_links,
    visible_organization,
)
from lineofsight.services.shapes import (
    explanation_plain,
    finding_plain,
    forecast_plain,
    trace_plain,
)
from lineofsight.spec.dump import kpi_to_plain, objective_to_plain, person_to_plain, unit_to_plain
from lineofsight.web import (
    api_actions,
    api_inbox,
    api_objectives,
    api_operations,
    api_reviews,
    api_sources,
    api_write,
)
from lineofsight.web import api_models as am
from lineofsight.web.api_common import (
    AccountDep,
    AsOfQuery,
    JSONBytes,
    PeriodQuery,
    cache_of,
    json_response,
    kpi_or_404,
    organization,
    readable_item,
    readable_unit,
    scorecard_day,
    scorecard_for,
)
from lineofsight.web.errors import ApiError, not_found
from lineofsight.web.security import api_account
from lineofsight.web.templating import source_name

router = APIRouter(dependencies=[Depends(api_account)])


@router.get(
    "/status", response_model=am.Status, summary="Scores and statuses of KPIs, objectives and units"
)
def status(
    request: Request,
    account: AccountDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
    unit: Annotated[str | None, Query(description="Only this unit and its subtree.")] = None,
) -> Response:
    """The shape of `los status --format json`, limited to the units the account may read."""
    if period and as_of:
        raise UsageError(
            "give period or as_of, not both", [Problem("period", 0, "give period or as_of")]
        )
    cache = cache_of(request)
    card = scorecard_for(cache, period, as_of)
    tree = cache.unit_tree(card.revision)
    return JSONBytes(card.status_json(_units_in_scope(account, tree, unit)))


def _units_in_scope(account: Account, tree: UnitTree, unit: str | None) -> set[str] | None:
    """The units an answer covers: `unit` and its subtree (404 if unknown or not readable),
    else every unit the account may read (None: all of them). A role that
    covers a unit covers its subtree, so the subtree needs no further filtering."""
    if unit is None:
        return readable_units(account, tree)
    readable_unit(account, tree, unit)
    return tree.subtree(unit)


@router.get(
    "/kpis/{kpi_id}",
    response_model=am.KpiAnswer,
    summary="A KPI: definition, latest values, target path",
)
def kpi(
    request: Request,
    kpi_id: str,
    account: AccountDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    cache = cache_of(request)
    org = organization(cache)
    found = kpi_or_404(org, kpi_id)
    tree = cache.unit_tree()
    readable_item(account, tree, found.unit, f"KPI '{kpi_id}'")
    card = scorecard_for(cache, period, as_of)
    readable = readable_units(account, tree)
    values = [row for row in card.kpi_rows(kpi_id) if readable is None or row["unit"] in readable]
    return json_response(
        {
            "as_of": card.as_of,
            "kpi": kpi_to_plain(visible_links(found, org, readable)),
            "values": values,
            "target_path": kpi_detail.target_path(found, org.calendar, card.as_of),
        }
    )


@router.get(
    "/kpis/{kpi_id}/measurements",
    response_model=am.Measurements,
    summary="A KPI's history: values, notes, revisions",
)
def kpi_measurements(request: Request, kpi_id: str, account: AccountDep) -> Response:
    cache = cache_of(request)
    found = kpi_or_404(organization(cache), kpi_id)
    tree = cache.unit_tree()
    readable_item(account, tree, found.unit, f"KPI '{kpi_id}'")
    readable = readable_units(account, tree)
    history = [
        _named_sources(row)
        for row in kpi_detail.kpi_history(cache.store, kpi_id)
        if readable is None or row["unit"] in readable
    ]
    return json_response({"kpi": kpi_id, "measurements": history})


def _named_sources(row: dict[str, Any]) -> dict[str, Any]:
    """A stored value with where it came from as a user named it (a loaded file's name, not
    the folder it was loaded from on the server), its earlier revisions too."""
    revisions = [{**r, "source": source_name(r["source"]) or None} for r in row["revisions"]]
    return {**row, "source": source_name(row["source"]) or None, "revisions": revisions}


@router.get(
    "/kpis/{kpi_id}/forecast",
    response_model=am.Forecasts,
    summary="A KPI projected to its target dates",
)
def kpi_forecast(
    request: Request, kpi_id: str, account: AccountDep, as_of: AsOfQuery = None
) -> Response:
    cache = cache_of(request)
    org = organization(cache)
    found = kpi_or_404(org, kpi_id)
    readable_item(account, cache.unit_tree(), found.unit, f"KPI '{kpi_id}'")
    day = scorecard_day(cache, as_of)
    forecasts = kpi_detail.kpi_forecasts(cache.store, org, kpi_id, day)
    kpi = org.kpis_by_id()[kpi_id]
    return json_response({"as_of": day, "kpis": [forecast_plain(f, kpi) for f in forecasts]})


@router.get(
    "/kpis/{kpi_id}/explain",
    response_model=am.Explanation,
    summary="What drove a KPI's change between two periods",
)
def kpi_explain(
    request: Request,
    kpi_id: str,
    account: AccountDep,
    from_period: Annotated[str, Query(alias="from", description="The earlier period.")],
    to_period: Annotated[str, Query(alias="to", description="The later period.")],
    depth: Annotated[int, Query(ge=1, le=10)] = 1,
    unit: str | None = None,
) -> Response:
    from lineofsight.services.explain import explain_change

    cache = cache_of(request)
    org = organization(cache)
    found = kpi_or_404(org, kpi_id)
    tree = cache.unit_tree()
    if unit is not None:
        readable_unit(account, tree, unit)
    readable_item(account, tree, unit or found.unit, f"KPI '{kpi_id}'")
    try:
        result = explain_change(cache.store, kpi_id, from_period, to_period, depth=depth, unit=unit)
    except InputError as exc:
        # The service names the command line's options ("--to '2026-13' is not..."): the
        # API names its query fields, as every other message does ("to: '2026-13' ...").
        reason = exc.summary
        for option in ("from", "to", "unit", "depth"):
            reason = reason.replace(f"--{option} ", f"{option}: ").replace(f"--{option}", option)
        field = next((o for o in ("from", "to", "unit", "depth") if f"--{o}" in exc.summary), "kpi")
        raise UsageError(reason, [Problem(field, 0, reason)]) from None
    readable = readable_units(account, tree)
    units = {k.id: k.unit for k in org.kpis}

    def see(kind: str, item_id: str) -> bool:
        where = item_id if kind == "unit" else units.get(item_id)
        return readable is None or where in readable

    return json_response(explanation_plain(visible_explanation(result.explanation, see)))


def _unit_of_item(org: m.Organization, item_id: str) -> str | None:
    for collection in (org.kpis, org.objectives, org.people):
        for item in collection:
            if item.id == item_id:
                return item.unit
    return None


@router.get(
    "/trace/{item_id}",
    response_model=am.Trace,
    summary="The line of sight from a KPI, objective or person",
)
def trace(request: Request, item_id: str, account: AccountDep) -> Response:
    cache = cache_of(request)
    org = organization(cache)
    unit = _unit_of_item(org, item_id)
    if unit is None:
        raise not_found(f"KPI, objective or person '{item_id}'")
    tree = cache.unit_tree()
    readable_item(account, tree, unit, f"KPI, objective or person '{item_id}'")
    # Traced in what the account may read: a path stops where the account's scope ends.
    result = kpi_detail.line_of_sight(
        visible_organization(org, readable_units(account, tree)), item_id
    )
    if result is None:
        raise not_found(f"KPI, objective or person '{item_id}'")
    return json_response(trace_plain(result))


def _finding_unit(org: m.Organization, kind: str, item_id: str) -> str | None:
    if kind == "unit":
        return item_id
    return _unit_of_item(org, item_id)


def _check_filters(codes: set[str], levels: set[str]) -> None:
    """422 naming each unknown rule code or severity: a typo must not read as "no findings"."""
    known = rule_by_code()
    details = [
        {"field": "rule", "reason": f"unknown rule {code!r} (rules: {', '.join(sorted(known))})"}
        for code in sorted(codes - set(known))
    ]
    details += [
        {"field": "severity", "reason": f"{level!r} is not error, warning or info"}
        for level in sorted(levels - {"error", "warning", "info"})
    ]
    if details:
        raise ApiError(
            422, "; ".join(f"{d['field']}: {d['reason']}" for d in details), details=details
        )


@router.get("/checks", response_model=am.Findings, summary="Alignment findings (`los check`)")
def checks(
    request: Request,
    account: AccountDep,
    rule: Annotated[list[str] | None, Query(description="Only these rule codes.")] = None,
    severity: Annotated[
        list[str] | None, Query(description="Only these severities: error, warning, info.")
    ] = None,
    unit: Annotated[str | None, Query(description="Only findings in this unit's subtree.")] = None,
    as_of: AsOfQuery = None,
) -> Response:
    cache = cache_of(request)
    org = organization(cache)
    tree = cache.unit_tree()
    day = scorecard_day(cache, as_of)
    wanted = _units_in_scope(account, tree, unit)
    codes = {c.strip().upper() for raw in rule or [] for c in raw.split(",") if c.strip()}
    levels = {s.strip().lower() for raw in severity or [] for s in raw.split(",") if s.strip()}
    _check_filters(codes, levels)
    report = cache.findings(day)
    findings = []
    for f in report.findings:
        if codes and f.code not in codes:
            continue
        if levels and f.severity.value not in levels:
            continue
        where = _finding_unit(org, f.subject.kind.value, f.subject.id)
        if wanted is not None and where not in wanted:
            continue
        findings.append({**finding_plain(f), "unit": where})
    return json_response({"as_of": report.as_of, "findings": findings})


@router.get(
    "/units/{unit_id}",
    response_model=am.UnitAnswer,
    summary="A unit: its score, KPIs, objectives and child units",
)
def unit(
    request: Request,
    unit_id: str,
    account: AccountDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    cache = cache_of(request)
    org = organization(cache)
    readable_unit(account, cache.unit_tree(), unit_id)
    found = org.units_by_id()[unit_id]
    card = scorecard_for(cache, period, as_of)
    ev = card.for_units([unit_id])
    score = ev.units.to_dicts()
    return json_response(
        {
            "as_of": card.as_of,
            "unit": unit_to_plain(found),
            "score": score[0] if score else None,
            "kpis": ev.kpis.drop("own_unit", strict=False).to_dicts(),
            "objectives": ev.objectives.to_dicts(),
            "children": [u.id for u in org.units if u.parent == unit_id],
        }
    )


@router.get(
    "/people/{person_id}",
    response_model=am.PersonAnswer,
    summary="A person: the KPIs and objectives they own",
)
def person(
    request: Request,
    person_id: str,
    account: AccountDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    cache = cache_of(request)
    org = organization(cache)
    found = next((p for p in org.people if p.id == person_id), None)
    if found is None:
        raise not_found(f"person '{person_id}'")
    tree = cache.unit_tree()
    if account.person_id != person_id:
        readable_item(account, tree, found.unit, f"person '{person_id}'")
    # Only what the account's roles let it read, on its own person too.
    readable = readable_units(account, tree)
    card = scorecard_for(cache, period, as_of)
    owned = [
        k for k in org.kpis if k.owner == person_id and (readable is None or k.unit in readable)
    ]
    rows = []
    for k in owned:
        own = [r for r in card.kpi_rows(k.id) if r["unit"] == k.unit]
        rows.append({"id": k.id, "name": k.name, **(own[0] if own else {"unit": k.unit})})
    objectives = {
        o.id: o
        for o in org.objectives
        if o.owner == person_id and (readable is None or o.unit in readable)
    }
    objective_rows = [
        {**objective_to_plain(visible_links(objectives[i], org, readable)), **r}
        for i, r in card.objective_rows().items()
        if i in objectives
    ]
    return json_response(
        {
            "as_of": card.as_of,
            "person": person_to_plain(found),
            "kpis": rows,
            "objectives": objective_rows,
        }
    )


router.include_router(api_inbox.router)
router.include_router(api_write.router)
router.include_router(api_sources.router)
router.include_router(api_reviews.router)
router.include_router(api_actions.router)
router.include_router(api_objectives.router)
router.include_router(api_operations.router)
