"""Schedules: when a recurring job (a source's refresh, a notification run) is next due.

A schedule is written in the strategy file as one of four names or as a 5-field cron
expression (minute hour day-of-month month day-of-week), always read in UTC:

- `hourly`  at minute 0 of every hour              (cron `0 * * * *`)
- `daily`   every day at 02:00 UTC                  (cron `0 2 * * *`)
- `weekly`  every Monday at 02:00 UTC               (cron `0 2 * * 1`)
- `monthly` on the first day of each month, 02:00 UTC (cron `0 2 1 * *`)

02:00 UTC is early morning in Europe and late evening in the Americas: yesterday's facts are
in, and the day's first readers see fresh values. Cron expressions are evaluated by `cronsim`
(lists, ranges, steps, month and weekday names, `L` for the last day of a month). Nothing here
reads the clock: the caller passes the time to start from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cronsim import CronSim, CronSimError

__all__ = ["NAMED_SCHEDULES", "SCHEDULE_FORMS", "Schedule", "parse_schedule"]

# The named schedules and the cron expressions they stand for (documented in the module doc).
NAMED_SCHEDULES: dict[str, str] = {
    "hourly": "0 * * * *",
    "daily": "0 2 * * *",
    "weekly": "0 2 * * 1",
    "monthly": "0 2 1 * *",
}

SCHEDULE_FORMS = (
    "hourly, daily, weekly, monthly, or a 5-field cron expression "
    "(minute hour day-of-month month day-of-week, in UTC), e.g. '30 6 * * 1-5'"
)

# What each cron field holds, for a message that says which field is wrong and why.
_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31, or L"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT, 0 and 7 are Sunday"),
)

_UTC = dt.UTC


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: its text as the user wrote it (normalised) and its cron expression."""

    text: str
    cron: str

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first time this schedule fires strictly after `when` (timezone-aware, in UTC)."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("a schedule needs a timezone-aware time (UTC), not a naive one")
        return _next(self.cron, when.astimezone(_UTC))

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule:
    """Read a schedule: a name (hourly, daily, weekly, monthly) or a 5-field cron expression.

    Raises `ValueError` whose text is the reason, for a user who wrote it in a strategy file.
    """
    if not isinstance(text, str):
        raise ValueError(f"a schedule must be text: {SCHEDULE_FORMS}")
    words = text.split()
    if not words:
        raise ValueError(f"the schedule is empty; write {SCHEDULE_FORMS}")
    if len(words) == 1:
        name = words[0].lower()
        if name in NAMED_SCHEDULES:
            return Schedule(text=name, cron=NAMED_SCHEDULES[name])
        raise ValueError(f"'{text.strip()}' is not a schedule; write {SCHEDULE_FORMS}")
    if len(words) != len(_FIELDS):
        raise ValueError(
            f"'{' '.join(words)}' has {len(words)} fields; a cron expression has 5 "
            "(minute hour day-of-month month day-of-week), e.g. '30 6 * * 1-5'"
        )
    cron = " ".join(words)
    # cronsim reads names in upper case only; users write `mon` as often as `MON`.
    cron_upper = cron.upper()
    start = dt.datetime(2000, 1, 1, tzinfo=_UTC)
    try:
        CronSim(cron_upper, start)
    except CronSimError as error:
        raise ValueError(_reason(cron, str(error))) from None
    # Every expression cronsim accepts fires within a few years (29 February at worst); the
    # check keeps a schedule that can never fire out of the store all the same.
    try:
        _next(cron_upper, start)
    except ValueError:
        raise ValueError(f"'{cron}' never fires; check its day and month fields") from None
    return Schedule(text=cron, cron=cron_upper)


def _next(cron: str, when: dt.datetime) -> dt.datetime:
    try:
        found = next(CronSim(cron, when))
    except (StopIteration, CronSimError):
        raise ValueError(f"the schedule '{cron}' never fires after {when.isoformat()}") from None
    # cronsim returns times in the start's zone (UTC here); say so explicitly for the caller.
    return found.astimezone(_UTC)


def _reason(cron: str, message: str) -> str:
    """Turn cronsim's short message ('Bad minute') into one that names the field and its range."""
    words = cron.split()
    for index, (field, allowed) in enumerate(_FIELDS):
        if message == f"Bad {field}":
            if field == "day-of-month":
                return (
                    f"'{cron}': the day-of-month field '{words[index]}' is not valid, or names "
                    f"a day that the months in '{words[3]}' never have (it takes {allowed})"
                )
            return (
                f"'{cron}': the {field} field '{words[index]}' is not valid "
                f"({field} takes {allowed}, lists a,b, ranges a-b and steps */n)"
            )
    return f"'{cron}' is not a valid cron expression ({message})"
