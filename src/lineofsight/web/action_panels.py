"""The panels of actions and commentary that the KPI, objective, unit, person and check-in
pages include with one line of their templates (Jinja globals `actions_panel`,
`actions_list`, `commentary_panel`), and what the forms behind them share."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from lineofsight.domain import model as m
from lineofsight.domain.actions import Comment
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
    owner_only_self,
)
from lineofsight.services.permissions import readable_units
from lineofsight.services.scorecards import definitions_revision
from lineofsight.web.pagedata import Snapshot, cached_fragment, frame_fragment
from lineofsight.web.pagekit import (
    cache_of,
    page_revision,
    page_snapshot,
    store_of,
    today,
    unit_tree,
)
from lineofsight.web.templating import context_period, templates

# People offered in an owner field's suggestions (a large organisation has thousands).
MAX_SUGGESTED = 300


def subject_for_item(item: m.Kpi | m.Objective) -> Subject:
    if isinstance(item, m.Kpi):
        return Subject("kpi", item.id, item.unit, item.owner, item.name)
    return Subject("objective", item.id, item.unit, item.owner, item.title)


def comment_month(snap: Snapshot, as_of: dt.date, label: str) -> str:
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
    return request, context.get("account"), snap if snap is not None else today_snapshot(request)


def _render(context: Context, name: str, **extra: Any) -> Markup:
    """A panel's template with the page's context and the panel's own values (which win)."""
    return Markup(templates.get_template(name).render({**context.get_all(), **extra}))


# Stand for the subject's id and the session's CSRF token in an empty panel drawn once.
_ID_SLOT = "\x00subject\x00"
_QUOTED_ID_SLOT = "%00subject%00"  # the slot in a link's query
_CSRF_SLOT = "\x00csrf\x00"
# An id written alike in a page's text and in a link's query (nothing to escape or quote).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.\-]+")


def _empty_panel(
    context: Context, name: str, subject: Subject, here: str, shape: tuple[Any, ...], **extra: Any
) -> Markup:
    """`_render` of a panel that lists nothing (no action, no commentary: the panels of most
    KPIs and objectives), drawn once per `shape` (what the panel shows besides the subject's
    id and the session's CSRF token, `extra` aside: the same for every subject) and kept,
    the id and the token put in per request; drawn in full where the id would be written
    otherwise in a link than in the page's text, or the page's context names what a panel
    reads for itself."""
    prefix = here[: -len(subject.id)]
    if (
        not here.endswith("/" + subject.id)
        or not _PLAIN_ID.fullmatch(subject.id)
        or "back" in context
        or "action" in context
    ):
        return _render(context, name, subject=subject, here=here, **extra)

    def draw() -> str:
        slotted = dataclasses.replace(subject, id=_ID_SLOT)
        here_slotted = prefix + _ID_SLOT
        drawn = _render(
            context, name, subject=slotted, here=here_slotted, csrf_token=_CSRF_SLOT, **extra
        )
        return str(drawn)

    key = (name, subject.kind, prefix, context_period(context), *shape)
    drawn = frame_fragment(cache_of(context["request"]), key, draw)
    token = str(escape(context.get("csrf_token") or ""))
    return Markup(
        drawn.replace(_QUOTED_ID_SLOT, subject.id)
        .replace(_ID_SLOT, subject.id)
        .replace(_CSRF_SLOT, token)
    )


def _noted(request: Request) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """The KPIs and objectives with an action, and those with a commentary, read once per
    store revision (every write of either moves it): the page of one in neither (most of
    them) reads neither table."""
    store = store_of(request)
    key = ("noted-subjects", page_revision(request))
    return cached_fragment(cache_of(request), key, lambda: action_service.noted_subjects(store))


def subject_index(request: Request, snap: Snapshot) -> SubjectIndex:
    """The KPIs and objectives of the snapshot's organisation, indexed once per version."""
    return cached_fragment(
        cache_of(request), ("action-subjects", snap.version), lambda: SubjectIndex.of(snap.org)
    )


def today_snapshot(request: Request) -> Snapshot:
    """Today's scorecard, for the forms (which leave the page's chosen period as it is)."""
    return page_snapshot(request, today())


# Where the panels' owner fields fetch their suggestions from (static/layout.js), when first
# used: a KPI page does not carry 300 names that most of its readers never look at.
PEOPLE_SOURCE = "/suggestions/people"


def people_suggested(request: Request, account: Account | None) -> Markup:
    """The owner field's suggestions: `<option>`s of the first MAX_SUGGESTED people of the
    organisation in the units the reader may read. Drawn from the definitions (no scorecard)
    and kept per revision of them and scope, so that a check-in does not draw them again."""
    cache = cache_of(request)
    revision = page_revision(request)
    units = readable_units(account, cache.unit_tree(revision))

    def draw() -> Markup:
        org = cache.organization(revision)
        people = itertools.islice(
            (p for p in org.people if units is None or p.unit in units), MAX_SUGGESTED
        )
        option = Markup('<option value="{0}">{1}</option>')
        return Markup("").join(option.format(p.id, p.name) for p in people)

    scope = frozenset(units) if units is not None else None
    key = ("people-options", definitions_revision(revision), scope)
    return cached_fragment(cache, key, draw)


@pass_context
def actions_panel(context: Context, kind: str, item_id: str) -> Markup:
    """The actions on one KPI or objective, each with the form to change it when the reader
    may, and the form to add one."""
    request, account, snap = _snapshot_of(context)
    item = snap.kpis.get(item_id) if kind == "kpi" else snap.objectives.get(item_id)
    if item is None:
        return Markup("")
    subject = subject_for_item(item)
    tree = unit_tree(snap)
    found = (
        action_service.list_actions(store_of(request), subjects=[(kind, item_id)])
        if (kind, item_id) in _noted(request)[0]
        else []
    )
    found.sort(key=lambda a: (a.status != "open", a.due is None, a.due or dt.date.max, a.id))
    may_create = may_create_action(account, tree, subject, account.person_id if account else None)
    owner = (account.person_id or "") if account else ""
    # An owner on what another person owns may take the action only themselves: no owner
    # field to fill in that would be refused.
    owner_fixed = may_create and owner_only_self(account, tree, subject)
    values: dict[str, Any] = {
        "snap": snap,
        "people": "",
        "people_source": PEOPLE_SOURCE,
        "form": ActionForm(owner=owner),
        "today": today(),
        "may_create": may_create,
        "owner_fixed": owner_fixed,
    }
    if not found:
        shape = (may_create, owner, owner_fixed, subject.owner if owner_fixed else None)
        return _empty_panel(
            context, "_actions_panel.html", subject, request.url.path, shape, actions=[],
            may_edit={}, **values,
        )  # fmt: skip
    return _render(
        context,
        "_actions_panel.html",
        subject=subject,
        actions=found,
        may_edit={a.id: may_edit_action(account, tree, subject, a) for a in found},
        here=request.url.path,
        **values,
    )


MAX_LISTED = 200  # actions drawn on a unit's page


@pass_context
def actions_list(context: Context, *, unit: str | None = None, person: str | None = None) -> Markup:
    """The actions on the KPIs and objectives of a unit, or those a person owns or that are
    on what they own: a read-only list, each linked to its KPI or objective."""
    request, account, snap = _snapshot_of(context)
    tree = unit_tree(snap)
    index = subject_index(request, snap)
    subjects = index.by_key
    if unit is not None:
        # Those of the units below too, as the page's counts and its briefing book: a red
        # KPI of a team has its actions on its department's page. Only the KPIs and
        # objectives that have an action are asked for.
        noted = _noted(request)[0]
        wanted = [k for k in index.in_units(sorted(snap.subtree(unit))) if k in noted]
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
    # The top of a large organisation holds every action below it: the first ones (open and
    # soonest due first) are drawn, the rest counted.
    more = max(0, len(shown) - MAX_LISTED) if unit is not None else 0
    return _render(
        context,
        "_actions_list.html",
        snap=snap,
        listed=shown[: len(shown) - more],
        more=more,
        today=today(),
        for_person=person,
        for_unit=unit,
    )


@pass_context
def commentary_panel(context: Context, kind: str, item_id: str, period: str | None) -> Markup:
    """A period's commentary on a KPI or objective, its earlier versions, and the form to
    write a new one when the reader may."""
    request, account, snap = _snapshot_of(context)
    item = snap.kpis.get(item_id) if kind == "kpi" else snap.objectives.get(item_id)
    if item is None or not period:
        return Markup("")
    subject = subject_for_item(item)
    history: list[Comment] = []
    # A period that is no period has nothing written for it.
    if (kind, item_id) in _noted(request)[1]:
        with contextlib.suppress(InputError):
            history = commentary.comment_history(
                store_of(request), kind, item_id, period, snap.org.calendar
            )
    may_write = may_comment(account, unit_tree(snap), subject)
    values: dict[str, Any] = {"snap": snap, "period": period, "may_write": may_write}
    if not history:
        shape = (period, may_write)
        return _empty_panel(
            context, "_commentary_panel.html", subject, request.url.path, shape, history=[],
            errors={}, form=None, **values,
        )  # fmt: skip
    return _render(
        context,
        "_commentary_panel.html",
        subject=subject,
        history=history,
        here=request.url.path,
        errors={},
        form=None,
        **values,
    )


templates.env.globals.update(
    actions_panel=actions_panel, actions_list=actions_list, commentary_panel=commentary_panel
)
