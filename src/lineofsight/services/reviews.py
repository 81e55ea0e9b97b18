"""The record of a review held: attendees, decisions, and the actions created in it.

Everything the record says is checked first (every problem at once, each naming its field);
then, in one transaction, the review is kept (with its audit row) and its new actions are made
through the actions service (`add_action(..., review_id=...)`, each with its audit row) and
linked to it. The next briefing book of the unit shows the record (services/brief.py, "the
previous review").
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, parse_date
from lineofsight.domain.reviews import HeldReview
from lineofsight.domain.text import plural
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit
from lineofsight.services.actions import unknown_person
from lineofsight.services.brief_items import review_plain
from lineofsight.services.evaluate import load_organization
from lineofsight.services.workspace import local_user
from lineofsight.store import reviews as stored
from lineofsight.store.database import Store

if TYPE_CHECKING:
    from lineofsight.services.accounts import Account

MAX_TEXT = 10_000


@dataclass(frozen=True, slots=True)
class NewAction:
    """An action decided in the review, on a KPI or an objective of the unit's subtree."""

    subject_type: str  # kpi | objective
    subject_id: str
    title: str
    owner: str | None = None
    due: str | dt.date | None = None


def _date(value: str | dt.date | None, field: str, problems: list[Problem]) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return parse_date(value.strip())
    except (PeriodError, ValueError):
        problems.append(Problem(field, 0, f"'{value}' is not a date (YYYY-MM-DD)"))
        return None


def check_record(
    org: m.Organization,
    *,
    unit: str,
    period: str,
    held_on: str | dt.date | None,
    attendees: Sequence[str],
    decisions: Sequence[str],
    actions: Sequence[NewAction],
    account: Account | None = None,
) -> tuple[str, dt.date, list[Problem]]:
    """The period label and the day, and every problem of the record. `account`: the one
    recording it, who may give its actions only to themselves or to people of the units they
    may add actions in (`action_permissions.give_refusal`, as for an action added alone)."""
    from lineofsight.engine.calendar import period_named
    from lineofsight.services.action_permissions import give_refusal
    from lineofsight.services.permissions import UnitTree

    problems: list[Problem] = []
    units = org.units_by_id()
    if unit not in units:
        problems.append(Problem("unit", 0, f"unknown unit '{unit}'"))
    label = period.strip()
    ends: dt.date | None = None
    try:
        named = period_named(label, org.calendar)
        label, ends = named.label, named.end
    except (PeriodError, ValueError) as exc:
        problems.append(Problem("period", 0, str(exc)))
    today = dt.date.today()
    day = _date(held_on, "held_on", problems) if held_on not in (None, "") else None
    if day is not None and day > today:
        problems.append(
            Problem("held_on", 0, f"{day} is after today ({today}): record a review once held")
        )
    # A review looks back at a period that has ended: one still running (or not begun) on
    # the day held is most often a wrong year.
    held = day if day is not None else today
    if ends is not None and ends > held:
        problems.append(Problem("period", 0, f"{label} ends {ends}, after the day held, {held}"))
    people = {p.id for p in org.people}
    for i, person in enumerate(attendees):
        if person not in people:
            problems.append(unknown_person(f"attendees[{i}]", person, sorted(people)))
    for i, text in enumerate(decisions):
        if len(text) > MAX_TEXT:
            problems.append(Problem(f"decisions[{i}]", 0, f"longer than {MAX_TEXT:,} characters"))
    tree = UnitTree.of(org)
    subtree = tree.subtree(unit) if unit in units else set()
    kpis = {k.id: k.unit for k in org.kpis}
    objectives = {o.id: o.unit for o in org.objectives}
    for i, a in enumerate(actions):
        field = f"actions[{i}]"
        known = {"kpi": kpis, "objective": objectives}.get(a.subject_type)
        if not a.subject_id.strip() and a.subject_type in ("", "kpi", "objective"):
            # Nothing (or only a kind) typed: not an unknown id but a missing one.
            reason = "is required: write kpi:ID or objective:ID"
            problems.append(Problem(f"{field}.subject_id", 0, reason))
        elif known is None or a.subject_id not in known:
            problems.append(_unknown_subject(field, a, kpis, objectives, subtree))
        elif subtree and known[a.subject_id] not in subtree:
            problems.append(
                Problem(
                    f"{field}.subject_id",
                    0,
                    f"{a.subject_type} '{a.subject_id}' is not in {unit} or a unit below it",
                )
            )
        if not a.title.strip():
            problems.append(Problem(f"{field}.title", 0, "give the action a title"))
        refused = give_refusal(account, tree, a.owner or None, org)
        if refused is not None:
            problems.append(Problem(f"{field}.owner", 0, refused))
        elif a.owner and a.owner not in people:
            problems.append(unknown_person(f"{field}.owner", a.owner, sorted(people)))
        _date(a.due, f"{field}.due", problems)
    return label, day or today, problems


def _unknown_subject(
    field: str,
    action: NewAction,
    kpis: dict[str, str],
    objectives: dict[str, str],
    subtree: set[str] | frozenset[str],
) -> Problem:
    """The problem of an action about no known KPI or objective, with the closest of the
    unit's (`kpi:t2_backlog_days` for a `t2_backlog` typed without its kind)."""
    kinds = {"kpi": kpis, "objective": objectives}
    typed = action.subject_id or action.subject_type  # "t2_backlog" typed alone: no kind
    candidates = {
        item: f"{kind}:{item}"
        for kind, known in kinds.items()
        if kind == action.subject_type or action.subject_type not in kinds
        for item, unit in known.items()
        if not subtree or unit in subtree
    }
    close = difflib.get_close_matches(typed, list(candidates), n=1)
    hint = f" (did you mean {candidates[close[0]]}?)" if close else ""
    if action.subject_type not in kinds:
        reason = "an action is about a kpi or an objective (kpi:ID or objective:ID)"
        return Problem(f"{field}.subject_type", 0, reason + hint)
    return Problem(f"{field}.subject_id", 0, f"unknown {action.subject_type} '{typed}'{hint}")


def review_problems(
    store: Store,
    *,
    unit: str,
    period: str,
    held_on: str | dt.date | None = None,
    attendees: Sequence[str] = (),
    decisions: Sequence[str] = (),
    actions: Sequence[NewAction] = (),
    account: Account | None = None,
) -> list[Problem]:
    """Every problem of a review's record, nothing kept (as `record_review` finds them)."""
    return _checked(store, unit, period, held_on, attendees, decisions, actions, account)[4]


def _checked(
    store: Store,
    unit: str,
    period: str,
    held_on: str | dt.date | None,
    attendees: Sequence[str],
    decisions: Sequence[str],
    actions: Sequence[NewAction],
    account: Account | None = None,
) -> tuple[str, dt.date, list[str], list[str], list[Problem]]:
    """The period's label, the day, the attendees and decisions trimmed, and the problems."""
    decisions = [d.strip() for d in decisions if d.strip()]
    attendees = list(dict.fromkeys(a.strip() for a in attendees if a.strip()))
    label, day, problems = check_record(
        load_organization(store),
        unit=unit,
        period=period,
        held_on=held_on,
        attendees=attendees,
        decisions=decisions,
        actions=actions,
        account=account,
    )
    return label, day, attendees, decisions, problems


def record_review(
    store: Store,
    actor: str | None,
    *,
    unit: str,
    period: str,
    held_on: str | dt.date | None = None,
    attendees: Sequence[str] = (),
    decisions: Sequence[str] = (),
    actions: Sequence[NewAction] = (),
    now: dt.datetime | None = None,
    account: Account | None = None,
) -> HeldReview:
    """Keep the record of a review and make its new actions; UsageError listing every
    problem (nothing kept) when the record has any. `account`: the web app's or the API's
    account recording it (None: the store's own user, who may give actions to anyone)."""
    from lineofsight.services.actions import add_action

    label, day, attendees, decisions, problems = _checked(
        store, unit, period, held_on, attendees, decisions, actions, account
    )
    if problems:
        raise UsageError(f"the review's record has {plural(len(problems), 'problem')}", problems)
    # The review, its new actions (each with its audit row) and their links: one write.
    with store.transaction() as conn:
        review_id = stored.insert_review(
            conn,
            unit=unit,
            period=label,
            held_on=day,
            attendees=attendees,
            decisions=decisions,
            recorded_by=actor,
            recorded_at=now or dt.datetime.now(dt.UTC),
        )
        made = [
            add_action(
                conn,
                actor,
                subject_type=a.subject_type,
                subject_id=a.subject_id,
                title=a.title.strip(),
                owner=a.owner or None,
                due=_date(a.due, "due", []),
                review_id=review_id,
            )
            for a in actions
        ]
        stored.link_actions(conn, review_id, [a.id for a in made])
        held = stored.read_reviews(conn, review_id=review_id, limit=1)[0]
        audit.record(
            conn,
            actor=actor or local_user(),
            action="review.record",
            subject=f"review:{review_id}",
            after=review_plain(held),
        )
    return held


def review(store: Store, review_id: int) -> HeldReview:
    """One review held; UsageError for an unknown id."""
    with store.reading() as conn:
        found = stored.read_reviews(conn, review_id=review_id, limit=1)
    if not found:
        raise UsageError(f"no review {review_id}")
    return found[0]


def reviews_of(
    store: Store, units: Sequence[str] | None = None, limit: int = 50
) -> list[HeldReview]:
    """The reviews held of these units (None: all), the latest first."""
    with store.reading() as conn:
        return stored.read_reviews(conn, units=units, limit=limit)
