"""Commentary per KPI or objective and period: the analysis (why) and the recommendation (what
next), with author and time; a new text is a new version and the old ones stay as history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from lineofsight.domain.actions import MAX_COMMENT, SUBJECT_TYPES, Comment, subject_key
from lineofsight.domain.model import Calendar, Frequency
from lineofsight.domain.periods import (
    ACCEPTED_FORMS,
    PeriodError,
    grain_of,
    parse_period,
    period_of,
)
from lineofsight.engine.calendar import period_for
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit
from lineofsight.services.workspace import local_user
from lineofsight.store import actions as stored
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.organization import read_calendar

__all__ = [
    "comment_history",
    "comment_plain",
    "comments_for",
    "period_label",
    "write_comment",
]


def comments_for(
    store: Store, *, subjects: Iterable[tuple[str, str]], period: str | None = None
) -> list[Comment]:
    """The current version of each subject's comment for the period (every period: None),
    ordered by subject, then period."""
    with store.reading() as conn:
        label = None if period is None else period_label(conn, period)
        return stored.read_latest_comments(conn, subjects, label)


def comment_history(
    store: Store,
    subject_type: str,
    subject_id: str,
    period: str,
    calendar: Calendar | None = None,
) -> list[Comment]:
    """Every version of a subject's comment for a period, newest first (`calendar`: the
    organisation's, when the caller has it at hand; else it is read)."""
    with store.reading() as conn:
        label = period_label(conn, period, calendar)
        return stored.read_comment_history(conn, subject_type, subject_id, label)


def write_comment(
    store: Store,
    actor: str | None,
    *,
    subject_type: str,
    subject_id: str,
    period: str,
    analysis: str | None,
    recommendation: str | None,
) -> Comment:
    """Store a new version of the comment (one transaction with its audit row); the same text
    as the current version stores nothing and gives that version back. A text given as None
    keeps the current version's (the new version holds both); an empty text clears it."""
    with store.transaction() as conn:
        return add_comment(
            conn,
            actor,
            subject_type=subject_type,
            subject_id=subject_id,
            period=period,
            analysis=analysis,
            recommendation=recommendation,
        )


def add_comment(
    conn: StoreConnection,
    actor: str | None,
    *,
    subject_type: str,
    subject_id: str,
    period: str,
    analysis: str | None,
    recommendation: str | None,
) -> Comment:
    """`write_comment` inside the caller's transaction (a check-in with its comment)."""
    problems: list[Problem] = []
    if subject_type not in SUBJECT_TYPES:
        problems.append(Problem("subject_type", 0, "must be one of: " + ", ".join(SUBJECT_TYPES)))
    elif not stored.existing_subjects(conn, [(subject_type, subject_id)]):
        word = "KPI" if subject_type == "kpi" else "objective"
        problems.append(Problem("subject_id", 0, f"unknown {word} '{subject_id}'"))
    label = None
    try:
        label = period_label(conn, period)
    except UsageError as exc:
        problems.extend(exc.problems)
    else:
        problems.extend(_period_problems(conn, subject_type, subject_id, label))
    texts = {"analysis": analysis, "recommendation": recommendation}
    for name, value in texts.items():
        if value is not None and not isinstance(value, str):
            problems.append(Problem(name, 0, "must be text"))
        elif value is not None and len(value) > MAX_COMMENT:
            problems.append(Problem(name, 0, f"is longer than {MAX_COMMENT} characters"))
    if not problems and analysis is None and recommendation is None:
        problems.append(Problem("analysis", 0, "give an analysis or a recommendation"))
    history: list[Comment] = []
    if not problems and label is not None:
        history = stored.read_comment_history(conn, subject_type, subject_id, label)
        # A text left out keeps the current one: a new version changes only what was given.
        if analysis is None:
            analysis = history[0].analysis if history else ""
        if recommendation is None:
            recommendation = history[0].recommendation if history else ""
        if not (analysis.strip() or recommendation.strip()):
            problems.append(Problem("analysis", 0, "give an analysis or a recommendation"))
    if problems or label is None or analysis is None or recommendation is None:
        raise UsageError(str(problems[0]), problems)
    analysis, recommendation = analysis.strip(), recommendation.strip()
    if history and (history[0].analysis, history[0].recommendation) == (
        analysis,
        recommendation,
    ):
        return history[0]
    comment = Comment(
        subject_type=subject_type,
        subject_id=subject_id,
        period=label,
        analysis=analysis,
        recommendation=recommendation,
        author=actor,
        at=dt.datetime.now(dt.UTC),
        version=(history[0].version if history else 0) + 1,
    )
    stored.insert_comment(conn, comment)
    audit.record(
        conn,
        actor=actor or local_user(),
        action="comment.write",
        subject=subject_key(subject_type, subject_id),
        before=comment_plain(history[0]) if history else None,
        after=comment_plain(comment),
        at=comment.at,
    )
    return comment


_GRAIN_WORDS = {
    Frequency.DAILY: "a day",
    Frequency.WEEKLY: "a week",
    Frequency.MONTHLY: "a month",
    Frequency.QUARTERLY: "a quarter",
    Frequency.YEARLY: "a year",
}


def _period_problems(
    conn: StoreConnection, subject_type: str, subject_id: str, label: str
) -> list[Problem]:
    """The commentary is of a period its page shows it for. A KPI's: one of the KPI's own
    frequency (the page shows the commentary of the KPI's period) that has ended (the
    commentary explains its result, as a check-in gives it). An objective's: any period of
    the calendar that has begun (the page shows the period chosen, the running month by
    default), not one still to come."""
    text = stored.kpi_frequency(conn, subject_id) if subject_type == "kpi" else None
    if text is None and subject_type != "objective":  # no such KPI: said already
        return []
    calendar = read_calendar(conn)
    period = parse_period(label, calendar)
    today = dt.date.today()
    if text is None:  # an objective's
        if period.start <= today:
            return []
        now = period_of(today, period.grain, calendar, period.fiscal)
        return [
            Problem(
                "period",
                0,
                f"{label} has not begun yet (it starts on {period.start.isoformat()}): "
                f"commentary on an objective is of a period that has begun, such as {now.label}",
            )
        ]
    if period.end > today:
        return [
            Problem(
                "period",
                0,
                f"{label} has not ended yet (it ends on {period.end.isoformat()}): commentary "
                "explains the result of a period that has ended",
            )
        ]
    frequency = Frequency(text)
    if period.grain == grain_of(frequency):
        return []
    own = period_for(period.end, frequency, calendar)
    if own.end > today:  # the KPI's period holding it is still running: the one before
        own = period_for(own.start - dt.timedelta(days=1), frequency, calendar)
    return [
        Problem(
            "period",
            0,
            f"{label} is not a period of '{subject_id}', which is {frequency.value}: give "
            f"{_GRAIN_WORDS[frequency]} such as {own.label}",
        )
    ]


def period_label(conn: StoreConnection, period: str, calendar: Calendar | None = None) -> str:
    """The period's canonical label in the organisation's calendar (`2026-q3` -> `2026-Q3`);
    UsageError naming the field `period` when it is no period."""
    try:
        return parse_period(str(period).strip(), calendar or read_calendar(conn)).label
    except PeriodError as exc:
        reason = str(exc) or f"write {ACCEPTED_FORMS}"
        raise UsageError(f"period: {reason}", [Problem("period", 0, reason)]) from None


def comment_plain(comment: Comment) -> dict[str, Any]:
    """The comment as JSON-ready values (the API's shape and the audit log's)."""
    return {
        "subject": {"kind": comment.subject_type, "id": comment.subject_id},
        "period": comment.period,
        "analysis": comment.analysis,
        "recommendation": comment.recommendation,
        "author": comment.author,
        "at": comment.at.isoformat(),
        "version": comment.version,
    }
