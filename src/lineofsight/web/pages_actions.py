"""Actions and commentary in the browser: the objective page, the panels that the KPI,
objective, unit, person and check-in pages include, and the forms behind them.

The panels are Jinja globals (`actions_panel`, `actions_list`, `commentary_panel`) so that a
page includes one with a line of its template. The forms go through the same services and
permission checks as the API (`services.action_permissions`); a mistake shows the form again
with every problem beside its field, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from lineofsight.domain import model as m
from lineofsight.domain.actions import Action, Milestone
from lineofsight.domain.periods import PeriodError, parse_date
from lineofsight.engine.calendar import period_for
from lineofsight.errors import InputError
from lineofsight.services import actions as action_service
from lineofsight.services import commentary
from lineofsight.services.accounts import Account
from lineofsight.services.action_permissions import (
    Subject,
    SubjectIndex,
    may_comment,
    may_create_action,
    may_edit_action,
    may_read,
)
from lineofsight.web.pagedata import Snapshot, cached_fragment
from lineofsight.web.pagekit import (
    cache_of,
    keep_period,
    not_found,
    page_snapshot,
    page_view,
    readable,
    recent_periods,
    require,
    seer,
    store_of,
    today,
    unit_tree,
)
from lineofsight.web.security import page_account, verify_csrf
from lineofsight.web.templating import render, templates

router = APIRouter(dependencies=[Depends(verify_csrf)])

# People offered in an owner field's suggestions (a large organisation has thousands).
MAX_SUGGESTED = 300


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
    require(may_read(account, unit_tree(snap), _subject(objective)), "this objective")
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
        comment_period=_month(snap, when.as_of, when.label),
        periods=recent_periods(snap.org.calendar),
    )


def _subject(item: m.Kpi | m.Objective) -> Subject:
    if isinstance(item, m.Kpi):
        return Subject("kpi", item.id, item.unit, item.owner, item.name)
    return Subject("objective", item.id, item.unit, item.owner, item.title)


def _month(snap: Snapshot, as_of: dt.date, label: str) -> str:
    """The period an objective's commentary speaks of: the chosen one, else the as-of month."""
    return label or period_for(as_of, m.Frequency.MONTHLY, snap.org.calendar).label


# ---------------------------------------------------------------- panels


@dataclass
class ActionForm:
    """What a person typed into an action's form, and what was wrong with it."""

    title: str = ""
    owner: str = ""
    due: str = ""
    status: str = "open"
    milestones: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _snapshot_of(context: Context) -> tuple[Request, Account | None, Snapshot]:
    request: Request = context["request"]
    snap = context.get("snap")
    return request, context.get("account"), snap if snap is not None else _today(request)


def _render(context: Context, name: str, **extra: Any) -> Markup:
    """A panel's template with the page's context and the panel's own values (which win)."""
    return Markup(templates.get_template(name).render({**context.get_all(), **extra}))


def subject_index(request: Request, snap: Snapshot) -> SubjectIndex:
    """The KPIs and objectives of the snapshot's organisation, indexed once per version."""
    return cached_fragment(
        cache_of(request), ("action-subjects", snap.version), lambda: SubjectIndex.of(snap.org)
    )


def _today(request: Request) -> Snapshot:
    """Today's scorecard, for the forms (which leave the page's chosen period as it is)."""
    return page_snapshot(request, today())


def _people(snap: Snapshot, account: Account | None) -> list[m.Person]:
    see = seer(snap, readable(account, snap))
    return list(
        itertools.islice((p for p in snap.org.people if see("person", p.id)), MAX_SUGGESTED)
    )


@pass_context
def actions_panel(context: Context, kind: str, item_id: str) -> Markup:
    """The actions on one KPI or objective, each with the form to change it when the reader
    may, and the form to add one."""
    request, account, snap = _snapshot_of(context)
    item = snap.kpis.get(item_id) if kind == "kpi" else snap.objectives.get(item_id)
    if item is None:
        return Markup("")
    subject = _subject(item)
    tree = unit_tree(snap)
    found = action_service.list_actions(store_of(request), subjects=[(kind, item_id)])
    found.sort(key=lambda a: (a.status != "open", a.due is None, a.due or dt.date.max, a.id))
    return _render(
        context,
        "_actions_panel.html",
        snap=snap,
        subject=subject,
        actions=found,
        may_create=may_create_action(
            account, tree, subject, account.person_id if account else None
        ),
        may_edit={a.id: may_edit_action(account, tree, subject, a) for a in found},
        people=_people(snap, account),
        form=ActionForm(owner=(account.person_id or "") if account else ""),
        here=request.url.path,
        today=today(),
    )


@pass_context
def actions_list(context: Context, *, unit: str | None = None, person: str | None = None) -> Markup:
    """The actions on the KPIs and objectives of a unit, or those a person owns or that are
    on what they own: a read-only list, each linked to its KPI or objective."""
    request, account, snap = _snapshot_of(context)
    tree = unit_tree(snap)
    index = subject_index(request, snap)
    subjects = index.by_key
    if unit is not None:
        wanted = index.by_unit.get(unit, [])
        found = action_service.list_actions(store_of(request), subjects=wanted)
    else:
        owned = action_service.list_actions(store_of(request), owner=person)
        theirs = index.by_owner.get(person or "", [])
        on_theirs = action_service.list_actions(store_of(request), subjects=theirs)
        found = list({a.id: a for a in [*owned, *on_theirs]}.values())
    shown = [
        (a, subjects[a.subject])
        for a in found
        if a.subject in subjects and may_read(account, tree, subjects[a.subject])
    ]
    shown.sort(key=lambda p: (p[0].status != "open", p[0].due or dt.date.max, p[0].id))
    return _render(
        context, "_actions_list.html", snap=snap, listed=shown, today=today(), for_person=person
    )


@pass_context
def commentary_panel(context: Context, kind: str, item_id: str, period: str | None) -> Markup:
    """A period's commentary on a KPI or objective, its earlier versions, and the form to
    write a new one when the reader may."""
    request, account, snap = _snapshot_of(context)
    item = snap.kpis.get(item_id) if kind == "kpi" else snap.objectives.get(item_id)
    if item is None or not period:
        return Markup("")
    subject = _subject(item)
    try:
        history = commentary.comment_history(store_of(request), kind, item_id, period)
    except InputError:
        history = []  # a period that is no period: nothing written for it
    return _render(
        context,
        "_commentary_panel.html",
        snap=snap,
        subject=subject,
        period=period,
        history=history,
        may_write=may_comment(account, unit_tree(snap), subject),
        here=request.url.path,
        errors={},
        form=None,
    )


templates.env.globals.update(
    actions_panel=actions_panel, actions_list=actions_list, commentary_panel=commentary_panel
)


# ---------------------------------------------------------------- forms


def _back(request: Request, back: str, anchor: str) -> Response:
    """Back to the page the form was on (an app path only), with the chosen period."""
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    return RedirectResponse(keep_period(request, target) + anchor, status_code=303)


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
    errors: dict[str, str] = {}
    for problem in exc.problems:
        name = problem.file.split("[")[0].split(".")[0]
        errors.setdefault(name if name else "form", problem.message)
    return errors or {"form": exc.summary}


def _show_form(
    request: Request,
    account: Account,
    subject: Subject,
    form: ActionForm,
    action: Action | None,
    back: str,
    status_code: int = 200,
) -> HTMLResponse:
    snap = _today(request)
    return render(
        request,
        "action_form.html",
        status_code=status_code,
        snap=snap,
        subject=subject,
        form=form,
        action=action,
        people=_people(snap, account),
        back=back,
    )


def _subject_for(request: Request, account: Account, kind: str, item_id: str) -> Subject:
    snap = _today(request)
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
    snap = _today(request)
    form = ActionForm(title=title, owner=owner, due=due, milestones=milestones)
    fields, errors = _parse_form(form)
    if not may_create_action(account, unit_tree(snap), subject, fields["owner"]):
        require(False, "adding actions here")
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
    form.errors = errors
    return _show_form(request, account, subject, form, None, back, 422)


def _action_and_subject(request: Request, account: Account, action_id: int) -> Any:
    snap = _today(request)
    action = action_service.get_action(store_of(request), action_id)
    subject = None if action is None else subject_index(request, snap).by_key.get(action.subject)
    if action is None or subject is None or not may_read(account, unit_tree(snap), subject):
        raise not_found("action", str(action_id))
    require(may_edit_action(account, unit_tree(snap), subject, action), "changing this action")
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
    if not errors:
        try:
            action_service.update_action(store_of(request), account.username, action.id, **fields)
            return _back(request, back, f"#action-{action.id}")
        except InputError as exc:
            errors = _form_errors(exc)
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
    snap = _today(request)
    require(may_comment(account, unit_tree(snap), subject), "writing commentary here")
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
            back=back,
        )
    return _back(request, back, "#commentary")
