"""The strategy file's `reviews:` section: each unit's review meeting (SPEC section 8).

The models check each value alone; `validate.py` checks the unit and the attendees exist, the
cadence and its day read, and that a unit has one review.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from lineofsight.domain.reviews import DEFAULT_LEAD_DAYS
from lineofsight.spec.schema_base import Id, Text, _Model


def _day_text(value: Any) -> Any:
    """YAML reads `day: 3` as a number; the day is kept as text (`3`, `last`, `monday`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class ReviewSpec(_Model):
    """A unit's regular review: its cadence, attendees, and when the briefing book goes out."""

    unit: Id = Field(description="The unit reviewed (with its whole subtree).")
    every: Text = Field(
        description="monthly, weekly, quarterly, or a 5-field cron expression (UTC)."
    )
    day: Annotated[str | None, BeforeValidator(_day_text)] = Field(
        None,
        description="monthly/quarterly: day of the month 1-28 or last (default 1); "
        "weekly: a weekday (default monday).",
    )
    attendees: list[Id] = Field(
        default_factory=list, description="People who attend and receive the briefing book."
    )
    lead_days: int = Field(
        DEFAULT_LEAD_DAYS, ge=0, le=90, description="Days before the review the book is sent."
    )
