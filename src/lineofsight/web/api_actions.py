"""The JSON API of actions and commentary: list, create and change actions and their
milestones; read commentary with its history and write a new version.

Reads need the `read` permission on the unit of the KPI or objective; writes follow
`services.action_permissions`. Each write is one transaction with its audit row; with a
session cookie rather than an API token, it needs the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from lineofsight.domain import model as m
from lineofsight.domain.actions import MAX_COMMENT, MAX_TITLE, Action, Milestone
from lineofsight.domain.text import did_you_mean
from lineofsight.errors import Problem, UsageError
from lineofsight.services import actions as action_service
from lineofsight.services import commentary
from lineofsight.services.accounts import Account
from lineofsight.services.action_permissions import (
    Subject,
    SubjectIndex,
    comment_refusal,
    create_refusal,
    edit_refusal,
    give_refusal,
    may_comment,
    may_edit_action,
    may_read,
)
from lineofsight.services.permissions import UnitTree, allows, readable_units
from lineofsight.services.scorecards import definitions_revision
from lineofsight.web import api_action_models as amx
from lineofsight.web.api_common import AccountDep, cache_of, json_response, organization
from lineofsight.web.api_partial import checks_body
from lineofsight.web.errors import ApiError, forbidden, not_found
from lineofsight.web.security import api_account, verify_csrf

router = APIRouter(dependencies=[Depends(api_account), Depends(verify_csrf)])

Kind = Literal["kpi", "objective"]
Status = Literal["open", "done", "dropped"]
ActionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The action's number.")]
# The service checks a title (required, one line, its length) with the action's other fields,
# so that every problem of a body is told at once; the schema still says what is allowed.
Title = Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TITLE})]


class SubjectIn(BaseModel):
    """What an action is about: a KPI or an objective."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    id: str = Field(min_length=1, max_length=64)


class MilestoneIn(BaseModel):
    """A step of an action."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    due: dt.date | None = None
    done: bool = False

    def milestone(self) -> Milestone:
        return Milestone(self.title, self.due, self.done)


class ActionIn(BaseModel):
    """A new action on a KPI or an objective."""

    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    title: Title
    owner: str | None = Field(None, max_length=64, description="A person's id.")
    due: dt.date | None = None
    status: Status = "open"
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=100)


class ActionPatch(BaseModel):
    """The fields of an action to change; `null` clears the owner or the due date, and
    `milestones` replaces them all."""

    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn | None = None
    title: Title | None = None
    owner: str | None = Field(None, max_length=64)
    due: dt.date | None = None
    status: Status | None = None
    milestones: list[MilestoneIn] | None = Field(None, max_length=100)


class MilestonePatch(BaseModel):
    """The fields of one milestone to change."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    due: dt.date | None = None
    done: bool | None = None


class CommentIn(BaseModel):
    """A new version of the commentary: why (analysis) and what next (recommendation)."""

    model_config = ConfigDict(extra="forbid")

    analysis: str | None = Field(
        None,
        max_length=MAX_COMMENT,
        description="why; left out: the current analysis is kept; empty text clears it",
    )
    recommendation: str | None = Field(
        None,
        max_length=MAX_COMMENT,
        description="what next; left out: the current recommendation is kept; empty text clears it",
    )


def _subjects(cache: Any, org: m.Organization) -> dict[tuple[str, str], Subject]:
    """Every KPI and objective by (kind, id), made once per revision of the store."""
    from lineofsight.web.pagedata import cached_fragment

    revision = definitions_revision(cache.revision())  # not made again after each action
    index = cached_fragment(cache, ("action-subjects-api", revision), lambda: SubjectIndex.of(org))
    return index.by_key


def _context(request: Request) -> tuple[Any, m.Organization, UnitTree]:
    cache = cache_of(request)
    org = organization(cache)
    return cache, org, cache.unit_tree()


def _readable_action(
    account: Account, tree: UnitTree, subjects: dict[tuple[str, str], Subject], action: Action
) -> bool:
    subject = subjects.get(action.subject)
    if subject is None:  # its KPI or objective was removed: for those who see everything
        return readable_units(account, tree) is None
    return may_read(account, tree, subject)


@router.get("/actions", response_model=amx.ActionList, summary="Actions on KPIs and objectives")
def list_actions(
    request: Request,
    account: AccountDep,
    kpi: Annotated[str | None, Query(description="Only actions on this KPI.")] = None,
    objective: Annotated[str | None, Query(description="Only actions on this objective.")] = None,
    owner: Annotated[str | None, Query(description="Only actions this person owns.")] = None,
    status: Annotated[Status | None, Query(description="Only actions in this status.")] = None,
    unit: Annotated[
        str | None, Query(description="Only actions on KPIs and objectives of this subtree.")
    ] = None,
) -> Response:
    """The actions the account may read, soonest due first."""
    cache, org, tree = _context(request)
    subjects = _subjects(cache, org)
    wanted: list[tuple[str, str]] | None = None
    if kpi is not None or objective is not None:
        wanted = [(k, i) for k, i in (("kpi", kpi), ("objective", objective)) if i is not None]
    if unit is not None:
        # The same 404 for a unit outside the reader's scope as for one that does not exist.
        if unit not in tree.parents or not allows(account, "read", unit_id=unit, org=tree):
            raise _unknown("unit", "unit", unit)
        below = tree.subtree(unit)
        inside = [key for key, s in subjects.items() if s.unit in below]
        wanted = inside if wanted is None else [key for key in wanted if key in set(inside)]
    found = action_service.list_actions(cache.store, subjects=wanted, owner=owner, status=status)
    shown = [a for a in found if _readable_action(account, tree, subjects, a)]
    # A KPI or objective asked for that the organisation does not have, or that lies outside
    # the account's units (the same answer, so that asking cannot tell which ids exist there),
    # is a 404 naming the field, like an unknown unit; unless actions still name it that the
    # account may read (its item was removed since: they are listed for those who see
    # everything).
    for field, word, item_id in (("kpi", "KPI", kpi), ("objective", "objective", objective)):
        if item_id is None:
            continue
        subject = subjects.get((field, item_id))
        if subject is not None and may_read(account, tree, subject):
            continue
        if subject is not None or not any(a.subject == (field, item_id) for a in shown):
            raise _unknown(field, word, item_id)
    return json_response({"actions": [action_service.action_plain(a) for a in shown]})


def _unknown(field: str, word: str, item_id: str) -> ApiError:
    """The 404 of a query field naming an item the organisation does not have."""
    return ApiError(
        404,
        f"{word} '{item_id}' not found",
        details=[{"field": field, "reason": f"unknown {word} '{item_id}'"}],
    )


def _subject_problem(
    cache: Any, org: m.Organization, tree: UnitTree, account: Account, kind: str, item_id: str
) -> tuple[Subject | None, list[Problem]]:
    """The KPI or objective a body names, or the problem of `subject.id` when there is none
    or it lies outside the account's units (the same answer, so that asking cannot tell
    which ids exist there)."""
    subjects = _subjects(cache, org)
    subject = subjects.get((kind, item_id))
    if subject is None or not may_read(account, tree, subject):
        word = "KPI" if kind == "kpi" else "objective"
        # The closest id of those the account may read (as a file's load says it), so that
        # the hint tells nothing of the others.
        seen = [i for (k, i), s in subjects.items() if k == kind and may_read(account, tree, s)]
        reason = f"unknown {word} '{item_id}'{did_you_mean(item_id, seen)}"
        return None, [Problem("subject.id", 0, reason)]
    return subject, []


# The actions service names fields as its forms do (`subject_id`, `milestones[1]` for the
# first); the API's body names them `subject.id`, `milestones[0]`.
_MILESTONE = re.compile(r"^milestones\[(\d+)\]")


def _as_sent(problems: list[Problem]) -> list[Problem]:
    """The service's problems of an action's fields, named as the body names them; those of
    its subject left out (the API says them itself, only for subjects the account may see)."""
    named = []
    for p in problems:
        if p.file in ("subject_type", "subject_id"):
            continue
        field = _MILESTONE.sub(lambda found: f"milestones[{int(found[1]) - 1}]", p.file)
        named.append(Problem(field, p.line, p.message, p.is_row))
    return named


def _refuse(problems: list[Problem]) -> None:
    if problems:
        summary = "; ".join(f"{p.file}: {p.message}" for p in problems)
        raise UsageError(summary, problems)


def _details(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"field": p.file, "reason": p.message} for p in problems]


def _new_action_problems(
    request: Request, account: Account, fields: dict[str, Any]
) -> tuple[Subject | None, list[Problem]]:
    """The subject of a new action and every problem of its fields, nothing written; 403
    when the account may not add it. `fields`: the body's (see `api_partial.accepted`)."""
    cache, org, tree = _context(request)
    sent = fields.get("subject") or {}
    subject, problems = _subject_problem(
        cache, org, tree, account, sent.get("kind", "kpi"), sent.get("id", "")
    )
    owner = fields.get("owner")
    refused = None if subject is None else create_refusal(account, tree, subject, owner)
    if refused is not None:
        blamed, reason = refused
        if blamed is None:
            raise forbidden(reason)
        # An owner who may take the action only on themselves: a problem of its field, said
        # with every other problem of the body at once.
        problems.append(Problem(blamed, 0, reason))
    to_owner = (
        None
        if any(p.file == "owner" for p in problems)
        else _give_problem(account, tree, owner, org)
    )
    checked = {
        "subject_type": subject.kind if subject else "kpi",
        "subject_id": subject.id if subject else "",
        "title": fields.get("title", ""),
        "owner": owner,
        "due": fields.get("due"),
        "status": fields.get("status", "open"),
        "milestones": _milestones(fields.get("milestones") or []),
    }
    found = _as_sent(action_service.action_problems(cache.store, checked))
    return subject, problems + _with_given(found, to_owner)


def _give_problem(
    account: Account, tree: UnitTree, owner: Any, org: m.Organization
) -> Problem | None:
    """The problem of `owner` when the account may not give an action to that person."""
    if not isinstance(owner, str):
        return None
    refused = give_refusal(account, tree, owner.strip() or None, org)
    return None if refused is None else Problem("owner", 0, refused)


def _with_given(found: list[Problem], given: Problem | None) -> list[Problem]:
    """The service's problems with the owner's said as the account may hear it (an unknown
    person's closest id among the people it may read, not among all)."""
    if given is None:
        return found
    if not any(p.file == "owner" for p in found):
        return [*found, given]
    return [given if p.file == "owner" else p for p in found]


def _milestones(steps: list[Any]) -> tuple[Milestone, ...]:
    """Milestones from a body's (the dicts of their fields)."""
    return tuple(
        Milestone(step.get("title", ""), step.get("due"), bool(step.get("done", False)))
        for step in steps
    )


@router.post(
    "/actions",
    status_code=201,
    response_model=amx.ActionOut,
    summary="Add an action to a KPI or an objective",
)
def create_action(request: Request, body: ActionIn, account: AccountDep) -> Response:
    """Editors and admins of the subject's unit; owners on their own KPIs and objectives,
    or taking the action on themselves."""
    cache = cache_of(request)
    subject, problems = _new_action_problems(request, account, body.model_dump())
    _refuse(problems)
    assert subject is not None  # a subject that is not one is a problem
    made = action_service.create_action(
        cache.store,
        account.username,
        subject_type=subject.kind,
        subject_id=subject.id,
        title=body.title,
        owner=body.owner,
        due=body.due,
        milestones=[step.milestone() for step in body.milestones],
        status=body.status,
    )
    return json_response(action_service.action_plain(made), 201)


@checks_body(create_action, ActionIn)
def _create_problems(request: Request, fields: dict[str, Any]) -> list[dict[str, Any]]:
    return _details(_new_action_problems(request, api_account(request), fields)[1])


def _action_for(
    request: Request, account: Account, action_id: int
) -> tuple[Any, m.Organization, UnitTree, Action, Subject | None]:
    """The action (404 when missing or not readable), with what its checks need."""
    cache, org, tree = _context(request)
    action = action_service.get_action(cache.store, action_id)
    subjects = _subjects(cache, org)
    if action is None:
        raise not_found(f"action {action_id}")
    if not _readable_action(account, tree, subjects, action):
        # The same answer as for an action that does not exist, so that asking cannot tell
        # which actions exist outside the account's units.
        raise not_found(f"action {action_id}")
    return cache, org, tree, action, subjects.get(action.subject)


def _require_edit(
    account: Account, tree: UnitTree, subject: Subject | None, action: Action
) -> None:
    allowed = (
        allows(account, "edit_definitions", unit_id=None, org=tree)
        if subject is None
        else may_edit_action(account, tree, subject, action)
    )
    if not allowed and subject is None:
        raise forbidden(
            f"you may not change action '{action.title}': its KPI or objective is no longer "
            "defined, and only an editor or admin of the whole organisation may"
        )
    if not allowed:
        assert subject is not None
        raise forbidden(edit_refusal(subject, action))


@router.get(
    "/actions/{action_id}", response_model=amx.ActionOut, summary="One action with its milestones"
)
def get_action(request: Request, action_id: ActionId, account: AccountDep) -> Response:
    *_, action, _subject = _action_for(request, account, action_id)
    return json_response(action_service.action_plain(action))


@router.patch("/actions/{action_id}", response_model=amx.ActionOut, summary="Change an action")
def patch_action(
    request: Request, action_id: ActionId, body: ActionPatch, account: AccountDep
) -> Response:
    """Change the fields given (status, owner, due date, title, subject, milestones)."""
    given = body.model_dump(include=body.model_fields_set)
    cache, action, changes, problems = _change_problems(request, account, action_id, given)
    _refuse(problems)
    changed = action_service.update_action(cache.store, account.username, action.id, **changes)
    return json_response(action_service.action_plain(changed))


def _change_problems(
    request: Request, account: Account, action_id: int, given: dict[str, Any]
) -> tuple[Any, Action, dict[str, Any], list[Problem]]:
    """The changes of an action a body asks for, and every problem of them, nothing
    written; 404 or 403 when the account may not see or change the action."""
    cache, org, tree, action, subject = _action_for(request, account, action_id)
    _require_edit(account, tree, subject, action)
    changes: dict[str, Any] = {k: v for k, v in given.items() if k not in ("subject", "milestones")}
    problems: list[Problem] = []
    if given.get("milestones") is not None:
        changes["milestones"] = _milestones(given["milestones"])
    sent = given.get("subject")
    if sent is not None:
        kind, item_id = sent.get("kind", "kpi"), sent.get("id", "")
        moved, problems = _subject_problem(cache, org, tree, account, kind, item_id)
        # Moving an action needs the right to add one where it goes.
        if moved is not None:
            refused = create_refusal(account, tree, moved, changes.get("owner", action.owner))
            if refused is not None:
                raise forbidden(refused[1])
            changes["subject_type"], changes["subject_id"] = moved.kind, moved.id
    for required in ("title", "status"):
        if required in changes and changes[required] is None:
            problems.append(Problem(required, 0, "is required"))
    to_owner = None
    if changes.get("owner") is not None and changes["owner"] != action.owner:
        to_owner = _give_problem(account, tree, changes["owner"], org)
    current = {name: getattr(action, name) for name in action_service.CHANGEABLE}
    kept = {k: v for k, v in changes.items() if v is not None or k in ("owner", "due")}
    named = {p.file for p in problems}
    found = _as_sent(action_service.action_problems(cache.store, {**current, **kept}))
    problems += [p for p in _with_given(found, to_owner) if p.file not in named]
    return cache, action, changes, problems


@checks_body(patch_action, ActionPatch)
def _patch_problems(request: Request, fields: dict[str, Any]) -> list[dict[str, Any]]:
    sent = str(request.path_params.get("action_id", ""))
    if not sent.isdigit() or not 1 <= int(sent) <= 2**31 - 1:
        return []  # the path's own problem is said
    return _details(_change_problems(request, api_account(request), int(sent), fields)[3])


@router.post(
    "/actions/{action_id}/milestones",
    status_code=201,
    response_model=amx.ActionOut,
    summary="Add a milestone to an action",
)
def add_milestone(
    request: Request, action_id: ActionId, body: MilestoneIn, account: AccountDep
) -> Response:
    cache, _org, tree, action, subject = _action_for(request, account, action_id)
    _require_edit(account, tree, subject, action)
    steps = [*action.milestones, body.milestone()]
    changed = action_service.update_action(
        cache.store, account.username, action.id, milestones=steps
    )
    return json_response(action_service.action_plain(changed), 201)


@router.patch(
    "/actions/{action_id}/milestones/{number}",
    response_model=amx.ActionOut,
    summary="Change one milestone",
)
def patch_milestone(
    request: Request,
    action_id: ActionId,
    number: Annotated[int, Path(ge=1, le=100, description="1 for the first milestone.")],
    body: MilestonePatch,
    account: AccountDep,
) -> Response:
    """Tick a milestone done, or change its title or due date."""
    cache, _org, tree, action, subject = _action_for(request, account, action_id)
    _require_edit(account, tree, subject, action)
    if number > len(action.milestones):
        raise not_found(f"milestone {number} of action {action_id}")
    step = action.milestones[number - 1]
    given = body.model_fields_set
    if ("title" in given and body.title is None) or ("done" in given and body.done is None):
        field = "title" if "title" in given and body.title is None else "done"
        raise UsageError(f"{field}: may not be null", [Problem(field, 0, "is required")])
    new = Milestone(
        title=body.title if "title" in given and body.title else step.title,
        due=body.due if "due" in given else step.due,
        done=bool(body.done) if "done" in given else step.done,
    )
    steps = list(action.milestones)
    steps[number - 1] = new
    changed = action_service.update_action(
        cache.store, account.username, action.id, milestones=steps
    )
    return json_response(action_service.action_plain(changed))


# ---------------------------------------------------------------- commentary


def _readable_subject(request: Request, account: Account, kind: str, item_id: str) -> Any:
    cache, org, tree = _context(request)
    subject = _subjects(cache, org).get((kind, item_id))
    # One outside the account's units is answered as one that does not exist.
    if subject is None or not may_read(account, tree, subject):
        raise not_found(f"{'KPI' if kind == 'kpi' else 'objective'} '{item_id}'")
    return cache, tree, subject


def _commentary_routes(kind: str, plural: str, word: str) -> None:
    """The commentary endpoints of KPIs or of objectives (the same three for each)."""

    def list_commentary(
        request: Request,
        item_id: str,
        account: AccountDep,
        period: Annotated[str | None, Query(description="Only this period.")] = None,
    ) -> Response:
        cache, _tree, subject = _readable_subject(request, account, kind, item_id)
        wanted = [(subject.kind, subject.id)]
        found = commentary.comments_for(cache.store, subjects=wanted, period=period)
        return json_response({"commentary": [commentary.comment_plain(c) for c in found]})

    def get_commentary(
        request: Request, item_id: str, period: str, account: AccountDep
    ) -> Response:
        """The current version and every earlier one, newest first."""
        cache, _tree, subject = _readable_subject(request, account, kind, item_id)
        history = commentary.comment_history(cache.store, subject.kind, subject.id, period)
        plain = [commentary.comment_plain(c) for c in history]
        return json_response({"current": plain[0] if plain else None, "history": plain})

    def put_commentary(
        request: Request, item_id: str, period: str, body: CommentIn, account: AccountDep
    ) -> Response:
        """A new version (the earlier ones are kept); the same text as now writes nothing."""
        cache, tree, subject = _readable_subject(request, account, kind, item_id)
        if not may_comment(account, tree, subject):
            raise forbidden(comment_refusal(subject))
        comment = commentary.write_comment(
            cache.store,
            account.username,
            subject_type=subject.kind,
            subject_id=subject.id,
            period=period,
            analysis=body.analysis,
            recommendation=body.recommendation,
        )
        return json_response(commentary.comment_plain(comment))

    base = f"/{plural}/{{item_id}}/commentary"
    router.add_api_route(
        base,
        list_commentary,
        methods=["GET"],
        response_model=amx.CommentList,
        summary=f"The current commentary on {word}, per period",
        operation_id=f"list_{kind}_commentary",
    )
    router.add_api_route(
        base + "/{period}",
        get_commentary,
        methods=["GET"],
        response_model=amx.CommentHistory,
        summary=f"A period's commentary on {word}, with its history",
        operation_id=f"get_{kind}_commentary",
    )
    router.add_api_route(
        base + "/{period}",
        put_commentary,
        methods=["PUT"],
        response_model=amx.CommentOut,
        summary=f"Write a period's commentary on {word}",
        operation_id=f"put_{kind}_commentary",
    )


_commentary_routes("kpi", "kpis", "a KPI")
_commentary_routes("objective", "objectives", "an objective")
