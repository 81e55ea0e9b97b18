"""Period strings, fiscal calendars and stepping through periods (SPEC section 2, Periods)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineofsight.domain.model import Calendar, Frequency
from lineofsight.domain.periods import (
    GRAIN_OF_FREQUENCY,
    Grain,
    Period,
    PeriodError,
    contains,
    days,
    grain_of,
    next_period,
    parse_period,
    period_of,
    periods_between,
    previous_period,
    start_of,
)

D = dt.date
CAL = Calendar()
APRIL = Calendar(fiscal_year_start=4)
JULY = Calendar(fiscal_year_start=7)

# text, fiscal_year_start, start, end, grain, canonical label, fiscal
VALID: list[tuple[str, int, dt.date, dt.date, Grain, str, bool]] = [
    ("2026", 1, D(2026, 1, 1), D(2026, 12, 31), Grain.YEAR, "2026", False),
    ("1900", 1, D(1900, 1, 1), D(1900, 12, 31), Grain.YEAR, "1900", False),
    ("2200", 1, D(2200, 1, 1), D(2200, 12, 31), Grain.YEAR, "2200", False),
    ("2026-Q1", 1, D(2026, 1, 1), D(2026, 3, 31), Grain.QUARTER, "2026-Q1", False),
    ("2026-Q3", 1, D(2026, 7, 1), D(2026, 9, 30), Grain.QUARTER, "2026-Q3", False),
    ("2026-q4", 1, D(2026, 10, 1), D(2026, 12, 31), Grain.QUARTER, "2026-Q4", False),
    ("2026-Q3", 4, D(2026, 7, 1), D(2026, 9, 30), Grain.QUARTER, "2026-Q3", False),
    ("2026-07", 1, D(2026, 7, 1), D(2026, 7, 31), Grain.MONTH, "2026-07", False),
    ("2026-02", 1, D(2026, 2, 1), D(2026, 2, 28), Grain.MONTH, "2026-02", False),
    ("2024-02", 1, D(2024, 2, 1), D(2024, 2, 29), Grain.MONTH, "2024-02", False),
    ("2000-02", 1, D(2000, 2, 1), D(2000, 2, 29), Grain.MONTH, "2000-02", False),
    ("1900-02", 1, D(1900, 2, 1), D(1900, 2, 28), Grain.MONTH, "1900-02", False),
    ("2026-12", 1, D(2026, 12, 1), D(2026, 12, 31), Grain.MONTH, "2026-12", False),
    ("2026-W05", 1, D(2026, 1, 26), D(2026, 2, 1), Grain.WEEK, "2026-W05", False),
    ("2026-w01", 1, D(2025, 12, 29), D(2026, 1, 4), Grain.WEEK, "2026-W01", False),
    ("2026-W53", 1, D(2026, 12, 28), D(2027, 1, 3), Grain.WEEK, "2026-W53", False),
    ("2020-W53", 1, D(2020, 12, 28), D(2021, 1, 3), Grain.WEEK, "2020-W53", False),
    ("2015-W53", 1, D(2015, 12, 28), D(2016, 1, 3), Grain.WEEK, "2015-W53", False),
    ("2025-W52", 1, D(2025, 12, 22), D(2025, 12, 28), Grain.WEEK, "2025-W52", False),
    ("2026-07-15", 1, D(2026, 7, 15), D(2026, 7, 15), Grain.DAY, "2026-07-15", False),
    ("2024-02-29", 1, D(2024, 2, 29), D(2024, 2, 29), Grain.DAY, "2024-02-29", False),
    ("2000-02-29", 1, D(2000, 2, 29), D(2000, 2, 29), Grain.DAY, "2000-02-29", False),
    ("2026-12-31", 1, D(2026, 12, 31), D(2026, 12, 31), Grain.DAY, "2026-12-31", False),
    # Fiscal years are named by the calendar year in which they end.
    ("FY2027", 4, D(2026, 4, 1), D(2027, 3, 31), Grain.YEAR, "FY2027", True),
    ("FY2027-Q1", 4, D(2026, 4, 1), D(2026, 6, 30), Grain.QUARTER, "FY2027-Q1", True),
    ("FY2027-Q2", 4, D(2026, 7, 1), D(2026, 9, 30), Grain.QUARTER, "FY2027-Q2", True),
    ("FY2027-Q3", 4, D(2026, 10, 1), D(2026, 12, 31), Grain.QUARTER, "FY2027-Q3", True),
    ("FY2027-Q4", 4, D(2027, 1, 1), D(2027, 3, 31), Grain.QUARTER, "FY2027-Q4", True),
    ("fy2027", 4, D(2026, 4, 1), D(2027, 3, 31), Grain.YEAR, "FY2027", True),
    ("fy2027-q4", 4, D(2027, 1, 1), D(2027, 3, 31), Grain.QUARTER, "FY2027-Q4", True),
    ("FY2027", 1, D(2027, 1, 1), D(2027, 12, 31), Grain.YEAR, "FY2027", True),
    ("FY2027-Q1", 1, D(2027, 1, 1), D(2027, 3, 31), Grain.QUARTER, "FY2027-Q1", True),
    ("FY2027-Q4", 1, D(2027, 10, 1), D(2027, 12, 31), Grain.QUARTER, "FY2027-Q4", True),
    ("FY2027", 7, D(2026, 7, 1), D(2027, 6, 30), Grain.YEAR, "FY2027", True),
    ("FY2027-Q3", 7, D(2027, 1, 1), D(2027, 3, 31), Grain.QUARTER, "FY2027-Q3", True),
    ("FY2027", 12, D(2026, 12, 1), D(2027, 11, 30), Grain.YEAR, "FY2027", True),
    ("FY2027-Q1", 12, D(2026, 12, 1), D(2027, 2, 28), Grain.QUARTER, "FY2027-Q1", True),
    ("FY2025-Q4", 12, D(2025, 9, 1), D(2025, 11, 30), Grain.QUARTER, "FY2025-Q4", True),
    ("FY2024-Q4", 4, D(2024, 1, 1), D(2024, 3, 31), Grain.QUARTER, "FY2024-Q4", True),
    ("FY2025", 3, D(2024, 3, 1), D(2025, 2, 28), Grain.YEAR, "FY2025", True),
    ("FY2024", 3, D(2023, 3, 1), D(2024, 2, 29), Grain.YEAR, "FY2024", True),
    # Whitespace around the text (a padded CSV cell) is not part of the period.
    (" 2026-Q3 ", 1, D(2026, 7, 1), D(2026, 9, 30), Grain.QUARTER, "2026-Q3", False),
]


@pytest.mark.parametrize(("text", "fys", "start", "end", "grain", "label", "fiscal"), VALID)
def test_parse_valid(
    text: str,
    fys: int,
    start: dt.date,
    end: dt.date,
    grain: Grain,
    label: str,
    fiscal: bool,
) -> None:
    period = parse_period(text, Calendar(fiscal_year_start=fys))
    assert period == Period(start, end, grain, label, fiscal)
    assert str(period) == label
    # The canonical label reads back to the same period.
    assert parse_period(period.label, Calendar(fiscal_year_start=fys)) == period


# text, fiscal_year_start, fragment of the message
INVALID: list[tuple[str, int, str]] = [
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("2026-13", 1, "month must be 01-12, not 13"),
    ("2026-00", 1, "month must be 01-12, not 00"),
    ("2026-Q5", 1, "quarter must be Q1-Q4, not Q5"),
    ("2026-Q0", 1, "quarter must be Q1-Q4"),
    ("2026-Q01", 1, "quarter must be Q1-Q4"),
    ("2026-W00", 1, "ISO year 2026 has weeks W01-W53, not W00"),
    ("2025-W53", 1, "ISO year 2025 has weeks W01-W52, not W53"),
    ("2021-W53", 1, "has weeks W01-W52"),
    ("2026-W54", 1, "has weeks W01-W53"),
    ("2026-02-30", 1, "no such date"),
    ("2025-02-29", 1, "no such date"),
    ("1900-02-29", 1, "no such date"),
    ("2026-04-31", 1, "no such date"),
    ("2026-07-00", 1, "no such date"),
    ("1899", 1, "year 1899 is outside 1900..2200"),
    ("2201-Q1", 1, "year 2201 is outside 1900..2200"),
    ("0000-01", 1, "outside 1900..2200"),
    ("FY2201", 4, "year 2201 is outside"),
    ("FY2027-Q5", 4, "fiscal quarter must be Q1-Q4, not Q5"),
    ("FY2027-Q0", 1, "fiscal quarter must be Q1-Q4"),
    ("x2026", 1, "matches none of the accepted forms"),
    ("2026x", 1, "none of the accepted forms"),
    ("2026-Q3 extra", 1, "none of the accepted forms"),
    ("2026-7", 1, "none of the accepted forms"),
    ("2026-W5", 1, "none of the accepted forms"),
    ("2026-7-15", 1, "none of the accepted forms"),
    ("26", 1, "none of the accepted forms"),
    ("20260", 1, "none of the accepted forms"),
    ("2026/07", 1, "none of the accepted forms"),
    ("2026-H1", 1, "none of the accepted forms"),
    ("Q3-2026", 1, "none of the accepted forms"),
    ("FY27", 4, "none of the accepted forms"),
    ("FY2027-07", 4, "none of the accepted forms"),
    ("FY 2027", 4, "none of the accepted forms"),
    ("2026-07-15T00:00", 1, "none of the accepted forms"),
    ("２０２６", 1, "none of the accepted forms"),  # full-width digits are not digits here
    ("2026\n2027", 1, "none of the accepted forms"),
]


@pytest.mark.parametrize(("text", "fys", "fragment"), INVALID)
def test_parse_invalid(text: str, fys: int, fragment: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, Calendar(fiscal_year_start=fys))
    message = str(caught.value)
    assert fragment in message
    # Every message names the text and lists the accepted forms.
    assert repr(text) in message
    assert "2026-Q3" in message and "FY2027-Q1" in message


@pytest.mark.parametrize("value", [2026, 2026.0, None, b"2026", D(2026, 1, 1)])
def test_parse_takes_text_only(value: Any) -> None:
    with pytest.raises(PeriodError, match="must be text"):
        parse_period(value)


def test_an_int_from_yaml_parses_after_str() -> None:
    assert parse_period(str(2026)).label == "2026"


@pytest.mark.parametrize("fys", [0, 13, -1])
def test_bad_fiscal_year_start(fys: int) -> None:
    with pytest.raises(PeriodError, match="fiscal_year_start"):
        parse_period("FY2027", Calendar(fiscal_year_start=fys))
    with pytest.raises(PeriodError, match="fiscal_year_start"):
        period_of(D(2026, 5, 1), Grain.YEAR, Calendar(fiscal_year_start=fys), fiscal=True)


def test_period_error_is_a_value_error() -> None:
    assert issubclass(PeriodError, ValueError)


@pytest.mark.parametrize(
    ("frequency", "grain"),
    [
        (Frequency.DAILY, Grain.DAY),
        (Frequency.WEEKLY, Grain.WEEK),
        (Frequency.MONTHLY, Grain.MONTH),
        (Frequency.QUARTERLY, Grain.QUARTER),
        (Frequency.YEARLY, Grain.YEAR),
    ],
)
def test_grain_of_frequency(frequency: Frequency, grain: Grain) -> None:
    assert grain_of(frequency) is grain
    assert GRAIN_OF_FREQUENCY[frequency] is grain


def test_every_frequency_has_a_grain_and_grains_order_fine_to_coarse() -> None:
    assert set(GRAIN_OF_FREQUENCY) == set(Frequency)
    assert Grain.DAY < Grain.WEEK < Grain.MONTH < Grain.QUARTER < Grain.YEAR


# day, grain, fiscal_year_start, fiscal, label of the period containing the day
PERIOD_OF: list[tuple[dt.date, Grain, int, bool, str]] = [
    (D(2026, 7, 15), Grain.DAY, 1, False, "2026-07-15"),
    (D(2026, 7, 15), Grain.WEEK, 1, False, "2026-W29"),
    (D(2026, 1, 1), Grain.WEEK, 1, False, "2026-W01"),
    (D(2027, 1, 3), Grain.WEEK, 1, False, "2026-W53"),
    (D(2021, 1, 1), Grain.WEEK, 1, False, "2020-W53"),
    (D(2024, 12, 30), Grain.WEEK, 1, False, "2025-W01"),
    (D(2026, 7, 15), Grain.MONTH, 1, False, "2026-07"),
    (D(2026, 7, 15), Grain.QUARTER, 1, False, "2026-Q3"),
    (D(2026, 3, 31), Grain.QUARTER, 1, False, "2026-Q1"),
    (D(2026, 7, 15), Grain.YEAR, 1, False, "2026"),
    # Fiscal quarters and years, April start.
    (D(2026, 4, 1), Grain.YEAR, 4, True, "FY2027"),
    (D(2026, 3, 31), Grain.YEAR, 4, True, "FY2026"),
    (D(2027, 3, 31), Grain.YEAR, 4, True, "FY2027"),
    (D(2026, 4, 1), Grain.QUARTER, 4, True, "FY2027-Q1"),
    (D(2026, 9, 30), Grain.QUARTER, 4, True, "FY2027-Q2"),
    (D(2026, 12, 31), Grain.QUARTER, 4, True, "FY2027-Q3"),
    (D(2027, 2, 14), Grain.QUARTER, 4, True, "FY2027-Q4"),
    # A January fiscal year is the calendar year, with FY labels.
    (D(2027, 5, 5), Grain.YEAR, 1, True, "FY2027"),
    (D(2027, 5, 5), Grain.QUARTER, 1, True, "FY2027-Q2"),
    # Fiscal years do not change days, weeks or months.
    (D(2026, 4, 1), Grain.MONTH, 4, True, "2026-04"),
    (D(2026, 4, 1), Grain.WEEK, 4, True, "2026-W14"),
    (D(2026, 4, 1), Grain.DAY, 4, True, "2026-04-01"),
    # A calendar quarter with a fiscal calendar in force.
    (D(2026, 4, 1), Grain.QUARTER, 4, False, "2026-Q2"),
    (D(2026, 12, 1), Grain.YEAR, 12, True, "FY2027"),
    (D(2026, 11, 30), Grain.YEAR, 12, True, "FY2026"),
]


@pytest.mark.parametrize(("day", "grain", "fys", "fiscal", "label"), PERIOD_OF)
def test_period_of(day: dt.date, grain: Grain, fys: int, fiscal: bool, label: str) -> None:
    calendar = Calendar(fiscal_year_start=fys)
    period = period_of(day, grain, calendar, fiscal)
    assert period.label == label
    assert period == parse_period(label, calendar)
    assert contains(period, period_of(day, Grain.DAY))


def test_period_of_a_datetime_keeps_plain_dates() -> None:
    period = period_of(dt.datetime(2026, 7, 15, 13, 30), Grain.DAY)
    assert type(period.start) is dt.date and type(period.end) is dt.date
    assert period == parse_period("2026-07-15")


# label, fiscal_year_start, next label
NEXT: list[tuple[str, int, str]] = [
    ("2026-07-15", 1, "2026-07-16"),
    ("2026-12-31", 1, "2027-01-01"),
    ("2024-02-28", 1, "2024-02-29"),
    ("2026-W05", 1, "2026-W06"),
    ("2025-W52", 1, "2026-W01"),
    ("2026-W52", 1, "2026-W53"),
    ("2026-W53", 1, "2027-W01"),
    ("2026-07", 1, "2026-08"),
    ("2026-12", 1, "2027-01"),
    ("2026-Q4", 1, "2027-Q1"),
    ("2026", 1, "2027"),
    ("FY2027-Q3", 4, "FY2027-Q4"),
    ("FY2027-Q4", 4, "FY2028-Q1"),
    ("FY2027", 4, "FY2028"),
    ("FY2027-Q4", 1, "FY2028-Q1"),
]


@pytest.mark.parametrize(("label", "fys", "after"), NEXT)
def test_next_and_previous(label: str, fys: int, after: str) -> None:
    calendar = Calendar(fiscal_year_start=fys)
    period = parse_period(label, calendar)
    following = parse_period(after, calendar)
    assert next_period(period, calendar) == following
    assert previous_period(following, calendar) == period


def test_next_period_refuses_a_period_of_another_calendar() -> None:
    april_quarter = parse_period("FY2027-Q1", APRIL)
    with pytest.raises(PeriodError, match="not a period of this calendar"):
        next_period(april_quarter, CAL)
    with pytest.raises(PeriodError, match="not a period of this calendar"):
        previous_period(Period(D(2026, 1, 2), D(2026, 1, 31), Grain.MONTH, "x", False))


def test_stepping_past_the_representable_dates_fails_cleanly() -> None:
    with pytest.raises(PeriodError, match="no period after"):
        next_period(period_of(dt.date.max, Grain.DAY))
    with pytest.raises(PeriodError, match="no period before"):
        previous_period(period_of(dt.date.min, Grain.DAY))
    with pytest.raises(PeriodError):
        period_of(dt.date.max, Grain.YEAR, APRIL, fiscal=True)


# first, last, fiscal_year_start, labels in between (inclusive)
BETWEEN: list[tuple[str, str, int, list[str]]] = [
    ("2026-Q3", "2027-Q2", 1, ["2026-Q3", "2026-Q4", "2027-Q1", "2027-Q2"]),
    ("2026-11", "2027-02", 1, ["2026-11", "2026-12", "2027-01", "2027-02"]),
    ("2026-W52", "2027-W02", 1, ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]),
    ("2024-02-28", "2024-03-01", 1, ["2024-02-28", "2024-02-29", "2024-03-01"]),
    ("FY2027-Q3", "FY2028-Q1", 4, ["FY2027-Q3", "FY2027-Q4", "FY2028-Q1"]),
    ("2026", "2026", 1, ["2026"]),
    ("2027", "2026", 1, []),
]


@pytest.mark.parametrize(("first", "last", "fys", "labels"), BETWEEN)
def test_periods_between(first: str, last: str, fys: int, labels: list[str]) -> None:
    calendar = Calendar(fiscal_year_start=fys)
    found = periods_between(parse_period(first, calendar), parse_period(last, calendar), calendar)
    assert [p.label for p in found] == labels


@pytest.mark.parametrize(
    ("first", "last", "fys"),
    [("2026-Q1", "2026-07", 1), ("2026", "FY2027", 1), ("2026-Q1", "FY2027-Q1", 4)],
)
def test_periods_between_needs_one_grain_and_calendar(first: str, last: str, fys: int) -> None:
    calendar = Calendar(fiscal_year_start=fys)
    with pytest.raises(PeriodError, match="same grain and calendar"):
        periods_between(parse_period(first, calendar), parse_period(last, calendar), calendar)


# outer, inner, fiscal_year_start, contained
CONTAINS: list[tuple[str, str, int, bool]] = [
    ("2026", "2026-Q3", 1, True),
    ("2026", "2026-07-15", 1, True),
    ("2026", "2026", 1, True),
    ("2026-Q3", "2026", 1, False),
    ("2026", "2026-W01", 1, False),  # starts on 2025-12-29
    ("2026", "2026-W53", 1, False),  # ends on 2027-01-03
    ("2026-Q1", "2026-W05", 1, True),
    ("FY2027", "2026-Q2", 4, True),
    ("FY2027", "2026-Q1", 4, False),
    ("FY2027", "2027-Q1", 4, True),
    ("FY2027-Q4", "2027-03", 4, True),
    ("2026-07", "2026-08-01", 1, False),
]


@pytest.mark.parametrize(("outer", "inner", "fys", "expected"), CONTAINS)
def test_contains(outer: str, inner: str, fys: int, expected: bool) -> None:
    calendar = Calendar(fiscal_year_start=fys)
    assert contains(parse_period(outer, calendar), parse_period(inner, calendar)) is expected


@pytest.mark.parametrize(
    ("label", "fys", "count"),
    [
        ("2026", 1, 365),
        ("2024", 1, 366),
        ("2100", 1, 365),
        ("2000", 1, 366),
        ("2024-02", 1, 29),
        ("2026-02", 1, 28),
        ("2026-Q1", 1, 90),
        ("2024-Q1", 1, 91),
        ("2026-Q3", 1, 92),
        ("2026-W05", 1, 7),
        ("2026-07-15", 1, 1),
        ("FY2024", 4, 366),  # 2023-04-01..2024-03-31 holds 29 February 2024
        ("FY2027", 4, 365),
    ],
)
def test_days(label: str, fys: int, count: int) -> None:
    assert days(parse_period(label, Calendar(fiscal_year_start=fys))) == count


def test_periods_order_by_start_then_end() -> None:
    labels = ["2026-Q3", "2026", "2026-07-15", "2026-07", "2025-12", "2026-W29"]
    ordered = sorted(parse_period(label) for label in labels)
    assert [p.label for p in ordered] == [
        "2025-12",
        "2026",
        "2026-07",
        "2026-Q3",
        "2026-W29",
        "2026-07-15",
    ]


def test_period_is_immutable() -> None:
    period = parse_period("2026")
    with pytest.raises(AttributeError):
        period.label = "2027"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Properties

days_in_range = st.dates(min_value=D(1901, 1, 1), max_value=D(2199, 12, 31))
grains = st.sampled_from(list(Grain))
calendars = st.integers(min_value=1, max_value=12).map(lambda m: Calendar(fiscal_year_start=m))


@given(day=days_in_range, grain=grains, calendar=calendars, fiscal=st.booleans())
def test_period_of_contains_the_day(
    day: dt.date, grain: Grain, calendar: Calendar, fiscal: bool
) -> None:
    period = period_of(day, grain, calendar, fiscal)
    assert period.start <= day <= period.end
    assert period.grain is grain
    assert period.fiscal is (fiscal and grain >= Grain.QUARTER)
    # Its label is canonical: it reads back to the same period.
    assert parse_period(period.label, calendar) == period


@given(day=days_in_range, grain=grains, calendar=calendars, fiscal=st.booleans())
def test_next_and_previous_are_inverse_and_adjacent(
    day: dt.date, grain: Grain, calendar: Calendar, fiscal: bool
) -> None:
    period = period_of(day, grain, calendar, fiscal)
    following = next_period(period, calendar)
    preceding = previous_period(period, calendar)
    assert previous_period(following, calendar) == period
    assert next_period(preceding, calendar) == period
    assert following.start == period.end + dt.timedelta(days=1)
    assert preceding.end == period.start - dt.timedelta(days=1)
    assert preceding < period < following


@given(day=days_in_range, grain=grains, calendar=calendars, fiscal=st.booleans())
def test_period_lengths(day: dt.date, grain: Grain, calendar: Calendar, fiscal: bool) -> None:
    length = days(period_of(day, grain, calendar, fiscal))
    expected = {
        Grain.DAY: {1},
        Grain.WEEK: {7},
        Grain.MONTH: {28, 29, 30, 31},
        Grain.QUARTER: {89, 90, 91, 92},
        Grain.YEAR: {365, 366},
    }
    assert length in expected[grain]


@given(day=days_in_range, calendar=calendars, fiscal=st.booleans())
def test_coarser_periods_contain_finer_ones(day: dt.date, calendar: Calendar, fiscal: bool) -> None:
    month = period_of(day, Grain.MONTH, calendar, fiscal)
    quarter = period_of(day, Grain.QUARTER, calendar, fiscal)
    year = period_of(day, Grain.YEAR, calendar, fiscal)
    assert contains(year, quarter) and contains(quarter, month)


@given(text=st.text(max_size=12))
def test_parse_never_fails_with_anything_but_period_error(text: str) -> None:
    try:
        period = parse_period(text, APRIL)
    except PeriodError:
        return
    assert parse_period(period.label, APRIL) == period


@given(
    day=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)),
    grain=st.sampled_from(list(Grain)),
    fiscal=st.booleans(),
    start_month=st.integers(min_value=1, max_value=12),
)
def test_a_stored_period_s_first_day_follows_from_its_label_and_last_day(
    day: dt.date, grain: Grain, fiscal: bool, start_month: int
) -> None:
    # The store keeps a period's label and last day only; its first day is worked out again.
    period = period_of(day, grain, Calendar(start_month), fiscal)
    assert start_of(period.label, period.end) == period.start
