"""Which period a KPI is evaluated in, for a frequency, an as-of date and a calendar."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from lineofsight.domain.model import Calendar, Frequency
from lineofsight.domain.periods import Period, grain_of, parse_period, period_of, previous_period
from lineofsight.domain.periods import uses_fiscal as uses_fiscal


def period_for(day: dt.date, frequency: Frequency, calendar: Calendar) -> Period:
    """The period of a KPI of this frequency that contains `day`."""
    return _period_for(day, frequency, calendar)


@lru_cache(maxsize=4096)
def _period_for(day: dt.date, frequency: Frequency, calendar: Calendar) -> Period:
    return period_of(day, grain_of(frequency), calendar, fiscal=uses_fiscal(calendar))


@lru_cache(maxsize=4096)
def evaluation_period(frequency: Frequency, as_of: dt.date, calendar: Calendar) -> Period:
    """The latest period of this frequency that ends on or before `as_of`."""
    current = _period_for(as_of, frequency, calendar)
    return current if current.end <= as_of else previous_period(current, calendar)


@lru_cache(maxsize=65536)
def period_named(text: str, calendar: Calendar) -> Period:
    """A period from its name (already validated by the strategy file's schema)."""
    return parse_period(text, calendar)
