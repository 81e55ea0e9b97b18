"""Whole-file checks of the `reviews:` section: units and attendees exist, cadences read."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Protocol

from lineofsight.domain.reviews import cadence_problem

Reference = Callable[[tuple[Hashable, ...], str, "str | None", str], None]


class Out(Protocol):
    def add(self, path: tuple[Hashable, ...], message: str) -> None: ...


def check_reviews(raw: Any, ref: Reference, out: Out) -> None:
    """Every problem of the reviews (the models checked each value's type already)."""
    if not isinstance(raw, list):
        return
    seen: dict[str, int] = {}
    for i, review in enumerate(raw):
        if not isinstance(review, dict):
            continue
        base: tuple[Hashable, ...] = ("reviews", i)
        unit = review.get("unit")
        if isinstance(unit, str):
            ref((*base, "unit"), "review: unit", unit, "unit")
            if unit in seen:
                out.add(
                    (*base, "unit"),
                    f"unit '{unit}' has a review already (reviews entry {seen[unit] + 1}); "
                    "a unit has one review cadence",
                )
            seen.setdefault(unit, i)
        attendees = review.get("attendees")
        if isinstance(attendees, list):
            for j, person in enumerate(attendees):
                if isinstance(person, str):
                    ref((*base, "attendees", j), f"review of {unit}: attendee", person, "person")
        every, day = review.get("every"), review.get("day")
        if isinstance(day, int) and not isinstance(day, bool):
            day = str(day)
        if isinstance(every, str) and every.strip() and (day is None or isinstance(day, str)):
            problem = cadence_problem(every.strip(), day)
            if problem is not None:
                field, reason = problem
                out.add((*base, field), f"review of {unit}: {field}: {reason}")
