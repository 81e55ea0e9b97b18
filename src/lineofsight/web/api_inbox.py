"""`GET /api/v1/inbox`: the attention list, as `los inbox --format json` gives it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lineofsight.errors import Problem, UsageError
from lineofsight.services.attention import inbox as attention_inbox
from lineofsight.services.permissions import readable_units
from lineofsight.web import api_models as am
from lineofsight.web.api_common import (
    AccountDep,
    AsOfQuery,
    cache_of,
    json_response,
    organization,
    readable_item,
    readable_unit,
    scorecard_day,
)
from lineofsight.web.errors import not_found
from lineofsight.web.security import api_account

router = APIRouter(dependencies=[Depends(api_account)])


@router.get(
    "/inbox",
    response_model=am.Inbox,
    summary="What needs attention now: a person's or a unit's list",
)
def inbox(
    request: Request,
    account: AccountDep,
    person: Annotated[
        str | None,
        Query(description="Whose list; default the signed-in user's person."),
    ] = None,
    unit: Annotated[
        str | None,
        Query(description="This unit's subtree (with person: that person's items there)."),
    ] = None,
    as_of: AsOfQuery = None,
) -> Response:
    """The attention list of the signed-in user's person (or of `person`, when the role may
    read that person's unit; or of `unit`'s subtree), cut to the units the role may read."""
    cache = cache_of(request)
    org = organization(cache)
    tree = cache.unit_tree()
    if person is None and unit is None:
        person = account.person_id
        if person is None:
            reason = "this account is not linked to a person: give person or unit"
            raise UsageError(reason, [Problem("person", 0, reason)])
    if person is not None:
        found = next((p for p in org.people if p.id == person), None)
        if found is None:
            raise not_found(f"person '{person}'")
        if person != account.person_id:
            readable_item(account, tree, found.unit, f"person '{person}'")
    if unit is not None:
        readable_unit(account, tree, unit)
    day = scorecard_day(cache, as_of)
    found_list = attention_inbox(
        cache.store,
        person=person,
        unit=unit,
        as_of=day if as_of else None,
        readable=readable_units(account, tree),
        organization=org,
    )
    return json_response(found_list.plain())
