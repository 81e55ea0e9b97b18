"""Reporting periods: parse the period strings of a strategy file and step through periods.

A period is a closed range of days with a grain (day, week, month, quarter, year) and a
canonical label. Calendar quarters and years are labelled `2026-Q3` and `2026`; fiscal ones
`FY2027-Q1` and `FY2027`, where a fiscal year is named by the calendar year in which it ends
and starts on the first day of `Calendar.fiscal_year_start`. Weeks are ISO weeks (Monday to
Sunday, labelled by ISO year). Nothing here reads files or the clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from enum import IntEnum

from lineofsight.domain.model import Calendar, Frequency

__all__ = [
    "ACCEPTED_FORMS",
    "GRAIN_OF_FREQUENCY",
    "MAX_YEAR",
    "MIN_YEAR",
    "Grain",
    "Period",
    "PeriodError",
    "check_date",
    "contains",
    "days",
    "grain_of",
    "next_period",
    "parse_date",
    "parse_period",
    "period_of",
    "periods_between",
    "previous_period",
]

# The years a user may name, in a period or a date (an as-of date, a target's date). Far
# enough from Python's dates (years 1 to 9999) that stepping a period, a reporting lag or a
# forecast path beyond them never overflows; far wider than any plan or history needs.
MIN_YEAR = 1900
MAX_YEAR = 2200

ACCEPTED_FORMS = "2026, 2026-Q3, 2026-07, 2026-W05, 2026-07-15, FY2027 or FY2027-Q1"

_ONE_DAY = dt.timedelta(days=1)


class Grain(IntEnum):
    """How long a period is; ordered from fine to coarse so grains compare by size."""

    DAY = 0
    WEEK = 1
    MONTH = 2
    QUARTER = 3
    YEAR = 4


GRAIN_OF_FREQUENCY: dict[Frequency, Grain] = {
    Frequency.DAILY: Grain.DAY,
    Frequency.WEEKLY: Grain.WEEK,
    Frequency.MONTHLY: Grain.MONTH,
    Frequency.QUARTERLY: Grain.QUARTER,
    Frequency.YEARLY: Grain.YEAR,
}


def grain_of(frequency: Frequency) -> Grain:
    """The period grain at which a KPI of this frequency is measured and evaluated."""
    return GRAIN_OF_FREQUENCY[frequency]


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """One reporting period: the days `start..end` (both inclusive) and its canonical label.

    Periods order by start, then end (the remaining fields only break ties between periods
    that cover the same days, such as `2026` and `FY2026` with a January fiscal start).
    """

    start: dt.date
    end: dt.date
    grain: Grain
    label: str
    fiscal: bool

    def __str__(self) -> str:
        return self.label


class PeriodError(ValueError):
    """A period string or a period operation that cannot be honoured; says what was wrong."""


# One pattern per form; re.ASCII so that `\d`-like classes never match non-ASCII digits.
_YEAR = re.compile(r"(?P<year>[0-9]{4})", re.ASCII)
_QUARTER = re.compile(r"(?P<year>[0-9]{4})-Q(?P<quarter>[0-9]+)", re.ASCII | re.IGNORECASE)
_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})", re.ASCII)
_WEEK = re.compile(r"(?P<year>[0-9]{4})-W(?P<week>[0-9]{2})", re.ASCII | re.IGNORECASE)
_DAY = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})", re.ASCII)
_FISCAL = re.compile(r"FY(?P<year>[0-9]{4})(?:-Q(?P<quarter>[0-9]+))?", re.ASCII | re.IGNORECASE)


def _error(text: str, reason: str) -> PeriodError:
    return PeriodError(f"{text!r} is not a valid period: {reason} (accepted: {ACCEPTED_FORMS})")


def _check_year(text: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _error(text, f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")


def _check_calendar(calendar: Calendar) -> int:
    start = calendar.fiscal_year_start
    # A bool is an int to Python, but `fiscal_year_start: true` is a mistake, not month 1.
    if isinstance(start, bool) or not isinstance(start, int) or not 1 <= start <= 12:
        raise PeriodError(f"fiscal_year_start must be a month number 1-12, not {start!r}")
    return start


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after the month of `day`."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(first: dt.date, months: int) -> dt.date:
    """The last day of a run of `months` whole months starting on `first`."""
    return _add_months(first, months) - _ONE_DAY


def _fiscal_year_start(fiscal_year: int, start_month: int) -> dt.date:
    # FY N ends in calendar year N, so unless it starts in January it began in N - 1.
    return dt.date(fiscal_year if start_month == 1 else fiscal_year - 1, start_month, 1)


def _year(year: int) -> Period:
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), Grain.YEAR, f"{year:04d}", False)


def _quarter(year: int, quarter: int) -> Period:
    first = dt.date(year, 3 * (quarter - 1) + 1, 1)
    return Period(first, _month_end(first, 3), Grain.QUARTER, f"{year:04d}-Q{quarter}", False)


def _month(year: int, month: int) -> Period:
    first = dt.date(year, month, 1)
    return Period(first, _month_end(first, 1), Grain.MONTH, f"{year:04d}-{month:02d}", False)


def _week(iso_year: int, week: int) -> Period:
    first = dt.date.fromisocalendar(iso_year, week, 1)
    label = f"{iso_year:04d}-W{week:02d}"
    return Period(first, first + dt.timedelta(days=6), Grain.WEEK, label, False)


def _day(day: dt.date) -> Period:
    return Period(day, day, Grain.DAY, day.isoformat(), False)


def _fiscal_year(fiscal_year: int, start_month: int) -> Period:
    first = _fiscal_year_start(fiscal_year, start_month)
    return Period(first, _month_end(first, 12), Grain.YEAR, f"FY{fiscal_year:04d}", True)


def _fiscal_quarter(fiscal_year: int, quarter: int, start_month: int) -> Period:
    first = _add_months(_fiscal_year_start(fiscal_year, start_month), 3 * (quarter - 1))
    label = f"FY{fiscal_year:04d}-Q{quarter}"
    return Period(first, _month_end(first, 3), Grain.QUARTER, label, True)


def _iso_weeks_in(iso_year: int) -> int:
    # 28 December always falls in the last ISO week of its year.
    return dt.date(iso_year, 12, 28).isocalendar().week


def check_date(day: dt.date) -> dt.date:
    """`day` itself when it lies in the supported years (`MIN_YEAR`..`MAX_YEAR`).

    Every date a user gives goes through here (or `parse_date`), so that the period arithmetic
    that follows never reaches past the dates Python can represent; PeriodError otherwise.
    """
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise PeriodError(
            f"{day.isoformat()} is outside the supported dates {MIN_YEAR}-01-01 to {MAX_YEAR}-12-31"
        )
    return day


def parse_date(text: str) -> dt.date:
    """The date `YYYY-MM-DD` names, in the supported years; PeriodError saying why not."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        # Written as a date but naming no day (2026-02-30): say which part is wrong.
        if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise PeriodError(f"expected a date YYYY-MM-DD ({exc})") from None
        raise PeriodError("expected a date YYYY-MM-DD") from None
    return check_date(day)


def parse_period(text: str, calendar: Calendar = Calendar()) -> Period:
    """The period a strategy-file or CSV period string names, read with the given calendar.

    Takes text only: a YAML loader may hand over `2026` as an int, and the caller turns it
    into text with `str()` first. Letters are case-insensitive (`2026-q3`, `fy2027`); the
    label of the result is canonical (`2026-Q3`, `FY2027`). Whitespace around the text is
    ignored; anything else that is not one of the accepted forms raises `PeriodError`.
    """
    if not isinstance(text, str):
        # Typed callers never get here; untyped ones (YAML values) get a clear message.
        raise PeriodError(
            f"a period must be text, not {type(text).__name__} {text!r} "
            f"(accepted: {ACCEPTED_FORMS})"
        )
    raw = text.strip()
    if not raw:
        raise _error(text, "it is empty")

    if match := _YEAR.fullmatch(raw):
        year = int(match["year"])
        _check_year(text, year)
        return _year(year)

    if match := _QUARTER.fullmatch(raw):
        year, quarter = int(match["year"]), int(match["quarter"])
        _check_year(text, year)
        if not 1 <= quarter <= 4 or len(match["quarter"]) != 1:
            raise _error(text, f"quarter must be Q1-Q4, not Q{match['quarter']}")
        return _quarter(year, quarter)

    if match := _MONTH.fullmatch(raw):
        year, month = int(match["year"]), int(match["month"])
        _check_year(text, year)
        if not 1 <= month <= 12:
            raise _error(text, f"month must be 01-12, not {match['month']}")
        return _month(year, month)

    if match := _WEEK.fullmatch(raw):
        year, week = int(match["year"]), int(match["week"])
        _check_year(text, year)
        last_week = _iso_weeks_in(year)
        if not 1 <= week <= last_week:
            raise _error(text, f"ISO year {year} has weeks W01-W{last_week}, not W{match['week']}")
        return _week(year, week)

    if match := _DAY.fullmatch(raw):
        year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
        _check_year(text, year)
        try:
            return _day(dt.date(year, month, day))
        except ValueError:
            raise _error(text, "there is no such date") from None

    if match := _FISCAL.fullmatch(raw):
        year = int(match["year"])
        _check_year(text, year)
        start_month = _check_calendar(calendar)
        if match["quarter"] is None:
            return _fiscal_year(year, start_month)
        quarter = int(match["quarter"])
        if not 1 <= quarter <= 4 or len(match["quarter"]) != 1:
            raise _error(text, f"fiscal quarter must be Q1-Q4, not Q{match['quarter']}")
        return _fiscal_quarter(year, quarter, start_month)

    raise _error(text, "it matches none of the accepted forms")


def uses_fiscal(calendar: Calendar) -> bool:
    """Quarters and years follow the fiscal calendar when the fiscal year is not January's."""
    return calendar.fiscal_year_start != 1


def period_of(
    day: dt.date, grain: Grain, calendar: Calendar = Calendar(), fiscal: bool = False
) -> Period:
    """The period of the given grain that contains `day`.

    With `fiscal=True`, quarters and years follow the fiscal calendar and carry `FY` labels.
    Days, ISO weeks and months are the same in both calendars, so for them `fiscal` is ignored
    and the result has `fiscal=False`. Raises `PeriodError` when the period would reach past
    the dates Python can represent (year 1 to 9999).
    """
    grain = Grain(grain)
    # A datetime is a date too; keep only the day so that period bounds are plain dates.
    day = dt.date(day.year, day.month, day.day)
    try:
        if grain is Grain.DAY:
            return _day(day)
        if grain is Grain.WEEK:
            iso = day.isocalendar()
            return _week(iso.year, iso.week)
        if grain is Grain.MONTH:
            return _month(day.year, day.month)
        if not fiscal:
            if grain is Grain.QUARTER:
                return _quarter(day.year, (day.month - 1) // 3 + 1)
            return _year(day.year)
        start_month = _check_calendar(calendar)
        # The fiscal year that contains `day` ends in the next calendar year once `day` is on
        # or after the start month (unless the fiscal year is the calendar year).
        fiscal_year = day.year + 1 if start_month > 1 and day.month >= start_month else day.year
        if grain is Grain.QUARTER:
            quarter = (day.month - start_month) % 12 // 3 + 1
            return _fiscal_quarter(fiscal_year, quarter, start_month)
        return _fiscal_year(fiscal_year, start_month)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"no {grain.name.lower()} period around {day}: {exc}") from None


def _check_member(p: Period, calendar: Calendar) -> None:
    """Refuse a period that is not one of the calendar's own (hand-built, or another calendar)."""
    if period_of(p.start, p.grain, calendar, p.fiscal) != p:
        raise PeriodError(f"{p.label} ({p.start}..{p.end}) is not a period of this calendar")


def next_period(p: Period, calendar: Calendar = Calendar()) -> Period:
    """The period of the same grain and calendar that follows `p`."""
    _check_member(p, calendar)
    try:
        day = p.end + _ONE_DAY
    except OverflowError:
        raise PeriodError(f"there is no period after {p.label}") from None
    return period_of(day, p.grain, calendar, p.fiscal)


def previous_period(p: Period, calendar: Calendar = Calendar()) -> Period:
    """The period of the same grain and calendar that precedes `p`."""
    _check_member(p, calendar)
    try:
        day = p.start - _ONE_DAY
    except OverflowError:
        raise PeriodError(f"there is no period before {p.label}") from None
    return period_of(day, p.grain, calendar, p.fiscal)


def periods_between(first: Period, last: Period, calendar: Calendar = Calendar()) -> list[Period]:
    """Every period from `first` to `last`, both included; empty when `last` precedes `first`.

    Both ends must have the same grain and be both fiscal or both calendar periods.
    """
    if first.grain != last.grain or first.fiscal != last.fiscal:
        raise PeriodError(
            f"cannot list periods from {first.label} to {last.label}: "
            "both must have the same grain and calendar"
        )
    _check_member(first, calendar)
    _check_member(last, calendar)
    result: list[Period] = []
    current = first
    while current.start <= last.start:
        result.append(current)
        if current == last:
            break
        current = next_period(current, calendar)
    return result


def contains(outer: Period, inner: Period) -> bool:
    """Whether every day of `inner` lies within `outer` (a period contains itself)."""
    return outer.start <= inner.start and inner.end <= outer.end


def days(p: Period) -> int:
    """How many days the period covers, both ends included."""
    return (p.end - p.start).days + 1


@functools.lru_cache(maxsize=4096)  # millions of stored values share a few dozen periods
def start_of(label: str, end: dt.date) -> dt.date:
    """The first day of the period labelled `label` that ends on `end`, in any calendar.

    The label tells the grain, and a fiscal quarter or year has as many whole months as a
    calendar one: only where it ends depends on the fiscal calendar, and `end` says that.
    """
    period = parse_period(label)
    if not period.fiscal:
        return period.start
    months = 3 if period.grain is Grain.QUARTER else 12
    return _add_months(end, 1 - months)
