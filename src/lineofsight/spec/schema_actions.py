"""The strategy file's `actions:` section: actions (initiatives) on KPIs and objectives, with
their milestones. Actions are mostly entered in the web app; a file may declare them too."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from lineofsight.domain.periods import PeriodError, check_date
from lineofsight.spec.schema_base import Id, _Model


def _check_day(value: dt.date) -> dt.date:
    try:
        return check_date(value)
    except PeriodError as exc:
        raise ValueError(str(exc)) from None


# A date in the supported years, as `schema.Day`.
Day = Annotated[dt.date, AfterValidator(_check_day)]


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be one line")
    return value


Title = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_one_line)]


class MilestoneSpec(_Model):
    """A step of an action, with the day it should be reached."""

    title: Title
    due: Day | None = None
    done: bool = False


class ActionSpec(_Model):
    """An action on one KPI (`kpi:`) or one objective (`objective:`)."""

    id: Id = Field(description="Names the action in this file (unique among the actions).")
    kpi: Id | None = Field(None, description="The KPI it acts on.")
    objective: Id | None = Field(None, description="The objective it acts on.")
    title: Title
    owner: Id | None = Field(None, description="The person who owns it.")
    due: Day | None = None
    status: Literal["open", "done", "dropped"] | None = Field(
        None, description="open | done | dropped; not given: left to the app (new: open)."
    )
    milestones: list[MilestoneSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_subject(self) -> ActionSpec:
        if (self.kpi is None) == (self.objective is None):
            raise ValueError("give kpi or objective (one of them)")
        return self
