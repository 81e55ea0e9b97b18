"""Review cadences: when a review is held, which period it looks back at, what reads."""

from __future__ import annotations

import datetime as dt

import pytest

from lineofsight.domain.model import Calendar
from lineofsight.domain.reviews import (
    ReviewCadence,
    cadence_problem,
    next_review,
    review_period,
)

D = dt.date


@pytest.mark.parametrize(
    ("every", "day", "after", "expected", "period"),
    [
        ("monthly", "3", D(2026, 7, 1), D(2026, 7, 3), "2026-06"),
        ("monthly", "3", D(2026, 7, 3), D(2026, 7, 3), "2026-06"),
        ("monthly", "3", D(2026, 7, 4), D(2026, 8, 3), "2026-07"),
        ("monthly", None, D(2026, 7, 2), D(2026, 8, 1), "2026-07"),
        ("monthly", "last", D(2026, 2, 10), D(2026, 2, 28), "2026-01"),
        ("weekly", "friday", D(2026, 12, 7), D(2026, 12, 11), "2026-W49"),
        ("weekly", None, D(2026, 12, 8), D(2026, 12, 14), "2026-W50"),
        ("quarterly", "10", D(2026, 7, 11), D(2026, 10, 10), "2026-Q3"),
        ("quarterly", None, D(2026, 1, 1), D(2026, 1, 1), "2025-Q4"),
        ("0 9 15 * *", None, D(2026, 7, 16), D(2026, 8, 15), "2026-07"),
    ],
)
def test_the_next_review_and_the_period_it_reviews(
    every: str, day: str | None, after: dt.date, expected: dt.date, period: str
) -> None:
    cadence = ReviewCadence(unit="co", every=every, day=day)
    held = next_review(cadence, after)
    assert held == expected
    assert review_period(cadence, held, Calendar()).label == period


@pytest.mark.parametrize(
    ("every", "held", "period"),
    [
        ("quarterly", D(2026, 10, 10), "FY2027-Q2"),  # July to September 2026
        ("quarterly", D(2026, 4, 1), "FY2026-Q4"),
        ("monthly", D(2026, 12, 3), "2026-11"),  # months are the same in both calendars
    ],
)
def test_a_fiscal_years_review_looks_back_at_its_fiscal_quarter(
    every: str, held: dt.date, period: str
) -> None:
    cadence = ReviewCadence(unit="co", every=every, day=None)
    calendar = Calendar(fiscal_year_start=4)
    assert review_period(cadence, held, calendar).label == period


@pytest.mark.parametrize(
    ("every", "day", "problem"),
    [
        ("monthly", "31", ("day", "'31' is not a day of the month: write 1 to 28, or last")),
        ("Quarterly", "0", ("day", "'0' is not a day of the month: write 1 to 28, or last")),
        ("weekly", "funday", ("day", "'funday' is not a weekday")),
        ("0 9 * * 1", "3", ("day", "a cron cadence sets its own day; leave day out")),
        (
            "fortnightly",
            None,
            (
                "every",
                "'fortnightly' is not a review's cadence: "
                "write monthly, weekly, quarterly, or a 5-field cron",
            ),
        ),
        ("hourly", None, ("every", "'hourly' is not a review's cadence")),
        ("Daily", None, ("every", "'Daily' is not a review's cadence")),
        ("0 9 * *", None, ("every", "'0 9 * *' has 4 fields")),
    ],
)
def test_a_bad_cadence_names_its_field_and_reason(
    every: str, day: str | None, problem: tuple[str, str]
) -> None:
    found = cadence_problem(every, day)
    assert found is not None
    assert found[0] == problem[0]
    assert found[1].startswith(problem[1])


@pytest.mark.parametrize(
    ("every", "day"),
    [("monthly", "28"), ("Monthly", "last"), ("weekly", "sunday"), ("30 6 * * 1-5", None)],
)
def test_good_cadences_read(every: str, day: str | None) -> None:
    assert cadence_problem(every, day) is None
