"""What is being done about a KPI or an objective, and what its owners say about a period:
actions (initiatives) with their milestones, and commentary (analysis and recommendation).

Pure values: no I/O and no clock; whatever depends on the day takes it as an argument.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineofsight.domain.model import Location

__all__ = [
    "ACTION_STATUSES",
    "MAX_COMMENT",
    "MAX_TITLE",
    "SUBJECT_TYPES",
    "Action",
    "Comment",
    "DeclaredAction",
    "Milestone",
    "is_overdue",
    "subject_key",
]

# What an action or a comment may be about.
SUBJECT_TYPES = ("kpi", "objective")
# An action is open until it is done or dropped; only an open action can be overdue.
ACTION_STATUSES = ("open", "done", "dropped")
# Sizes a person types into a form: a title is a line, a comment a few paragraphs.
MAX_TITLE = 500
MAX_COMMENT = 20_000


@dataclass(frozen=True, slots=True)
class Milestone:
    """A step of an action, with the day it should be reached."""

    title: str
    due: dt.date | None
    done: bool


@dataclass(frozen=True, slots=True)
class Action:
    """An action (initiative) linked to one KPI or objective.

    `key` names the action in the strategy file (`actions: [{id: ...}]`); an action entered
    in the web app or the API gets `action_<id>`. `declared`: it came from the strategy file,
    so that `los apply` may remove it when the file no longer has it.
    """

    id: int
    subject_type: str  # "kpi" | "objective"
    subject_id: str
    title: str
    owner: str | None
    due: dt.date | None
    status: str  # open | done | dropped
    milestones: tuple[Milestone, ...]
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    key: str = ""
    declared: bool = False
    # When its owner was given it in the web app or the API, by which user and that user's
    # person (None: by the strategy file, or no owner): the news of it is its owner's unless
    # they gave it to themselves.
    given_at: dt.datetime | None = None
    given_by: str | None = None
    given_by_person: str | None = None

    @property
    def subject(self) -> tuple[str, str]:
        """(subject_type, subject_id): what the action is about."""
        return (self.subject_type, self.subject_id)


@dataclass(frozen=True, slots=True)
class Comment:
    """One version of the commentary on a KPI or objective for one period: why it is where it
    is (analysis) and what to do next (recommendation). Versions count from 1; a new version
    keeps the older ones as history."""

    subject_type: str
    subject_id: str
    period: str
    analysis: str
    recommendation: str
    author: str | None
    at: dt.datetime
    version: int


@dataclass(frozen=True, slots=True)
class DeclaredAction:
    """An action as the strategy file's `actions:` section declares it.

    `status` None: the file leaves the status to the app (a new action starts open, a
    stored one keeps what people set).
    """

    key: str
    subject_type: str
    subject_id: str
    title: str
    owner: str | None = None
    due: dt.date | None = None
    status: str | None = None
    milestones: tuple[Milestone, ...] = ()
    location: Location | None = field(default=None, compare=False)


def is_overdue(action: Action, as_of: dt.date) -> bool:
    """Whether the action is still open after its due day."""
    return action.status == "open" and action.due is not None and action.due < as_of


def late_milestones(action: Action, as_of: dt.date) -> tuple[Milestone, ...]:
    """The milestones of an open action not done after their due day, the earliest first."""
    if action.status != "open":
        return ()
    late = [m for m in action.milestones if not m.done and m.due is not None and m.due < as_of]
    return tuple(sorted(late, key=lambda m: m.due or as_of))


def subject_key(subject_type: str, subject_id: str) -> str:
    """The subject as the audit log names it: `kpi:nps`."""
    return f"{subject_type}:{subject_id}"
