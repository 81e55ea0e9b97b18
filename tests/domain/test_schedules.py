"""Schedules: the names and cron expressions a strategy file accepts, and when they next fire."""

from __future__ import annotations

import datetime as dt

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.domain.schedules import NAMED_SCHEDULES, Schedule, parse_schedule

UTC = dt.UTC
T = dt.datetime


def at(*parts: int) -> dt.datetime:
    return T(*parts, tzinfo=UTC)


SUNDAY_0500 = at(2026, 12, 6, 5, 0)


@pytest.mark.parametrize(
    ("text", "when", "expected"),
    [
        ("hourly", at(2026, 12, 6, 5, 0), at(2026, 12, 6, 6, 0)),
        ("hourly", at(2026, 12, 6, 5, 59, 59), at(2026, 12, 6, 6, 0)),
        ("daily", at(2026, 12, 6, 1, 59), at(2026, 12, 6, 2, 0)),
        ("daily", at(2026, 12, 6, 2, 0), at(2026, 12, 7, 2, 0)),
        ("weekly", SUNDAY_0500, at(2026, 12, 7, 2, 0)),  # the next Monday
        ("weekly", at(2026, 12, 7, 2, 0), at(2026, 12, 14, 2, 0)),
        ("monthly", at(2026, 12, 6, 5, 0), at(2027, 1, 1, 2, 0)),
        ("monthly", at(2027, 1, 1, 1, 0), at(2027, 1, 1, 2, 0)),
        ("30 6 * * 1-5", at(2026, 12, 4, 7, 0), at(2026, 12, 7, 6, 30)),  # Friday -> Monday
        ("*/15 * * * *", at(2026, 12, 6, 5, 7, 30), at(2026, 12, 6, 5, 15)),
        ("0 0 L * *", at(2027, 2, 3, 0, 0), at(2027, 2, 28, 0, 0)),
        ("0 0 29 2 *", at(2026, 3, 1, 0, 0), at(2028, 2, 29, 0, 0)),
        ("0 9 * * mon", SUNDAY_0500, at(2026, 12, 7, 9, 0)),
        ("0 9 * jan Sun", SUNDAY_0500, at(2027, 1, 3, 9, 0)),
    ],
)
def test_next_after(text: str, when: dt.datetime, expected: dt.datetime) -> None:
    got = parse_schedule(text).next_after(when)
    assert got == expected
    assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)


def test_names_are_case_insensitive_and_text_is_normalised() -> None:
    assert parse_schedule("  Daily ") == Schedule(text="daily", cron="0 2 * * *")
    schedule = parse_schedule("0  6\t* *   mon-fri")
    assert schedule.text == "0 6 * * mon-fri"
    assert str(schedule) == "0 6 * * mon-fri"


def test_times_in_other_zones_are_read_as_the_same_instant() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    # 02:30 in Paris is 01:30 UTC: the daily run at 02:00 UTC is still ahead.
    got = parse_schedule("daily").next_after(T(2026, 12, 6, 2, 30, tzinfo=paris))
    assert got == at(2026, 12, 6, 2, 0)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("daily").next_after(T(2026, 12, 6))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the schedule is empty"),
        ("   ", "the schedule is empty"),
        ("fortnightly", "'fortnightly' is not a schedule; write hourly, daily"),
        ("@daily", "'@daily' is not a schedule"),
        ("* * *", "'* * *' has 3 fields; a cron expression has 5"),
        ("0 0 * * * *", "has 6 fields"),
        ("61 * * * *", "the minute field '61' is not valid (minute takes 0-59"),
        ("0 24 * * *", "the hour field '24' is not valid (hour takes 0-23"),
        ("0 0 32 * *", "the day-of-month field '32' is not valid"),
        ("0 0 31 2 *", "names a day that the months in '2' never have"),
        ("0 0 * 13 *", "the month field '13' is not valid (month takes 1-12"),
        ("0 0 * * 8", "the day-of-week field '8' is not valid"),
        ("0 0 * * funday", "the day-of-week field 'funday' is not valid"),
        ("*/0 * * * *", "the minute field '*/0' is not valid"),
    ],
)
def test_bad_schedules_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_schedule(text)
    assert reason in str(raised.value)


def test_a_schedule_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValueError, match="must be text"):
        parse_schedule(5)  # type: ignore[arg-type]


def test_the_named_schedules_are_their_documented_cron_expressions() -> None:
    assert NAMED_SCHEDULES == {
        "hourly": "0 * * * *",
        "daily": "0 2 * * *",
        "weekly": "0 2 * * 1",
        "monthly": "0 2 1 * *",
    }


# --- properties ---------------------------------------------------------------------------

instants = st.datetimes(min_value=T(2000, 1, 1), max_value=T(2100, 1, 1), timezones=st.just(UTC))


def _field(
    low: int, high: int, top: int | None = None
) -> st.SearchStrategy[tuple[str, frozenset[int]]]:
    """A cron field as text and the set of values it allows (computed here, not by cronsim).

    Values are drawn from low..high; `*` and steps cover the field's whole range low..top.
    """
    top = high if top is None else top
    star = st.just(("*", frozenset(range(low, top + 1))))
    single = st.integers(low, high).map(lambda v: (str(v), frozenset({v})))
    ranged = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda ab: (f"{min(ab)}-{max(ab)}", frozenset(range(min(ab), max(ab) + 1)))
    )
    step = st.integers(1, top - low + 1).map(
        lambda n: (f"*/{n}", frozenset(range(low, top + 1, n)))
    )
    listed = st.lists(st.integers(low, high), min_size=1, max_size=4, unique=True).map(
        lambda vs: (",".join(map(str, vs)), frozenset(vs))
    )
    return st.one_of(star, single, ranged, step, listed)


# Named days of month up to 28 so that every generated expression fires every year.
expressions = st.tuples(
    _field(0, 59), _field(0, 23), _field(1, 28, 31), _field(1, 12), _field(0, 6)
)


def _oracle(fields: tuple[tuple[str, frozenset[int]], ...], when: dt.datetime) -> dt.datetime:
    """The next firing time by cron's own rules, searched day by day without cronsim."""
    (_, minutes), (_, hours), (dom_text, doms), (_, months), (dow_text, dows) = fields
    start = when.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    day = start.date()
    for _ in range(366 * 30):  # a date falls on every weekday within 28 years
        if day.month in months:
            dom_ok = day.day in doms
            dow_ok = (day.isoweekday() % 7) in dows
            # Cron: when both day fields are restricted, a day matching either one fires; a
            # field starting with `*` (`*`, `*/2`) counts as unrestricted, as in Vixie cron.
            if not dom_text.startswith("*") and not dow_text.startswith("*"):
                day_ok = dom_ok or dow_ok
            else:
                day_ok = dom_ok and dow_ok
            if day_ok:
                for hour in sorted(hours):
                    for minute in sorted(minutes):
                        candidate = T(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate
        day += dt.timedelta(days=1)
    raise AssertionError("no firing time within 30 years")


@settings(max_examples=150, deadline=None)
@given(expressions, instants)
def test_next_after_follows_cron_rules(
    fields: tuple[tuple[str, frozenset[int]], ...], when: dt.datetime
) -> None:
    schedule = parse_schedule(" ".join(text for text, _ in fields))
    assert schedule.next_after(when) == _oracle(fields, when)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.sampled_from(sorted(NAMED_SCHEDULES)),
        expressions.map(lambda fs: " ".join(text for text, _ in fs)),
    ),
    instants,
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)),
)
def test_next_after_is_strictly_later_monotonic_and_matches_cronsim(
    text: str, when: dt.datetime, gap: dt.timedelta
) -> None:
    schedule = parse_schedule(text)
    first = schedule.next_after(when)
    assert first > when
    # Nothing fires in between: asking again just before the found time gives the same time.
    assert schedule.next_after(first - dt.timedelta(microseconds=1)) == first
    # Monotonic: a later start never gives an earlier next time.
    assert schedule.next_after(when + gap) >= first
    # Stepping from a firing time moves on to the following one.
    assert schedule.next_after(first) > first
    assert first == next(CronSim(schedule.cron, when))
