"""The JSON API's objective: its score, status, coverage, items by status and worst item, the
KPIs that measure it and the objectives below it, as the objective page shows them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lineofsight.services.permissions import readable_units, visible_links
from lineofsight.spec.dump import objective_to_plain
from lineofsight.web import api_action_models as amx
from lineofsight.web.api_common import (
    AccountDep,
    AsOfQuery,
    PeriodQuery,
    cache_of,
    json_response,
    organization,
    readable_item,
    scorecard_for,
)
from lineofsight.web.errors import not_found
from lineofsight.web.security import api_account

router = APIRouter(dependencies=[Depends(api_account)])


@router.get(
    "/objectives/{objective_id}",
    response_model=amx.ObjectiveAnswer,
    summary="An objective: score, items, its KPIs",
)
def objective(
    request: Request,
    objective_id: str,
    account: AccountDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    """`score` carries `score`, `status`, `coverage`, `counts` and `worst`; `kpis` the rows of
    the KPIs that support it (at their own unit) and `children` the objectives below it, both
    limited to the units the account may read."""
    cache = cache_of(request)
    org = organization(cache)
    found = next((o for o in org.objectives if o.id == objective_id), None)
    if found is None:
        raise not_found(f"objective '{objective_id}'")
    tree = cache.unit_tree()
    readable_item(account, tree, found.unit, f"objective '{objective_id}'")
    readable = readable_units(account, tree)
    card = scorecard_for(cache, period, as_of)
    units = {k.id: k.unit for k in org.kpis}
    supporters = [
        k.id
        for k in org.kpis
        if any(s.objective == objective_id for s in k.supports)
        and (readable is None or k.unit in readable)
    ]
    kpi_rows = [
        row
        for kpi_id in supporters
        for row in card.kpi_rows(kpi_id)
        if row["unit"] == units[kpi_id]
    ]
    children = {
        o.id
        for o in org.objectives
        if o.parent == objective_id and (readable is None or o.unit in readable)
    }
    rows = card.objective_rows()
    return json_response(
        {
            "as_of": card.as_of,
            "objective": objective_to_plain(visible_links(found, org, readable)),
            "score": rows.get(objective_id),
            "kpis": kpi_rows,
            "children": [rows[c] for c in sorted(children) if c in rows],
        }
    )
