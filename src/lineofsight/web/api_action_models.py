"""The typed answers of the actions, commentary and objective endpoints, for the OpenAPI
document (as `api_models` does for the others: they describe the JSON the endpoints write)."""

from __future__ import annotations

from pydantic import Field

from lineofsight.web.api_models import KpiRow, ObjectiveRow, Plain, _Out


class SubjectRef(_Out):
    kind: str = Field(description="kpi or objective")
    id: str


class MilestoneOut(_Out):
    title: str
    due: str | None = Field(description="YYYY-MM-DD")
    done: bool


class ActionOut(_Out):
    """An action on a KPI or an objective."""

    id: int
    key: str = Field(description="Its id in the strategy file (action_<id> when entered here).")
    subject: SubjectRef
    title: str
    owner: str | None
    due: str | None = Field(description="YYYY-MM-DD")
    status: str = Field(description="open, done or dropped")
    milestones: list[MilestoneOut]
    declared: bool = Field(description="Declared in the strategy file.")
    created_by: str | None
    created_at: str
    updated_at: str


class ActionList(_Out):
    actions: list[ActionOut]


class CommentOut(_Out):
    """One version of a period's commentary."""

    subject: SubjectRef
    period: str
    analysis: str
    recommendation: str
    author: str | None
    at: str
    version: int


class CommentList(_Out):
    commentary: list[CommentOut]


class CommentHistory(_Out):
    current: CommentOut | None
    history: list[CommentOut] = Field(description="Every version, newest first.")


class ObjectiveAnswer(_Out):
    as_of: str
    objective: Plain = Field(description="The objective as the strategy file defines it.")
    score: ObjectiveRow | None
    kpis: list[KpiRow]
    children: list[ObjectiveRow]
