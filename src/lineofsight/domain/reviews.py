"""Reviews: a unit's regular review meeting, its cadence, and the record of one held.

The strategy file's `reviews:` section gives each unit's cadence (`every: monthly | weekly |
quarterly` or a 5-field cron expression, read by domain/schedules.py, always in UTC), the
day, the attendees and how many days before the review its briefing book is sent
(`lead_days`, default 3). A review looks back at the last whole period of its cadence: a
monthly review on 3 December reviews November, a weekly one the ISO week before, a quarterly
one the quarter before (a cron cadence reviews months). Nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lineofsight.domain.model import Calendar
from lineofsight.domain.notifications import WEEKDAYS
from lineofsight.domain.periods import Grain, Period, period_of, uses_fiscal
from lineofsight.domain.schedules import Schedule, parse_schedule

__all__ = [
    "CADENCES",
    "DEFAULT_LEAD_DAYS",
    "HeldReview",
    "ReviewCadence",
    "cadence_problem",
    "next_review",
    "normal_every",
    "review_period",
    "review_schedule",
]

CADENCES = ("monthly", "weekly", "quarterly")
DEFAULT_LEAD_DAYS = 3
_GRAIN = {"monthly": Grain.MONTH, "weekly": Grain.WEEK, "quarterly": Grain.QUARTER}
_CRON_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True, slots=True)
class ReviewCadence:
    """A unit's review meeting: when it is held, who attends, when its book goes out."""

    unit: str
    every: str  # monthly | weekly | quarterly, or a cron expression
    day: str | None = None  # monthly/quarterly: 1..28 or "last"; weekly: a weekday
    attendees: tuple[str, ...] = ()
    lead_days: int = DEFAULT_LEAD_DAYS


@dataclass(frozen=True, slots=True)
class HeldReview:
    """The record of a review that took place: who came, what was decided, actions made."""

    id: int
    unit: str
    period: str
    held_on: dt.date
    attendees: tuple[str, ...]
    decisions: tuple[str, ...]
    action_ids: tuple[int, ...]
    recorded_by: str | None
    recorded_at: dt.datetime


def normal_every(text: str) -> str:
    """A cadence as kept: the named ones in lower case, a cron expression as written."""
    text = " ".join(text.split())
    return text.lower() if text.lower() in CADENCES else text


def cadence_problem(every: str, day: str | None) -> tuple[str, str] | None:
    """What is wrong with a cadence, as (field, reason); None when it reads."""
    every = normal_every(every)
    if every in ("monthly", "quarterly"):
        if day is not None and day != "last" and not (day.isdigit() and 1 <= int(day) <= 28):
            return "day", f"'{day}' is not a day of the month: write 1 to 28, or last"
    elif every == "weekly":
        if day is not None and day not in WEEKDAYS:
            return "day", f"'{day}' is not a weekday ({', '.join(WEEKDAYS)})"
    elif len(every.split()) <= 1:  # a name, but not one of a review's cadences
        return "every", (
            f"'{every}' is not a review's cadence: write monthly, weekly, quarterly, or a "
            "5-field cron expression (minute hour day-of-month month day-of-week, in UTC), "
            "e.g. '0 0 15 * *'"
        )
    else:
        if day is not None:
            return "day", "a cron cadence sets its own day; leave day out"
        try:
            parse_schedule(every)
        except ValueError as exc:
            return "every", str(exc)
    return None


def review_schedule(cadence: ReviewCadence) -> Schedule:
    """The cadence as a schedule of domain/schedules.py (midnight UTC of each review day)."""
    day = cadence.day
    if cadence.every == "weekly":
        weekday = _CRON_DAYS[WEEKDAYS.index(day or "monday")]
        return parse_schedule(f"0 0 * * {weekday}")
    if cadence.every in ("monthly", "quarterly"):
        dom = "L" if day == "last" else str(int(day or "1"))
        months = "*" if cadence.every == "monthly" else "1,4,7,10"
        return parse_schedule(f"0 0 {dom} {months} *")
    return parse_schedule(cadence.every)


def next_review(cadence: ReviewCadence, on_or_after: dt.date) -> dt.date:
    """The first review day on or after `on_or_after`."""
    start = dt.datetime.combine(on_or_after, dt.time.min, dt.UTC) - dt.timedelta(seconds=1)
    return review_schedule(cadence).next_after(start).date()


def review_period(cadence: ReviewCadence | None, held_on: dt.date, calendar: Calendar) -> Period:
    """The period a review held on `held_on` looks back at: the last whole period before it
    (a month for a unit without a cadence: on 3 December, November), a quarter of the fiscal
    year where it does not start in January (FY2027-Q2), as the KPIs' quarters are."""
    grain = Grain.MONTH if cadence is None else _GRAIN.get(cadence.every, Grain.MONTH)
    fiscal = uses_fiscal(calendar)
    current = period_of(held_on, grain, calendar, fiscal)
    return period_of(current.start - dt.timedelta(days=1), grain, calendar, fiscal)
