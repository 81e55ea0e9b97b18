"""The JSON API's writes: measurements (one, or a file), the strategy, users and tokens.

Each needs its permission (see `services.permissions`), is one transaction with its audit
row, and, with a session cookie rather than an API token, the session's CSRF token.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from lineofsight.errors import UndoRefused, UsageError
from lineofsight.services import accounts, audit, checkin
from lineofsight.services.permissions import allows, outside, refused_definitions, user_units
from lineofsight.web import api_models as am
from lineofsight.web.api_common import (
    AccountDep,
    cache_of,
    json_response,
    organization,
    readable_unit,
    require,
)
from lineofsight.web.api_partial import checks_body
from lineofsight.web.errors import ApiError, forbidden, input_details, not_found
from lineofsight.web.security import api_account, verify_csrf
from lineofsight.web.uploads import save_upload, upload_name

router = APIRouter(dependencies=[Depends(verify_csrf)])


class MeasurementIn(BaseModel):
    """One period's value of a KPI: `value`, or `numerator` and `denominator` for a ratio."""

    model_config = ConfigDict(extra="forbid")

    kpi: str
    period: str
    unit: str | None = Field(None, description="Default: the KPI's own unit.")
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = Field(
        None,
        max_length=10_000,
        description='Left out: a value already stored keeps its note; null or "" clears it.',
    )


@router.post(
    "/measurements",
    status_code=201,
    response_model=am.MeasurementSaved,
    responses={200: {"model": am.MeasurementSaved, "description": "The same value was there"}},
    summary="Enter one period's value of a KPI",
)
def post_measurement(request: Request, body: MeasurementIn, account: AccountDep) -> Response:
    """Owners may enter values for the KPIs their person owns, admins for any KPI of their
    units. A value already stored for the period is replaced and kept as a revision."""
    cache = cache_of(request)
    unseen, hints = _writer_sees(request, account, body.kpi, body.unit)
    result = checkin.record_measurement(
        cache.store,
        kpi_id=body.kpi,
        unit_id=body.unit,
        period=body.period,
        value=body.value,
        numerator=body.numerator,
        denominator=body.denominator,
        note=body.note,
        actor=account.username,
        kpi_unseen=unseen,
        hints=hints,
        # A body without `note` says nothing of it (as a file without a note column).
        keep_note="note" not in body.model_fields_set,
        via="API",
    )
    data = {
        "kpi": result.kpi_id,
        "unit": result.unit_id,
        "period": result.period,
        "value": result.value,
        "numerator": result.numerator,
        "denominator": result.denominator,
        "note": result.note,
        "action": result.action,
        "revision": result.revision,
        "warnings": [w for w in (result.source_warning, result.warning) if w],
    }
    return json_response(data, 201 if result.action == "added" else 200)


def _writer_sees(
    request: Request, account: Any, kpi_id: str, unit_id: str | None
) -> tuple[bool, list[str]]:
    """Whether the KPI is unseen by the account (answered as one that does not exist), and
    the KPIs a hint at a close id may name (those the account may read); 403 or 404 when
    the account may not enter the KPI's values at the unit."""
    cache = cache_of(request)
    org = organization(cache)
    kpi = org.kpis_by_id().get(kpi_id)
    tree = cache.unit_tree()
    # A KPI outside the account's units (neither its own unit nor the unit of one of its
    # unit targets named) is answered as one that does not exist, with the same problems.
    unseen = kpi is None or not (
        allows(account, "read", unit_id=kpi.unit, org=tree)
        or (
            unit_id in {u for u, _ in kpi.unit_targets}
            and allows(account, "read", unit_id=unit_id, org=tree)
        )
    )
    if kpi is not None and not unseen:
        if unit_id:
            # A unit that does not exist or that the account may not read: the same 404.
            readable_unit(account, tree, unit_id)
        require(account, "enter_data", tree, unit_id or kpi.unit, kpi_owner=kpi.owner)
    if not unseen:
        return False, []
    return True, [k.id for k in org.kpis if allows(account, "read", unit_id=k.unit, org=tree)]


@checks_body(post_measurement, MeasurementIn)
def _measurement_problems(request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The check-in's problems, nothing written (see `api_partial`)."""
    account = api_account(request)
    kpi_id = body.get("kpi", "")
    unseen, hints = _writer_sees(request, account, kpi_id, body.get("unit"))
    entry = checkin.CheckinEntry(
        kpi_id,
        body.get("unit"),
        body.get("period", ""),
        body.get("value"),
        body.get("numerator"),
        body.get("denominator"),
        body.get("note"),
    )
    try:
        checkin.record_measurements(
            cache_of(request).store,
            [entry],
            actor=account.username,
            check_only=True,
            unseen={kpi_id} if unseen else (),
            hints=hints,
        )
    except UsageError as exc:
        return [{"field": p.file.partition(".")[2], "reason": p.message} for p in exc.problems]
    return []


@router.post(
    "/measurements/upload",
    status_code=201,
    response_model=am.UploadSummary,
    summary="Load a CSV or XLSX file of measurements",
)
async def upload_measurements(
    request: Request,
    file: Annotated[UploadFile, File()],
    account: AccountDep,
    sheet: Annotated[
        str | None,
        Form(description="The sheet of an XLSX file (default: 'measurements', else the first)."),
    ] = None,
) -> Response:
    """All or nothing: one bad row rejects the file, and every bad row is listed. A body
    larger than the server's limit (LOS_MAX_UPLOAD_MB, default 50 MB) is refused with 413."""
    from starlette.concurrency import run_in_threadpool

    cache = cache_of(request)
    tree = cache.unit_tree()
    if not any(g.role == "admin" for g in account.grants):
        raise forbidden("your role does not allow 'upload'")
    name = upload_name(file.filename)
    sheet = (sheet or "").strip() or None
    with tempfile.TemporaryDirectory(prefix="los-upload-") as folder:
        path = await run_in_threadpool(
            save_upload, file.file, Path(folder), name, request.app.state.max_upload_bytes
        )
        if not allows(account, "upload", unit_id=None, org=tree):
            # An admin of part of the organisation: every row must write to their units.
            units = await run_in_threadpool(checkin.upload_units, cache.store, path, name, sheet)
            for unit in sorted(units):
                require(account, "upload", tree, unit)
        result = await run_in_threadpool(
            checkin.load_upload, cache.store, path, name, account.username, sheet
        )
    return json_response(
        {
            "file": result.file,
            "rows": result.rows,
            "added": result.added,
            "replaced": result.replaced,
            "unchanged": result.unchanged,
            "warnings": [str(w) for w in result.warnings],
        },
        201,
    )


@router.put(
    "/strategy",
    response_model=am.StrategyApplied,
    summary="Apply a strategy file (YAML), like `los apply`",
)
def put_strategy(
    request: Request,
    account: AccountDep,
    body: Annotated[
        str, Body(media_type="application/yaml", description="The whole strategy file.")
    ],
    dry_run: Annotated[bool, Query(description="Show what would change; write nothing.")] = False,
    force: Annotated[
        bool,
        Query(
            description="Apply it even if it undoes changes made in the web app since a file "
            "was last applied (409 otherwise)."
        ),
    ] = False,
) -> Response:
    """Validate the file (every problem listed) and bring the store's definitions to it;
    409, nothing written, when it would undo changes made in the web app since a file was
    last applied (each listed in `details`), unless `force`."""
    from lineofsight.services.apply import Plan, apply_organization
    from lineofsight.spec.files import parse_strategy

    cache = cache_of(request)
    if not any(g.role in ("admin", "editor") for g in account.grants):
        raise forbidden("your role does not allow 'edit_definitions'")
    source = f"strategy.yaml (web, {account.username})"
    org = parse_strategy(body, "strategy.yaml")
    # A unit editor may apply a file whose changes stay in their units: the same rule as
    # every other write, on everything the change reaches (nothing applied yet: all of it).
    refused = refused_definitions(account, _organization_or_none(request), org)
    if refused:
        raise forbidden(f"your role does not allow 'edit_definitions' on {_where(refused)}")

    def write_audit(conn: Any, plan: Plan) -> None:
        audit.record(
            conn,
            actor=account.username,
            action="strategy.apply",
            subject="strategy",
            after={
                "added": plan.count("add"),
                "changed": plan.count("change"),
                "removed": plan.count("remove"),
            },
        )

    try:
        plan = apply_organization(
            cache.store,
            org,
            source=source,
            dry_run=dry_run,
            actor=account.username,
            also=write_audit,
            force=force,
        )
    except UndoRefused as exc:
        raise ApiError(409, exc.summary, details=input_details(exc)) from None
    return json_response(
        {
            "dry_run": dry_run,
            "added": plan.count("add"),
            "changed": plan.count("change"),
            "removed": plan.count("remove"),
            "changes": [
                {
                    "kind": r.kind,
                    "id": r.item_id,
                    "action": r.action,
                    "field": r.field,
                    "before": r.before,
                    "after": r.after,
                    "undoes": None if r.undoes is None else {"by": r.undoes[0], "on": r.undoes[1]},
                }
                for r in plan.records[:500]
            ],
            "more_changes": max(0, len(plan.records) - 500),
        }
    )


class UserIn(BaseModel):
    """A new user: a password of at least 8 characters and one or more roles."""

    model_config = ConfigDict(extra="forbid")

    username: str
    password: str
    roles: list[str] = Field(description="ROLE or ROLE:UNIT, e.g. ['editor:sales'].")
    name: str | None = None
    person: str | None = None


def _organization_or_none(request: Request) -> Any:
    try:
        return cache_of(request).organization()
    except UsageError:  # nothing applied yet
        return None


def _where(units: list[str | None]) -> str:
    return ", ".join("the whole organisation" if u is None else f"unit '{u}'" for u in units)


def _may_manage(account: Any, target: accounts.Account, request: Request) -> bool:
    """Whether an admin may act on (remove, make or revoke tokens of) this user: its roles'
    units and the unit of the person it acts as all lie in the admin's scope."""
    units = user_units(target.grants, target.person_id, _organization_or_none(request))
    return not outside(account, "manage_users", units, _tree_or_empty(request))


def _tree_or_empty(request: Request) -> Any:
    from lineofsight.services.permissions import UnitTree

    try:
        return cache_of(request).unit_tree()
    except UsageError:
        return UnitTree({})


@router.get("/users", response_model=am.Users, summary="The users (admins only)")
def get_users(request: Request, account: AccountDep) -> Response:
    tree = _tree_or_empty(request)
    if not any(g.role == "admin" for g in account.grants):
        raise forbidden("your role does not allow 'manage_users'")
    org = _organization_or_none(request)
    users = [
        accounts.account_plain(a)
        for a in accounts.list_users(cache_of(request).store)
        if not outside(account, "manage_users", user_units(a.grants, a.person_id, org), tree)
    ]
    return json_response({"users": users})


@router.post("/users", status_code=201, response_model=am.User, summary="Add a user (admins only)")
def post_user(request: Request, body: UserIn, account: AccountDep) -> Response:
    tree = _tree_or_empty(request)
    grants, problems = accounts.parse_grants(body.roles)
    # The person a user acts as is reached as much as its roles: a unit admin linking a new
    # user to someone of another unit would hand out that person's KPIs.
    reached = user_units(grants, body.person, _organization_or_none(request))
    refused = outside(account, "manage_users", reached, tree)
    if refused:
        raise forbidden(f"your role does not allow 'manage_users' on {_where(refused)}")
    try:
        created = accounts.add_user(
            cache_of(request).store,
            body.username,
            body.password,
            grants,
            name=body.name,
            person_id=body.person,
            actor=account.username,
            problems=problems,
        )
    except UsageError as exc:  # the body's field is `roles`
        named = [replace(p, file="roles") if p.file == "role" else p for p in exc.problems]
        raise UsageError(exc.summary, named) from None
    return json_response(accounts.account_plain(created), 201)


@router.delete(
    "/users/{username}", response_model=am.UserRemoved, summary="Remove a user (admins only)"
)
def delete_user(request: Request, username: str, account: AccountDep) -> Response:
    store = cache_of(request).store
    target = accounts.find_user(store, username)
    if not any(g.role == "admin" for g in account.grants):
        raise forbidden("your role does not allow 'manage_users'")
    # A user outside the admin's units is not found, as any item outside them: asking
    # cannot tell which usernames exist there.
    if target is None or not _may_manage(account, target, request):
        raise not_found(f"user '{username}'")
    if target.id == account.id:
        raise ApiError(409, "you cannot remove yourself: ask another admin")
    accounts.remove_user(store, username, actor=account.username)
    return json_response({"removed": username})


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200)


@router.post(
    "/users/{username}/tokens",
    status_code=201,
    response_model=am.TokenMade,
    summary="Make an API token (shown once)",
)
def post_token(
    request: Request, username: str, account: AccountDep, body: TokenIn | None = None
) -> Response:
    """Users may make tokens for themselves; admins for the users their roles cover."""
    store = cache_of(request).store
    target = accounts.find_user(store, username)
    if target is None or (
        target.id != account.id and not any(g.role == "admin" for g in account.grants)
    ):
        if target is None and any(g.role == "admin" for g in account.grants):
            raise not_found(f"user '{username}'")
        raise forbidden("your role does not allow making tokens for other users")
    if target.id != account.id and not _may_manage(account, target, request):
        raise not_found(f"user '{username}'")  # outside the admin's units: see delete_user
    label = body.label if body is not None else None
    token = accounts.create_token(store, username, actor=account.username, label=label)
    info = accounts.list_tokens(store, username)[-1]
    return json_response({"id": info.id, "username": username, "label": label, "token": token}, 201)


@router.delete("/tokens/{token_id}", response_model=am.TokenRevoked, summary="Revoke an API token")
def delete_token(request: Request, token_id: int, account: AccountDep) -> Response:
    store = cache_of(request).store
    found = next((t for t in accounts.list_tokens(store) if t.id == token_id), None)
    if found is None:
        raise not_found(f"token {token_id}")
    if found.username != account.username:
        owner = accounts.find_user(store, found.username)
        is_admin = any(g.role == "admin" for g in account.grants)
        if not is_admin or (owner is not None and not _may_manage(account, owner, request)):
            raise forbidden("your role does not allow revoking other users' tokens")
    accounts.revoke_token(store, token_id, actor=account.username)
    return json_response({"revoked": token_id})


@router.get(
    "/audit",
    response_model=am.Audit,
    summary="The audit log, newest first (organisation-wide admins)",
)
def get_audit(
    request: Request,
    account: AccountDep,
    subject: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    require(account, "manage_users", _tree_or_empty(request), None)
    entries = audit.read_audit(cache_of(request).store, subject=subject, limit=limit)
    return json_response(
        {
            "entries": [
                {
                    "id": e.id,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "before": e.before,
                    "after": e.after,
                }
                for e in entries
            ]
        }
    )
