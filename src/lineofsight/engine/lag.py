"""Which period a KPI is evaluated at, with reporting lag (SPEC section 3, "Evaluation period").

The scorecard engine (`engine.frames`) chooses the period this way:

- the *slots* of a frequency are its periods ending on or before the as-of date, newest first:
  every period that may still be awaiting data, the first one that is due, then `LOOKBACK`
  older ones where the last known value is looked for first (a row with none there is looked
  for further back, however far: `engine.frame_older`);
- a KPI is evaluated at the first slot that has a value, among the slots up to its first due
  one; when none has a value, at its first due slot, where it is *overdue*;
- a period report (`--period P`, `lag=False`) is evaluated at the first slot, value or not.

A formula KPI, or a unit's value derived across units, counts as reported for a period when
it has a value there (every input reported); otherwise its period is awaiting or overdue like
any KPI's, by its own `due_days`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

from lineofsight.domain.model import Calendar, Frequency
from lineofsight.domain.periods import Period, previous_period
from lineofsight.engine.calendar import evaluation_period

# How many periods before the evaluated one are read for every KPI, where the last known value
# is looked for first: one, the period before (each one more reads a period more of every KPI's
# measurements: bench_status). The rows with none there are looked for further back, their
# KPIs' older measurements read for them alone (`engine.frame_older`).
LOOKBACK = 1
REPORTED, OVERDUE, AWAITING = "reported", "overdue", "awaiting"


@lru_cache(maxsize=1024)
def period_slots(
    frequency: Frequency, as_of: dt.date, calendar: Calendar, due_days: int | None
) -> tuple[Period, ...]:
    """The periods of a frequency ending on or before `as_of`, newest first, up to the first
    one due `due_days` after its end (the first one when `due_days` is None), then `LOOKBACK`
    more."""
    current = evaluation_period(frequency, as_of, calendar)
    slots = [current]
    if due_days is not None:
        while current.end + dt.timedelta(days=due_days) > as_of:
            current = previous_period(current, calendar)
            slots.append(current)
    for _ in range(LOOKBACK):
        current = previous_period(current, calendar)
        slots.append(current)
    return tuple(slots)


def first_due(slots: Sequence[Period], as_of: dt.date, due_days: int | None) -> int:
    """The index of the first slot whose value is due by `as_of` (0 for a period report)."""
    if due_days is None:
        return 0
    lag = dt.timedelta(days=due_days)
    for index, period in enumerate(slots):
        if period.end + lag <= as_of:
            return index
    raise ValueError("the slots end before a due period")  # period_slots always reaches one
