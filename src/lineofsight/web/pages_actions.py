"""Actions and commentary in the browser: the objective page and the forms behind the panels
of `action_panels` (which the pages include).

The forms go through the same services and permission checks as the API
(`services.action_permissions`); a mistake shows the form again with every problem beside its
field, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineofsight.domain.actions import Action, Milestone
from lineofsight.domain.periods import PeriodError, parse_date
from lineofsight.errors import InputError
from lineofsight.services import actions as action_service
from lineofsight.services import commentary
from lineofsight.services.accounts import Account
from lineofsight.services.action_permissions import (
    Subject,
    comment_refusal,
    create_refusal,
    edit_refusal,
    give_refusal,
    may_comment,
    may_create_any_action,
    may_edit_action,
    may_read,
    owner_only_self,
)
from lineofsight.web.action_panels import (
    PEOPLE_SOURCE,
    ActionForm,
    comment_month,
    people_suggested,
    subject_for_item,
    subject_index,
    today_snapshot,
)
from lineofsight.web.pagekit import (
    cache_of,
    keep_period,
    not_found,
    page_revision,
    page_view,
    readable,
    recent_periods,
    require,
    require_seen,
    seer,
    store_of,
    unit_tree,
)
from lineofsight.web.pages_edit import edit_path
from lineofsight.web.security import current_account, page_account, verify_csrf
from lineofsight.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)])

# The header static/layout.js sends with its requests for a piece of a page (not a page).
FETCH_HEADER = "X-Los-Fragment"


# ---------------------------------------------------------------- the objective page


@router.get("/objectives/{objective_id}", response_class=HTMLResponse, include_in_schema=False)
def objective_page(
    request: Request,
    objective_id: str,
    period: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    when, snap = page_view(request, period)
    objective = snap.objectives.get(objective_id)
    if objective is None:
        raise not_found("objective", objective_id)
    seen = may_read(account, unit_tree(snap), subject_for_item(objective))
    require_seen(seen, "objective", objective_id)
    see = seer(snap, readable(account, snap))
    kpi_rows = [(kpi_id, snap.kpi_row(kpi_id)) for kpi_id in snap.supporters.get(objective_id, ())]
    children = [
        (child, snap.objective_rows.get(child))
        for child in snap.child_objectives.get(objective_id, ())
    ]
    return render(
        request,
        "objective.html",
        snap=snap,
        when=when,
        objective=objective,
        row=snap.objective_rows.get(objective_id),
        kpi_rows=[(k, r) for k, r in kpi_rows if see("kpi", k)],
        hidden_kpis=sum(1 for k, _ in kpi_rows if not see("kpi", k)),
        children=[(c, r) for c, r in children if see("objective", c)],
        parent=objective.parent
        if objective.parent and see("objective", objective.parent)
        else None,
        see=see,
        comment_period=comment_month(snap, when.as_of, when.label),
        periods=recent_periods(snap.org.calendar),
        edit_path=edit_path(request, account, snap, "objective", objective_id),
    )


# ---------------------------------------------------------------- forms


def _app_path(back: str, fallback: str = "/") -> str:
    """`back` when it is a path of this app (never another site's address), else `fallback`."""
    ok = back.startswith("/") and not back.startswith("//") and "\\" not in back
    return back if ok else fallback


def _back(request: Request, back: str, anchor: str) -> Response:
    """Back to the page the form was on (an app path only), with the chosen period."""
    return RedirectResponse(keep_period(request, _app_path(back)) + anchor, status_code=303)


def _parse_form(form: ActionForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of an action's form as the service takes them, and every problem."""
    errors: dict[str, str] = {}
    due = None
    if form.due.strip():
        try:
            due = parse_date(form.due.strip())
        except PeriodError as exc:
            errors["due"] = str(exc)
    steps = []
    for number, line in enumerate(form.milestones.splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        done = text.lower().startswith("x ")
        text = text[2:].strip() if done else text
        day = None
        head, _, rest = text.partition(" ")
        if head[:1].isdigit():
            try:
                day, text = parse_date(head), rest.strip()
            except PeriodError as exc:
                errors["milestones"] = f"line {number}: {exc}"
                continue
        if not text:
            errors["milestones"] = f"line {number}: give the milestone a title"
            continue
        steps.append(Milestone(text, day, done))
    fields = {
        "title": form.title,
        "owner": form.owner.strip() or None,
        "due": due,
        "status": form.status,
        "milestones": steps,
    }
    return fields, errors


def _form_errors(exc: InputError) -> dict[str, str]:
    return _problem_errors(exc.problems) or {"form": exc.summary}


def _problem_errors(problems: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in problems:
        name = problem.file.split("[")[0].split(".")[0]
        errors.setdefault(name if name else "form", problem.message)
    return errors


def _with_other_errors(
    request: Request, fields: dict[str, Any], errors: dict[str, str]
) -> dict[str, str]:
    """The form's own problems (dates it cannot read) with every other the service finds in
    the rest of the fields, so that one submission tells them all."""
    checked = {**fields, "due": None if "due" in errors else fields["due"]}
    found = _problem_errors(action_service.action_problems(store_of(request), checked))
    return {**found, **errors}


def _show_form(
    request: Request,
    account: Account,
    subject: Subject,
    form: ActionForm,
    action: Action | None,
    back: str,
    status_code: int = 200,
) -> HTMLResponse:
    snap = today_snapshot(request)
    return render(
        request,
        "action_form.html",
        status_code=status_code,
        snap=snap,
        subject=subject,
        form=form,
        action=action,
        people=people_suggested(request, account),
        back=_app_path(back, _page_of(subject)),
        owner_fixed=action is None and owner_only_self(account, unit_tree(snap), subject),
    )


@router.get("/actions/new", response_class=HTMLResponse, include_in_schema=False)
def new_action_page(
    request: Request,
    subject_type: str,
    subject_id: str,
    back: str = "",
    account: Account = Depends(page_account),
) -> HTMLResponse:
    """The form to add an action on a KPI or objective on a page of its own, its owner field's
    suggestions inline: the panel links to it for a browser without JavaScript (which does
    not fetch the panel's suggestions)."""
    subject = _subject_for(request, account, subject_type, subject_id)
    owner = account.person_id or ""
    snap = today_snapshot(request)
    refused = create_refusal(account, unit_tree(snap), subject, owner or None)
    if refused is not None:
        raise HTTPException(status_code=403, detail=refused[1])
    return _show_form(request, account, subject, ActionForm(owner=owner), None, back)


@router.get(PEOPLE_SOURCE, response_class=HTMLResponse, include_in_schema=False)
def people_suggestions(request: Request) -> Response:
    """The `<option>`s of an owner field's suggestions: the people the reader may see (the
    panels' forms fetch them when the field is first used); only for a reader who may add an
    action somewhere (the panels show no form to anyone else). Asked by the script (its
    FETCH_HEADER) after the session has ended: 401 and no body, not the login page."""
    if request.headers.get(FETCH_HEADER) and current_account(request) is None:
        # RFC 9110 requires a challenge with a 401. A session cookie has no HTTP scheme; the
        # one this address accepts too is the API's token (`current_account` reads it first),
        # so the challenge is the API's 401's (web/errors.py). Unlike Basic, a browser shows
        # no login dialog for it: the script alone sees the answer.
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    account = page_account(request)
    tree = cache_of(request).unit_tree(page_revision(request))
    require(may_create_any_action(account, tree), "adding actions")
    return HTMLResponse(people_suggested(request, account))


def _subject_for(request: Request, account: Account, kind: str, item_id: str) -> Subject:
    snap = today_snapshot(request)
    subject = subject_index(request, snap).by_key.get((kind, item_id))
    if subject is None or not may_read(account, unit_tree(snap), subject):
        raise not_found("KPI" if kind == "kpi" else "objective", item_id)
    return subject


@router.post("/actions", include_in_schema=False)
def add_action_form(
    request: Request,
    subject_type: Annotated[str, Form()],
    subject_id: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    milestones: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
    account: Account = Depends(page_account),
) -> Response:
    subject = _subject_for(request, account, subject_type, subject_id)
    snap = today_snapshot(request)
    form = ActionForm(title=title, owner=owner, due=due, milestones=milestones)
    fields, errors = _parse_form(form)
    refused = create_refusal(account, unit_tree(snap), subject, fields["owner"])
    if refused is not None:
        blamed, reason = refused
        if blamed is None:
            raise HTTPException(status_code=403, detail=reason)
        # An owner who may take the action only on themselves: the form again, with what was
        # typed and every problem, this one beside the owner.
        errors[blamed] = reason
    given = give_refusal(account, unit_tree(snap), fields["owner"], snap.org)
    if given is not None and "owner" not in errors:
        errors["owner"] = given
    if not errors:
        try:
            made = action_service.create_action(
                store_of(request),
                account.username,
                subject_type=subject.kind,
                subject_id=subject.id,
                title=fields["title"],
                owner=fields["owner"],
                due=fields["due"],
                milestones=fields["milestones"],
            )
            return _back(request, back, f"#action-{made.id}")
        except InputError as exc:
            errors = _form_errors(exc)
    else:
        subject_fields = {"subject_type": subject.kind, "subject_id": subject.id}
        errors = _with_other_errors(request, {**subject_fields, **fields}, errors)
        if refused is not None:
            errors = {refused[0] or "form": refused[1], **errors}
    form.errors = errors
    return _show_form(request, account, subject, form, None, back, 422)


def _action_and_subject(request: Request, account: Account, action_id: int) -> Any:
    snap = today_snapshot(request)
    action = action_service.get_action(store_of(request), action_id)
    subject = None if action is None else subject_index(request, snap).by_key.get(action.subject)
    if action is None or subject is None or not may_read(account, unit_tree(snap), subject):
        raise not_found("action", str(action_id))
    if not may_edit_action(account, unit_tree(snap), subject, action):
        raise HTTPException(status_code=403, detail=edit_refusal(subject, action))
    return action, subject


def _milestone_lines(action: Action) -> str:
    return "\n".join(
        f"{'x ' if s.done else ''}{s.due.isoformat() + ' ' if s.due else ''}{s.title}"
        for s in action.milestones
    )


@router.get("/actions/{action_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_action_page(
    request: Request,
    action_id: int,
    back: str = "",
    account: Account = Depends(page_account),
) -> HTMLResponse:
    action, subject = _action_and_subject(request, account, action_id)
    form = ActionForm(
        title=action.title,
        owner=action.owner or "",
        due=action.due.isoformat() if action.due else "",
        status=action.status,
        milestones=_milestone_lines(action),
    )
    return _show_form(request, account, subject, form, action, back or _page_of(subject))


def _page_of(subject: Subject) -> str:
    return f"/{subject.kind}s/{subject.id}"


@router.post("/actions/{action_id}", include_in_schema=False)
def change_action_form(
    request: Request,
    action_id: int,
    title: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "open",
    milestones: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
    account: Account = Depends(page_account),
) -> Response:
    action, subject = _action_and_subject(request, account, action_id)
    form = ActionForm(title=title, owner=owner, due=due, status=status, milestones=milestones)
    fields, errors = _parse_form(form)
    if fields["owner"] != action.owner:
        snap = today_snapshot(request)
        given = give_refusal(account, unit_tree(snap), fields["owner"], snap.org)
        if given is not None:
            errors["owner"] = given
    if not errors:
        try:
            action_service.update_action(store_of(request), account.username, action.id, **fields)
            return _back(request, back, f"#action-{action.id}")
        except InputError as exc:
            errors = _form_errors(exc)
    else:
        subject_fields = {"subject_type": action.subject_type, "subject_id": action.subject_id}
        errors = _with_other_errors(request, {**subject_fields, **fields}, errors)
    form.errors = errors
    return _show_form(request, account, subject, form, action, back, 422)


@router.post("/actions/{action_id}/status", include_in_schema=False)
def action_status_form(
    request: Request,
    action_id: int,
    status: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/",
    account: Account = Depends(page_account),
) -> Response:
    """The one-button changes beside an action: done, dropped, open again."""
    action, _subject = _action_and_subject(request, account, action_id)
    try:
        action_service.update_action(store_of(request), account.username, action.id, status=status)
    except InputError as exc:
        raise HTTPException(status_code=422, detail=exc.summary) from None
    return _back(request, back, f"#action-{action.id}")


@router.post("/commentary", include_in_schema=False)
def write_commentary_form(
    request: Request,
    subject_type: Annotated[str, Form()],
    subject_id: Annotated[str, Form()],
    period: Annotated[str, Form()] = "",
    analysis: Annotated[str, Form()] = "",
    recommendation: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
    account: Account = Depends(page_account),
) -> Response:
    subject = _subject_for(request, account, subject_type, subject_id)
    snap = today_snapshot(request)
    if not may_comment(account, unit_tree(snap), subject):
        raise HTTPException(status_code=403, detail=comment_refusal(subject))
    try:
        commentary.write_comment(
            store_of(request),
            account.username,
            subject_type=subject.kind,
            subject_id=subject.id,
            period=period,
            analysis=analysis,
            recommendation=recommendation,
        )
    except InputError as exc:
        return render(
            request,
            "commentary_form.html",
            status_code=422,
            snap=snap,
            subject=subject,
            form={"period": period, "analysis": analysis, "recommendation": recommendation},
            errors=_form_errors(exc),
            back=_app_path(back, _page_of(subject)),
        )
    return _back(request, back, "#commentary")
