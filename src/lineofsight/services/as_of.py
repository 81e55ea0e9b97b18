"""The as-of date of a scorecard from the options a user gives (`--period`, `--as-of`)."""

from __future__ import annotations

import datetime as dt

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, parse_date, parse_period
from lineofsight.domain.text import plural
from lineofsight.errors import UsageError
from lineofsight.services.arguments import OPTIONS, ArgumentNames


def resolve_as_of(
    org: m.Organization,
    period: str | None,
    as_of: str | None,
    names: ArgumentNames = OPTIONS,
) -> dt.date:
    """`--period P` means the last day of P; `--as-of D` a date; neither, today. Messages
    name the arguments as `names` says."""
    if as_of is not None and not as_of.strip():
        raise UsageError(f"{names.as_of}: give a date such as 2026-11-22, not empty text")
    if period and as_of:
        raise UsageError(f"give {names.period} or {names.as_of}, not both")
    if period:
        try:
            return parse_period(period, org.calendar).end
        except PeriodError as exc:
            raise UsageError(f"{names.period}: {exc}") from None
    if as_of:
        try:
            return parse_date(as_of)
        except PeriodError as exc:
            raise UsageError(f"{names.as_of} {as_of!r}: {exc}") from None
    return dt.date.today()


def running_sentence(period: str, ends: dt.date) -> str:
    """What a scorecard, a page or a book of a period that has not ended yet says about it."""
    return (
        f"{period} has not ended yet (it ends on {ends.isoformat()}): its values are not "
        "due, so its results show no data yet, with each KPI's last value where it has one."
    )


def awaited_sentence(period: str, count: int, due: dt.date | None) -> str:
    """What a book or a page of a period that has ended says of its KPI results whose values
    are not due yet (reporting lag, SPEC section 3: awaiting, not without data); "" if none.
    `due` is the last day one of them falls due."""
    if not count or due is None:
        return ""
    return (
        f"{period} has ended, but {plural(count, 'KPI result')} of it await values not due yet"
        f" (due by {due.isoformat()}): these show no data until they are in."
    )


__all__ = ["awaited_sentence", "resolve_as_of", "running_sentence"]
