"""Actions (initiatives) on KPIs and objectives: list, create and change them, each change one
transaction with its audit row.

Who may do what is the caller's business (`services.permissions`); this module checks that
what is asked makes sense and lists every problem at once, naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from lineofsight.domain.actions import (
    ACTION_STATUSES,
    MAX_TITLE,
    SUBJECT_TYPES,
    Action,
    Milestone,
    subject_key,
)
from lineofsight.domain.periods import PeriodError, check_date
from lineofsight.domain.text import did_you_mean
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit
from lineofsight.services.workspace import local_user
from lineofsight.store import actions as stored
from lineofsight.store.accounts import person_of
from lineofsight.store.check_results import forget_check_reports
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.notifications import withdraw

__all__ = [
    "CHANGEABLE",
    "action_plain",
    "action_problems",
    "add_action",
    "change_action",
    "create_action",
    "get_action",
    "list_actions",
    "noted_subjects",
    "remove_action",
    "subject_of",
    "unknown_person",
    "update_action",
]

# The fields `update_action` may change.
CHANGEABLE = ("subject_type", "subject_id", "title", "owner", "due", "status", "milestones")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def list_actions(
    store: Store,
    *,
    subjects: Iterable[tuple[str, str]] | None = None,
    owner: str | None = None,
    status: str | None = None,
) -> list[Action]:
    """The actions on the subjects (all: None), of an owner and in a status when given,
    soonest due first."""
    with store.reading() as conn:
        return stored.read_actions(conn, subjects=subjects, owner=owner, status=status)


def noted_subjects(
    store: Store,
) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """The KPIs and objectives (kind, id) that have an action, and those that have a
    commentary of any period, read together: a page of one that is in neither need not look
    for its actions or its commentary."""
    with store.reading() as conn:
        return stored.read_noted_subjects(conn)


def get_action(store: Store, action_id: int) -> Action | None:
    """One action by its number, None when there is none."""
    with store.reading() as conn:
        found = stored.read_actions(conn, ids=[action_id])
    return found[0] if found else None


def create_action(
    store: Store,
    actor: str | None,
    *,
    subject_type: str,
    subject_id: str,
    title: str,
    owner: str | None = None,
    due: dt.date | None = None,
    milestones: Iterable[Milestone] = (),
    review_id: int | None = None,
    status: str = "open",
) -> Action:
    """Add an action (one transaction with its audit row); every problem listed at once.

    `review_id`: the review whose record decided it, kept in the audit row.
    """
    with store.transaction() as conn:
        return add_action(
            conn,
            actor,
            subject_type=subject_type,
            subject_id=subject_id,
            title=title,
            owner=owner,
            due=due,
            milestones=milestones,
            review_id=review_id,
            status=status,
        )


def add_action(
    conn: StoreConnection,
    actor: str | None,
    *,
    subject_type: str,
    subject_id: str,
    title: str,
    owner: str | None = None,
    due: dt.date | None = None,
    milestones: Iterable[Milestone] = (),
    review_id: int | None = None,
    status: str = "open",
    key: str | None = None,
    declared: bool = False,
) -> Action:
    """`create_action` inside the caller's transaction (a review's record writes its new
    actions with the review; `los apply` the file's actions with the definitions)."""
    fields = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "title": title,
        "owner": owner,
        "due": due,
        "status": status,
        "milestones": tuple(milestones),
    }
    clean = _checked(conn, fields)
    action_id = stored.next_action_id(conn)
    if key is None:
        key = _free_key(conn, action_id)
    at = _now()
    # Given to its owner now, unless the strategy file declares it (its people wrote it).
    given = _given(conn, actor, at) if clean["owner"] and not declared else _NOT_GIVEN
    stored.insert_action(
        conn,
        {
            **given,
            "id": action_id,
            "key": key,
            "subject_type": clean["subject_type"],
            "subject_id": clean["subject_id"],
            "title": clean["title"],
            "owner": clean["owner"],
            "due": clean["due"],
            "status": clean["status"],
            "declared": declared,
            "created_by": actor,
            "created_at": at,
            "updated_at": at,
        },
        clean["milestones"],
    )
    forget_check_reports(conn)  # AC01 and AC02 look at the actions
    action = stored.read_actions(conn, ids=[action_id])[0]
    after = action_plain(action)
    if review_id is not None:
        after["review"] = review_id
    audit.record(
        conn,
        actor=actor or local_user(),
        action="action.create",
        subject=f"action:{action_id}",
        after=after,
        at=at,
    )
    return action


def action_problems(store: Store, fields: Mapping[str, Any]) -> list[Problem]:
    """Every problem of an action's fields (those of `CHANGEABLE`), nothing written: a form
    that found a problem of its own (a date it cannot read) tells the others with it."""
    given = {"owner": None, "due": None, "status": "open", "milestones": (), **fields}
    with store.reading() as conn:
        try:
            _checked(conn, given)
        except UsageError as exc:
            return list(exc.problems)
    return []


def update_action(store: Store, actor: str | None, action_id: int, **changes: Any) -> Action:
    """Change an action's fields (any of `CHANGEABLE`; `milestones` replaces them all), one
    transaction with its audit row. Nothing changed: no audit row, the action as it was."""
    with store.transaction() as conn:
        return change_action(conn, actor, action_id, changes)


def change_action(
    conn: StoreConnection,
    actor: str | None,
    action_id: int,
    changes: Mapping[str, Any],
    *,
    by_file: bool = False,
) -> Action:
    """`update_action` inside the caller's transaction. A new owner is given the action now
    (the news of it is theirs), unless `by_file` (`los apply` writes the strategy file's); the
    news of it not sent yet to the owner before, or once it is closed, is withdrawn."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        problems = [Problem(name, 0, "cannot be changed") for name in unknown]
        raise UsageError(f"{unknown[0]}: cannot be changed", problems)
    found = stored.read_actions(conn, ids=[action_id])
    if not found:
        raise UsageError(
            f"action: no action {action_id}", [Problem("action", 0, f"no action {action_id}")]
        )
    before = found[0]
    fields = {name: getattr(before, name) for name in CHANGEABLE}
    fields.update(changes)
    if "milestones" in changes:
        fields["milestones"] = tuple(changes["milestones"])
    clean = _checked(conn, fields)
    values = {
        name: clean[name]
        for name in CHANGEABLE
        if name != "milestones" and clean[name] != getattr(before, name)
    }
    steps = clean["milestones"] if clean["milestones"] != before.milestones else None
    if not values and steps is None:
        return before
    at = _now()
    if "owner" in values:
        values.update(_given(conn, actor, at) if clean["owner"] and not by_file else _NOT_GIVEN)
    if "owner" in values or values.get("status", "open") != "open":
        withdraw_news(conn, action_id)
    stored.update_action_row(conn, action_id, {**values, "updated_at": at}, steps)
    forget_check_reports(conn)
    action = stored.read_actions(conn, ids=[action_id])[0]
    audit.record(
        conn,
        actor=actor or local_user(),
        action="action.update",
        subject=f"action:{action_id}",
        before=_changed(action_plain(before), action_plain(action)),
        after=_changed(action_plain(action), action_plain(before)),
        at=at,
    )
    return action


def remove_action(conn: StoreConnection, actor: str | None, action: Action) -> None:
    """Delete an action, its whole record kept in the audit row (`los apply` removes the
    actions its file no longer declares)."""
    stored.delete_action(conn, action.id)
    withdraw_news(conn, action.id)
    forget_check_reports(conn)
    audit.record(
        conn,
        actor=actor or local_user(),
        action="action.delete",
        subject=f"action:{action.id}",
        before=action_plain(action),
    )


# The columns of an action given to nobody (by the strategy file, or no owner).
_NOT_GIVEN: dict[str, Any] = {"given_at": None, "given_by": None, "given_by_person": None}


def _given(conn: StoreConnection, actor: str | None, at: dt.datetime) -> dict[str, Any]:
    """The columns of an action given to its owner at `at` by the user `actor`, with the
    person that user is (so that nobody is told of an action they gave themselves)."""
    return {
        "given_at": at,
        "given_by": actor or local_user(),
        "given_by_person": person_of(conn, actor) if actor else None,
    }


def withdraw_news(conn: StoreConnection, action_id: int) -> None:
    """The email that an action is new to its owner, not sent yet, is not sent (the action
    was given to another person, closed or removed since it was planned)."""
    withdraw(conn, "action_new", f"action:{action_id}")


def action_plain(action: Action) -> dict[str, Any]:
    """The action as JSON-ready values (the API's shape and the audit log's)."""
    return {
        "id": action.id,
        "key": action.key,
        "subject": {"kind": action.subject_type, "id": action.subject_id},
        "title": action.title,
        "owner": action.owner,
        "due": action.due.isoformat() if action.due else None,
        "status": action.status,
        "milestones": [
            {
                "title": step.title,
                "due": step.due.isoformat() if step.due else None,
                "done": step.done,
            }
            for step in action.milestones
        ],
        "declared": action.declared,
        "created_by": action.created_by,
        "created_at": action.created_at.isoformat(),
        "updated_at": action.updated_at.isoformat(),
    }


def _changed(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The fields of `mine` that differ from `other` (what the audit row shows)."""
    skip = {"updated_at", "created_at"}
    return {k: v for k, v in mine.items() if k not in skip and other.get(k) != v}


def _free_key(conn: StoreConnection, action_id: int) -> str:
    """`action_<number>`, or the next free number's when a file took that key already."""
    number = action_id
    while stored.key_taken(conn, f"action_{number}"):
        number += 1
    return f"action_{number}"


def _checked(conn: StoreConnection, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields cleaned (text trimmed); UsageError listing every problem, by field."""
    problems: list[Problem] = []
    clean = dict(fields)
    subject_type = fields["subject_type"]
    subject_id = fields["subject_id"]
    if subject_type not in SUBJECT_TYPES:
        problems.append(Problem("subject_type", 0, "must be one of: " + ", ".join(SUBJECT_TYPES)))
    elif not isinstance(subject_id, str) or not subject_id:
        problems.append(Problem("subject_id", 0, "is required"))
    elif not stored.existing_subjects(conn, [(subject_type, subject_id)]):
        problems.append(Problem("subject_id", 0, f"unknown {_word(subject_type)} '{subject_id}'"))
    clean["title"] = _title(fields["title"], "title", problems)
    owner = fields["owner"]
    if isinstance(owner, str):
        owner = owner.strip() or None
    if owner is not None and not stored.known_people(conn, [owner]):
        problems.append(unknown_person("owner", owner, stored.person_ids(conn)))
    clean["owner"] = owner
    _day(fields["due"], "due", problems)
    if fields["status"] not in ACTION_STATUSES:
        problems.append(Problem("status", 0, "must be one of: " + ", ".join(ACTION_STATUSES)))
    steps: list[Milestone] = []
    for number, step in enumerate(fields["milestones"], start=1):
        where = f"milestones[{number}]"
        if not isinstance(step, Milestone):
            problems.append(Problem(where, 0, "must have a title, a due date and done"))
            continue
        title = _title(step.title, f"{where}.title", problems)
        _day(step.due, f"{where}.due", problems)
        steps.append(Milestone(title=title, due=step.due, done=bool(step.done)))
    clean["milestones"] = tuple(steps)
    if problems:
        raise UsageError(str(problems[0]), problems)
    return clean


def unknown_person(field: str, person: str, people: Iterable[str]) -> Problem:
    """The problem of a person id that names nobody, with the closest id when one is close
    (the action forms, the API and a review's record say it alike)."""
    return Problem(field, 0, f"unknown person '{person}'{did_you_mean(person, people)}")


def _day(value: Any, field: str, problems: list[Problem]) -> None:
    """A due date: none, or a date in the years a user may name (1900 to 2200)."""
    if value is None:
        return
    if not isinstance(value, dt.date):
        problems.append(Problem(field, 0, "must be a date (YYYY-MM-DD)"))
        return
    try:
        check_date(value)
    except PeriodError as exc:
        problems.append(Problem(field, 0, str(exc)))


def _title(value: Any, field: str, problems: list[Problem]) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problems.append(Problem(field, 0, "is required"))
    elif len(text) > MAX_TITLE:
        problems.append(Problem(field, 0, f"is longer than {MAX_TITLE} characters"))
    elif "\n" in text or "\r" in text:
        problems.append(Problem(field, 0, "must be one line"))
    return text


def _word(subject_type: str) -> str:
    return "KPI" if subject_type == "kpi" else "objective"


def subject_of(action: Action) -> str:
    """The action's subject as the audit log names it (`kpi:nps`)."""
    return subject_key(action.subject_type, action.subject_id)
