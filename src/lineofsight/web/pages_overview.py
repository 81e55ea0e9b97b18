"""The pages that look at the whole organisation: home, the strategy map, the alignment findings."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from lineofsight.checks.registry import rule_by_code
from lineofsight.domain.periods import PeriodError, check_date, parse_period, previous_period
from lineofsight.engine.calendar import evaluation_period
from lineofsight.services import edit_approval
from lineofsight.services.accounts import Account
from lineofsight.web.findlists import (
    counts,
    in_scope,
    scope_note,
    scope_of,
    scope_sentence,
    status_index,
)
from lineofsight.web.pagedata import Row, Snapshot, cached_fragment, unit_choices
from lineofsight.web.pagekit import (
    Moment,
    cache_of,
    due_view,
    item_unit,
    keep_period,
    may_read,
    page_revision,
    page_snapshot,
    page_view,
    readable,
    recent_periods,
    requested_unit,
    seer,
    store_of,
)
from lineofsight.web.security import page_account
from lineofsight.web.strategy_svg import strategy_svg
from lineofsight.web.templating import render, templates, with_query

router = APIRouter()

_WORSE = {"red": 0, "amber": 1, "no_data": 2, "no_target": 3, "green": 4}


def previous_as_of(snap: Snapshot, label: str) -> tuple[dt.date, str | None] | None:
    """The as-of date of the period before the one looked at (a month before, by default),
    and that period's label when a period is looked at; None before the first supported
    date (1900-01: nothing earlier to compare with)."""
    calendar = snap.org.calendar
    day: dt.date | None = None
    previous: str | None = None
    if label:
        with contextlib.suppress(PeriodError):
            period = previous_period(parse_period(label, calendar), calendar)
            day, previous = period.end, period.label
    if day is None:
        from lineofsight.domain.model import Frequency

        month = evaluation_period(Frequency.MONTHLY, snap.as_of, calendar)
        day = month.start - dt.timedelta(days=1)
    try:
        return check_date(day), previous
    except PeriodError:
        return None


# The home page lists the most serious status changes; the rest are counted.
MAX_CHANGES = 50


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(
    request: Request, period: str | None = None, account: Account = Depends(page_account)
) -> HTMLResponse:
    when, snap = page_view(request, period)
    units = readable(account, snap)
    earlier = previous_as_of(snap, when.label)
    before = page_snapshot(request, *earlier) if earlier is not None else None
    due = due_view(request, when, snap)

    # Counted before drawing: a kept fragment must not ask for another while it is built.
    found = counts(cache_of(request), snap, when.label, units, due)
    # The values overdue listed are the rows the box counts and `/lists/overdue` lists: at
    # every unit a KPI is scored at, not only its own.
    index = status_index(cache_of(request), snap, when.label, due)

    def draw() -> Markup:
        overdue = in_scope(index.groups["overdue"], units)
        context = _home_context(snap, before, when, units, overdue)
        context["counts"] = found
        context["see"] = seer(snap, units)
        context["empty_scope"] = scope_sentence(snap, units, "strategic objectives")
        return Markup(templates.get_template("home_body.html").render(context))

    scope = frozenset(units) if units is not None else None
    since = before.as_of if before is not None else None
    key = ("home", snap.version, when.as_of, when.label, since, due.as_of, scope)
    body = cached_fragment(cache_of(request), key, draw)
    return render(
        request,
        "home.html",
        title=snap.org.name,
        body=body,
        when=when,
        periods=recent_periods(snap.org.calendar),
        attention=_attention(request, account, snap, when, due, units),
        waiting=edit_approval.waiting_for(store_of(request), account, snap.org),
    )


# Items shown under each heading of the home page's attention list; the rest are counted.
ATTENTION_SHOWN = 20


def _attention(
    request: Request,
    account: Account,
    snap: Snapshot,
    when: Moment,
    due: Snapshot,
    units: set[str] | None,
) -> Markup:
    """The signed-in person's attention list as of the page's date, cut to what the account
    may read (kept per store revision, person, date and scope, like the rest of the page)."""
    from lineofsight.services.attention import empty_reason, grouped, inbox

    person = account.person_id
    if person is not None and person not in snap.people:
        person = None
    # A period still running: the list is today's (what falls due later is not overdue yet),
    # as the briefing book of such a period says; an ended period's, as of its last day: the
    # day the page's overdue values are read at (`pagekit.due_view`).
    as_of = due.as_of if when.label else None

    def draw() -> Markup:
        # `when` lets the list's links keep the page's period (see templating.link).
        context: dict[str, Any] = {"attention": None, "when": when}
        if person is not None:
            found = inbox(
                store_of(request),
                person=person,
                as_of=as_of,
                readable=units,
                organization=snap.org,
            )
            context = {
                "when": when,
                "attention": found,
                "attention_groups": grouped(found.items),
                "attention_shown": ATTENTION_SHOWN,
                "attention_empty": empty_reason("your", found.as_of, found.window),
            }
        return Markup(templates.get_template("home_attention.html").render(context))

    scope = frozenset(units) if units is not None else None
    # By the whole revision, not the scorecard's part (`snap.version`): the list shows actions.
    key = ("attention", page_revision(request), person, when.as_of, as_of, when.label, scope)
    return cached_fragment(cache_of(request), key, draw)


def _home_context(
    snap: Snapshot,
    before: Snapshot | None,
    when: Moment,
    units: set[str] | None,
    overdue_rows: Sequence[Row],
) -> dict[str, Any]:
    """What the home page draws. The values overdue (`overdue_rows`) are those of the day the
    page's period is read at (`pagekit.due_view`), as its boxes and the attention list count
    them; a result awaiting its value (a period that ended, its values not due yet) is not a
    change of status: the boxes count it. Nothing is compared with a date before the first
    supported one (`before` None), nor with one where no KPI the reader sees had a value:
    every KPI would be listed as changed."""
    strategic = [
        (o, snap.objective_rows.get(o.id))
        for o in snap.org.objectives
        if o.level.value == "strategic" and may_read(units, o.unit)
    ]
    heading = "Strategic objectives"
    if not strategic and units is not None:
        # A reader of one part of the organisation sees the top of that part: the objectives
        # of their units whose parent lies outside what they may read.
        heading = "Your units' top objectives"
        strategic = [
            (o, snap.objective_rows.get(o.id))
            for o in snap.org.objectives
            if o.unit in units
            and (
                o.parent is None
                or o.parent not in snap.objectives
                or not may_read(units, snap.objectives[o.parent].unit)
            )
        ]
    own_rows = [snap.kpi_row(k.id) for k in snap.org.kpis if may_read(units, k.unit)]
    changes = []
    overdue = [(snap.kpis[row.id], row) for row in overdue_rows]
    known_before = False  # a KPI the reader sees had a value by the date compared with
    for row in own_rows if before is not None else ():
        old = before.kpi_row(row.id) if row is not None and before is not None else None
        known_before = known_before or (old is not None and old.actual is not None)
        if row is None or row.data in ("overdue", "awaiting"):
            # A missing value is not a change of status: it is listed or counted on its own.
            continue
        if old is None or old.status != row.status:
            changes.append((snap.kpis[row.id], old, row))
    changes.sort(key=lambda c: (_WORSE.get(c[2].status, 5), c[0].name))
    compared = ""
    if before is None:
        compared = (
            f"Nothing to compare with: {when.label or snap.as_of.isoformat()} is the first "
            "period the calendar holds."
        )
    elif not known_before:
        compared = f"Nothing to compare with: no KPI had a value by {before.as_of.isoformat()}."
        changes = []
    return {
        "snap": snap,
        "when": when,
        "strategic": strategic,
        "objectives_heading": heading,
        "changes": changes[:MAX_CHANGES],
        "more_changes": max(0, len(changes) - MAX_CHANGES),
        "overdue": overdue,
        "before": before,
        "compared": compared,
        "periods": recent_periods(snap.org.calendar),
    }


@dataclass
class Node:
    """One line of the strategy map: an objective or a KPI, and what hangs below it."""

    kind: str
    id: str
    name: str
    row: Row | None
    unit: str
    owner: str | None
    children: list[Node] = field(default_factory=list)
    repeat: bool = False  # shown in full elsewhere on the map: a link to it, not a copy
    red: bool = False  # red itself or holding a red item below: its branch opens on the map


def mark_red(nodes: list[Node]) -> bool:
    """Mark every node on a path to a red item; whether any of `nodes` is on one."""
    found = False
    for node in nodes:
        below = mark_red(node.children)
        node.red = below or (node.row is not None and node.row.status == "red")
        found = found or node.red
    return found


def red_only(nodes: list[Node]) -> list[Node]:
    """The nodes on a path to a red item, with only such children (`mark_red` first)."""
    kept = []
    for node in nodes:
        if node.red:
            node.children = red_only(node.children)
            kept.append(node)
    return kept


def _cascade(
    snap: Snapshot, keep: set[str] | None, scope: set[str] | None = None
) -> tuple[list[Node], list[Node]]:
    """The objectives from the top down, with the KPIs that measure them and the KPIs that feed
    those; then the KPIs the cascade never reaches. Each item is drawn once in full.

    `keep` is the part of the organisation looked at: objectives above it are drawn too, to
    show where it hangs. `scope` is what the account may read: nothing outside it is drawn,
    and an objective whose parent lies outside it starts the map."""
    shown: set[str] = set()
    if scope is not None:
        keep = scope if keep is None else keep & scope
    kpi_in_scope = {k for k, kpi in snap.kpis.items() if keep is None or kpi.unit in keep}
    wanted: dict[str, bool] = {}

    def readable(objective_id: str | None) -> bool:
        return objective_id is not None and (
            scope is None or snap.objectives[objective_id].unit in scope
        )

    def objective_wanted(objective_id: str, trail: frozenset[str]) -> bool:
        if objective_id in wanted:
            return wanted[objective_id]
        objective = snap.objectives[objective_id]
        if not readable(objective_id):
            wanted[objective_id] = False
            return False
        found = keep is None or objective.unit in keep
        if not found:
            found = any(k in kpi_in_scope for k in snap.supporters.get(objective_id, ())) or any(
                objective_wanted(c, trail | {c})
                for c in snap.child_objectives.get(objective_id, ())
                if c not in trail
            )
        wanted[objective_id] = found
        return found

    def kpi_node(kpi_id: str, trail: frozenset[str]) -> Node:
        kpi = snap.kpis[kpi_id]
        node = Node("kpi", kpi_id, kpi.name, snap.kpi_row(kpi_id), kpi.unit, kpi.owner)
        if kpi_id in shown:
            node.repeat = True
            return node
        shown.add(kpi_id)
        for feeder in snap.feeders.get(kpi_id, ()):
            if feeder in kpi_in_scope and feeder not in trail:
                node.children.append(kpi_node(feeder, trail | {feeder}))
        return node

    def objective_node(objective_id: str, trail: frozenset[str]) -> Node:
        objective = snap.objectives[objective_id]
        node = Node(
            "objective",
            objective_id,
            objective.title,
            snap.objective_rows.get(objective_id),
            objective.unit,
            objective.owner,
        )
        shown.add(objective_id)
        for child in snap.child_objectives.get(objective_id, ()):
            if child not in trail and objective_wanted(child, trail | {child}):
                node.children.append(objective_node(child, trail | {child}))
        for kpi_id in snap.supporters.get(objective_id, ()):
            if kpi_id in kpi_in_scope:
                node.children.append(kpi_node(kpi_id, frozenset({kpi_id})))
        return node

    tops = list(snap.child_objectives.get(None, ()))
    if scope is not None:
        # Below an objective the account may not read, the cascade starts afresh.
        tops += [
            o
            for o, objective in snap.objectives.items()
            if objective.parent is not None
            and objective.parent in snap.objectives
            and not readable(objective.parent)
        ]
    top = [objective_node(o, frozenset({o})) for o in tops if objective_wanted(o, frozenset({o}))]
    loose = [kpi_node(k, frozenset({k})) for k in snap.kpis if k in kpi_in_scope and k not in shown]
    return top, loose


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def strategy_map(
    request: Request,
    unit: str | None = None,
    period: str | None = None,
    only: str | None = None,
    expand: str | None = None,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    when, snap = page_view(request, period)
    units = readable(account, snap)
    only_red = only == "red"
    expand_all = expand == "all"
    keep: set[str] | None = None
    unit = requested_unit(snap, unit, "", units) or None
    if unit:
        keep = snap.subtree(unit)
    scope = (
        frozenset(keep) if keep is not None else None,
        frozenset(units) if units is not None else None,
    )
    shown = unit or ""
    found = counts(
        cache_of(request), snap, when.label, scope_of(units, keep), due_view(request, when, snap)
    )

    def draw() -> Markup:
        top, loose = _cascade(snap, keep, units)
        mark_red(top)
        mark_red(loose)
        if only_red:
            top, loose = red_only(top), red_only(loose)
        context = {
            "counts": found,
            "see": seer(snap, units),
            "only_red": only_red,
            "expand_all": expand_all,
            "strategy_svg": strategy_svg(
                snap, top, lambda o: with_query(f"/objectives/{quote(o, safe='')}", when.label, {})
            ),
            "snap": snap,
            "when": when,
            "top": top,
            "loose": loose,
            "unit": shown,
            "unit_choices": unit_choices(snap, units, unit),
            "periods": recent_periods(snap.org.calendar),
            "scope_note": scope_note(snap, units),
        }
        return Markup(templates.get_template("map_body.html").render(context))

    # The map of 2,000 KPIs is a megabyte of HTML: drawn once per revision, date and scope.
    key = (
        "map",
        snap.version,
        when.as_of,
        when.label,
        shown,
        scope,
        only_red,
        expand_all,
    )
    body = cached_fragment(cache_of(request), key, draw)
    return render(request, "map.html", body=body)


def subject_link(snap: Snapshot, kind: str, item_id: str) -> str:
    """Where a finding's subject is shown."""
    if kind == "kpi":
        return f"/kpis/{item_id}"
    if kind == "unit":
        return f"/units/{item_id}"
    if kind == "person":
        return f"/people/{item_id}"
    return f"/objectives/{item_id}"


ALIGNMENT_PAGE = 100  # findings per page: a large organisation has tens of thousands
SEVERITIES = ("error", "warning", "info")


@router.get("/alignment", response_class=HTMLResponse, include_in_schema=False)
def alignment(
    request: Request,
    rule: str | None = None,
    severity: str | None = None,
    unit: str | None = None,
    period: str | None = None,
    page: int = 1,
    account: Account = Depends(page_account),
) -> HTMLResponse:
    when, snap = page_view(request, period)
    units = readable(account, snap)

    report = cache_of(request).findings(when.as_of)
    codes = sorted({(f.code, f.name) for f in report.findings})
    # A filter the page cannot apply is said (422), never an empty list that looks like
    # "no findings"; the page then shows what the other filters select.
    problems = []
    rule = (rule or "").strip().upper() or None
    known = rule_by_code()
    if rule is not None and rule not in known:
        problems.append(f"rule: unknown rule {rule!r} (rules: {', '.join(sorted(known))})")
        rule = None
    elif rule is not None and rule not in {code for code, _ in codes}:
        # A rule that found nothing is an empty list, said so, and stays chosen in the form.
        codes = sorted([*codes, (rule, known[rule].name)])
    severity = (severity or "").strip().lower() or None
    if severity is not None and severity not in SEVERITIES:
        problems.append(f"severity: {severity!r} is not error, warning or info")
        severity = None
    # 404 for a unit that does not exist, or that the reader may not see (the same answer).
    keep_unit = requested_unit(snap, unit, "", units) or None
    keep = snap.subtree(keep_unit) if keep_unit is not None else None
    selected: list[tuple[Any, str | None]] = []
    per_rule: dict[str, list[Any]] = {}  # code -> [code, name, severity, count]
    seen = 0  # the findings of the units the reader sees, before the filters
    for finding in sorted(report.findings, key=lambda f: (f.severity.rank, f.code, f.subject.id)):
        where = item_unit(snap, finding.subject.kind, finding.subject.id)
        if where is not None and not may_read(units, where):
            continue
        if where is None and units is not None:
            continue
        seen += 1
        if severity and finding.severity.value != severity:
            continue
        if keep is not None and where not in keep:
            continue
        group = per_rule.setdefault(finding.code, [finding.code, finding.name, finding.severity, 0])
        group[3] += 1
        if rule and finding.code != rule:
            continue
        selected.append((finding, where))
    pages = max(1, -(-len(selected) // ALIGNMENT_PAGE))
    page = max(1, min(page, pages))
    start = (page - 1) * ALIGNMENT_PAGE
    rows = [
        (
            finding,
            where,
            subject_link(snap, finding.subject.kind, finding.subject.id),
            snap.name(finding.subject.kind, finding.subject.id),
        )
        for finding, where in selected[start : start + ALIGNMENT_PAGE]
    ]
    filters = {"rule": rule, "severity": severity, "unit": keep_unit}
    filtered = any(filters.values())
    return render(
        request,
        "alignment.html",
        status_code=422 if problems else 200,
        snap=snap,
        when=when,
        rows=rows,
        changed=report.changed,
        matched=len(selected),
        first=start + 1,
        total=seen,
        filtered=filtered,
        # An empty list with no filter set is empty because of the reader's scope: said so.
        empty_scope=""
        if filtered or selected
        else scope_sentence(snap, units, "alignment findings"),
        per_rule=sorted(per_rule.values(), key=lambda g: (g[2].rank, g[0])),
        problems=problems,
        page=page,
        pages=pages,
        newer=keep_period(request, "/alignment", **filters, page=page - 1) if page > 1 else None,
        older=(
            keep_period(request, "/alignment", **filters, page=page + 1) if page < pages else None
        ),
        codes=codes,
        scope_note=scope_note(snap, units),
        rule=rule or "",
        severity=severity or "",
        unit=keep_unit or "",
        unit_choices=unit_choices(snap, units, keep_unit),
        periods=recent_periods(snap.org.calendar),
    )
