"""Actions, their milestones and commentary in the store.

Every function works inside the caller's connection, so that a change and its audit row
commit together (see services/actions.py and services/commentary.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from lineofsight.domain.actions import Action, Comment, Milestone
from lineofsight.store import tables as t
from lineofsight.store.database import plain_rows
from lineofsight.store.organization import bump_activity

# Subjects per statement: a page of a unit's subtree can name thousands of KPIs, more than a
# statement should bind at once.
_CHUNK = 500


def _utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite gives it back without its zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _subject_filters(table: Any, subjects: Iterable[tuple[str, str]]) -> list[ColumnElement[bool]]:
    """Conditions matching the subjects, one per subject type and chunk of ids."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for subject_type, subject_id in sorted(set(subjects)):
        by_type[subject_type].append(subject_id)
    return [
        and_(table.c.subject_type == subject_type, table.c.subject_id.in_(chunk))
        for subject_type, ids in by_type.items()
        for chunk in _chunks(ids)
    ]


# Actions


def next_action_id(conn: Connection) -> int:
    """The number the next action gets (writes take turns, so no other write takes it)."""
    return int(conn.execute(select(func.coalesce(func.max(t.actions.c.id), 0))).scalar_one()) + 1


def key_taken(conn: Connection, key: str) -> bool:
    """Whether an action already has this key."""
    a = t.actions
    return conn.execute(select(a.c.id).where(a.c.key == key)).first() is not None


def insert_action(
    conn: Connection, values: Mapping[str, Any], milestones: Sequence[Milestone]
) -> None:
    """Add an action (its `id` and `key` chosen by the caller) with its milestones."""
    conn.execute(insert(t.actions).values(**values))
    _insert_milestones(conn, int(values["id"]), milestones)
    bump_activity(conn)


def update_action_row(
    conn: Connection,
    action_id: int,
    values: Mapping[str, Any],
    milestones: Sequence[Milestone] | None,
) -> None:
    """Change an action's columns; `milestones` (when given) replace the ones it had."""
    if values:
        conn.execute(update(t.actions).where(t.actions.c.id == action_id).values(**values))
    if milestones is not None:
        m = t.action_milestones
        conn.execute(delete(m).where(m.c.action_id == action_id))
        _insert_milestones(conn, action_id, milestones)
    bump_activity(conn)


def delete_action(conn: Connection, action_id: int) -> None:
    """Remove an action and its milestones."""
    m = t.action_milestones
    conn.execute(delete(m).where(m.c.action_id == action_id))
    conn.execute(delete(t.actions).where(t.actions.c.id == action_id))
    bump_activity(conn)


def _insert_milestones(conn: Connection, action_id: int, milestones: Sequence[Milestone]) -> None:
    if milestones:
        conn.execute(
            insert(t.action_milestones),
            [
                {
                    "action_id": action_id,
                    "position": position,
                    "title": milestone.title,
                    "due": milestone.due,
                    "done": milestone.done,
                }
                for position, milestone in enumerate(milestones)
            ],
        )


def read_actions(
    conn: Connection,
    *,
    subjects: Iterable[tuple[str, str]] | None = None,
    owner: str | None = None,
    status: str | None = None,
    ids: Iterable[int] | None = None,
) -> list[Action]:
    """The actions that match every filter given, by due day (none last), then number."""
    a = t.actions
    if subjects is not None:
        subjects = sorted(set(subjects))
        if owner is None and status is None and ids is None:
            # A KPI, objective or unit page's panel, on every request: statements built once.
            return _actions_of(conn, _of_subjects(conn, subjects))
    query = select(a)
    if subjects is not None:
        filters = _subject_filters(a, subjects)
        if not filters:
            return []
        query = query.where(or_(*filters))
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = query.where(a.c.id.in_(wanted))
    if owner is not None:
        query = query.where(a.c.owner == owner)
    if status is not None:
        query = query.where(a.c.status == status)
    return _actions_of(conn, conn.execute(query))


_SUBJECTS = select(t.actions).where(
    t.actions.c.subject_type == bindparam("kind"),
    t.actions.c.subject_id.in_(bindparam("items", expanding=True)),
)


def _of_subjects(conn: Connection, subjects: Sequence[tuple[str, str]]) -> list[Mapping[str, Any]]:
    """The rows of the actions on these subjects (sorted, without repeats)."""
    if len(subjects) == 1:
        kind, item = subjects[0]
        return _of_one_subject(conn, kind, item)
    by_type: dict[str, list[str]] = defaultdict(list)
    for kind, item in subjects:
        by_type[kind].append(item)
    rows: list[Any] = []
    for kind, items in by_type.items():
        for chunk in _chunks(items):
            found = conn.execute(_SUBJECTS, {"kind": kind, "items": list(chunk)})
            rows.extend(found.mappings())
    return rows


# The actions on one KPI or objective, read by its page's panel at every request: plain SQL
# through the driver, the values as SQLAlchemy gives them (SQLite keeps days and times as text).
_ACTION_COLUMNS = tuple(c.name for c in t.actions.columns)
_ONE_SUBJECT_SQL = (
    "SELECT " + ", ".join(f'"{c}"' for c in _ACTION_COLUMNS) + " FROM actions"
    " WHERE subject_type = ? AND subject_id = ?"
)


def _of_one_subject(conn: Connection, kind: str, item: str) -> list[Mapping[str, Any]]:
    """`_of_subjects` of one subject."""
    rows: list[Mapping[str, Any]] = []
    for values in plain_rows(conn, _ONE_SUBJECT_SQL, [kind, item]):
        row = dict(zip(_ACTION_COLUMNS, values, strict=True))
        if isinstance(row["due"], str):
            row["due"] = dt.date.fromisoformat(row["due"])
        for name in ("created_at", "updated_at", "given_at"):
            if isinstance(row[name], str):
                row[name] = dt.datetime.fromisoformat(row[name])
        rows.append(row)
    return rows


def _actions_of(conn: Connection, result: Any) -> list[Action]:
    """The actions of a query's rows (a result, or its rows), with their milestones, by due
    day (none last), then number."""
    rows = list(result if isinstance(result, list) else result.mappings())
    steps = _read_milestones(conn, [row["id"] for row in rows])
    found = [
        Action(
            id=row["id"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            title=row["title"],
            owner=row["owner"],
            due=row["due"],
            status=row["status"],
            milestones=tuple(steps.get(row["id"], ())),
            created_by=row["created_by"],
            created_at=_utc(row["created_at"]),
            updated_at=_utc(row["updated_at"]),
            key=row["key"],
            declared=bool(row["declared"]),
            given_at=None if row["given_at"] is None else _utc(row["given_at"]),
            given_by=row["given_by"],
            given_by_person=row["given_by_person"],
        )
        for row in rows
    ]
    found.sort(key=lambda x: (x.due is None, x.due or dt.date.min, x.id))
    return found


def _read_milestones(conn: Connection, action_ids: Sequence[int]) -> dict[int, list[Milestone]]:
    m = t.action_milestones
    steps: dict[int, list[Milestone]] = defaultdict(list)
    for chunk in _chunks(sorted(action_ids)):
        query = select(m).where(m.c.action_id.in_(chunk)).order_by(m.c.action_id, m.c.position)
        for row in conn.execute(query).mappings():
            steps[row["action_id"]].append(
                Milestone(title=row["title"], due=row["due"], done=bool(row["done"]))
            )
    return steps


def kpi_frequency(conn: Connection, kpi_id: str) -> str | None:
    """The frequency a KPI of the organisation is measured at (None: no such KPI)."""
    found = conn.execute(select(t.kpis.c.frequency).where(t.kpis.c.id == kpi_id)).first()
    return None if found is None else str(found[0])


def existing_subjects(
    conn: Connection, subjects: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Those of the subjects that are KPIs or objectives of the organisation."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for subject_type, subject_id in set(subjects):
        wanted[subject_type].append(subject_id)
    found: set[tuple[str, str]] = set()
    for subject_type, table in (("kpi", t.kpis), ("objective", t.objectives)):
        for chunk in _chunks(sorted(wanted.get(subject_type, ()))):
            query = select(table.c.id).where(table.c.id.in_(chunk))
            found |= {(subject_type, row[0]) for row in conn.execute(query)}
    return found


def known_people(conn: Connection, person_ids: Iterable[str]) -> set[str]:
    """Those of the ids that are people of the organisation."""
    p = t.people
    found: set[str] = set()
    for chunk in _chunks(sorted(set(person_ids))):
        found |= {row[0] for row in conn.execute(select(p.c.id).where(p.c.id.in_(chunk)))}
    return found


def person_ids(conn: Connection) -> list[str]:
    """Every person's id (what an unknown owner is compared with, for a suggestion)."""
    return list(conn.execute(select(t.people.c.id).order_by(t.people.c.id)).scalars())


# Commentary


def latest_comment_version(
    conn: Connection, subject_type: str, subject_id: str, period: str
) -> int:
    """The current version of a subject's comment for a period (0: none yet)."""
    c = t.commentary
    query = select(func.coalesce(func.max(c.c.version), 0)).where(
        c.c.subject_type == subject_type, c.c.subject_id == subject_id, c.c.period == period
    )
    return int(conn.execute(query).scalar_one())


def insert_comment(conn: Connection, comment: Comment) -> None:
    """Add one version of a comment."""
    conn.execute(
        insert(t.commentary).values(
            subject_type=comment.subject_type,
            subject_id=comment.subject_id,
            period=comment.period,
            version=comment.version,
            analysis=comment.analysis,
            recommendation=comment.recommendation,
            author=comment.author,
            at=comment.at,
        )
    )
    bump_activity(conn)


def read_latest_comments(
    conn: Connection, subjects: Iterable[tuple[str, str]], period: str | None
) -> list[Comment]:
    """The current version of each subject's comment for the period (every period: None)."""
    c = t.commentary
    filters = _subject_filters(c, subjects)
    if not filters:
        return []
    latest = (
        select(
            c.c.subject_type,
            c.c.subject_id,
            c.c.period,
            func.max(c.c.version).label("version"),
        )
        .where(or_(*filters))
        .group_by(c.c.subject_type, c.c.subject_id, c.c.period)
    )
    if period is not None:
        latest = latest.where(c.c.period == period)
    newest = latest.subquery()
    query = select(c).join(
        newest,
        and_(
            c.c.subject_type == newest.c.subject_type,
            c.c.subject_id == newest.c.subject_id,
            c.c.period == newest.c.period,
            c.c.version == newest.c.version,
        ),
    )
    rows = [_comment(row) for row in conn.execute(query).mappings()]
    rows.sort(key=lambda x: (x.subject_type, x.subject_id, x.period))
    return rows


def read_comment_history(
    conn: Connection, subject_type: str, subject_id: str, period: str
) -> list[Comment]:
    """Every version of a subject's comment for a period, newest first."""
    rows = plain_rows(conn, _COMMENT_HISTORY, [subject_type, subject_id, period])
    return [
        Comment(
            subject_type=kind,
            subject_id=item,
            period=label,
            analysis=analysis,
            recommendation=recommendation,
            author=author,
            # SQLite keeps a time as text, read as SQLAlchemy reads it (fromisoformat).
            at=_utc(dt.datetime.fromisoformat(at) if isinstance(at, str) else at),
            version=version,
        )
        for kind, item, label, analysis, recommendation, author, at, version in rows
    ]


# Every KPI or objective with an action, and every one with a commentary (of any period):
# read once per store revision by the web app's panels, which look no further for the others.
_NOTED = (
    "SELECT DISTINCT 'action', subject_type, subject_id FROM actions UNION ALL "
    "SELECT DISTINCT 'commentary', subject_type, subject_id FROM commentary"
)


def read_noted_subjects(
    conn: Connection,
) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """The subjects (kind, id) that have an action, and those that have a commentary."""
    found: dict[str, set[tuple[str, str]]] = {"action": set(), "commentary": set()}
    for table, kind, item in plain_rows(conn, _NOTED):
        found[table].add((kind, item))
    return frozenset(found["action"]), frozenset(found["commentary"])


# Read by the commentary panel of every KPI and objective page: plain SQL through the driver
# (a statement and its result objects through SQLAlchemy cost more than the read itself).
_COMMENT_HISTORY = (
    'SELECT subject_type, subject_id, period, analysis, recommendation, author, "at", version'
    " FROM commentary WHERE subject_type = ? AND subject_id = ? AND period = ?"
    " ORDER BY version DESC"
)


def _comment(row: RowMapping) -> Comment:
    return Comment(
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        period=row["period"],
        analysis=row["analysis"],
        recommendation=row["recommendation"],
        author=row["author"],
        at=_utc(row["at"]),
        version=row["version"],
    )
