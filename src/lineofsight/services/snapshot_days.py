"""A kept scorecard carried to another as-of date: the KPIs whose rows can differ between the
two dates are scored again, the others kept (SPEC section 3, "Evaluation period").

A KPI's rows depend on the as-of date only through the periods its frequency looks at (the
slots of `engine.lag`, which follow from the longest `due_days` of the frequency), the first
of them that is due by its own `due_days`, and whether each of those periods is due yet (a row
is `overdue` or `awaiting` by it). Between two dates where none of these moves for a
(frequency, due_days) pair, the rows of its KPIs are the same; the values, targets and glide
paths depend on the periods alone. The pairs are kept with the scorecard (`kpi_groups`), so
that a date where none moves is answered from the kept rows without loading Polars.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from lineofsight.domain import model as m
from lineofsight.engine.lag import first_due, period_slots

if TYPE_CHECKING:
    import polars as pl

    from lineofsight.engine.frames import DefinitionFrames


def kpi_groups(kpis: pl.DataFrame, calendar: m.Calendar) -> dict[str, Any]:
    """The (frequency, due_days) pairs of the KPIs and each frequency's longest due_days (as
    JSON: `{"longest": {frequency: days}, "pairs": [[frequency, days], ...]}`)."""
    import polars as pl

    due = kpis.select("frequency", pl.col("due_days").fill_null(calendar.due_days).cast(pl.Int64))
    longest = due.group_by("frequency").agg(pl.col("due_days").max())
    return {
        "longest": dict(longest.sort("frequency").iter_rows()),
        "pairs": [list(pair) for pair in due.unique().sort("frequency", "due_days").iter_rows()],
    }


def moved_groups(
    groups: dict[str, Any], calendar: m.Calendar, before: dt.date, after: dt.date, lag: bool
) -> list[tuple[str, int]]:
    """The (frequency, due_days) pairs whose KPIs' rows as of `after` may differ from those
    as of `before` (either date may be the earlier)."""
    low, high = sorted((before, after))
    moved = []
    for frequency, due in groups["pairs"]:
        reach = groups["longest"][frequency] if lag else None
        slots = [
            period_slots(m.Frequency(frequency), day, calendar, reach) for day in (before, after)
        ]
        lag_days = due if lag else None
        if (
            slots[0] != slots[1]
            or first_due(slots[0], before, lag_days) != first_due(slots[1], after, lag_days)
            or any(low < p.end + dt.timedelta(days=due) <= high for p in (*slots[0], *slots[1]))
        ):
            moved.append((frequency, due))
    return moved


def next_turn(
    counts: list[tuple[str, int, int]],
    calendar: m.Calendar,
    day: dt.date,
    lag: bool,
    share: float,
    horizon: int = 370,
) -> dt.date | None:
    """The first date after `day` (within `horizon` days) whose rows differ from those of
    `day` for more than `share` of the KPIs (`counts`: KPIs by frequency and due_days): where
    a scorecard carried from `day` would score most KPIs again (a period's end, the day most
    values fall due)."""
    if not counts:
        return None
    longest: dict[str, int] = {}
    for frequency, due, _n in counts:
        longest[frequency] = max(due, longest.get(frequency, due))
    groups = {"longest": longest, "pairs": [[f, d] for f, d, _n in counts]}
    sizes = {(f, d): n for f, d, n in counts}
    total = sum(sizes.values())
    for ahead in range(1, horizon + 1):
        after = day + dt.timedelta(days=ahead)
        moved = moved_groups(groups, calendar, day, after, lag)
        if sum(sizes[(f, d)] for f, d in moved) > total * share:
            return after
    return None


def moved_kpis(defs: DefinitionFrames, before: dt.date, after: dt.date, lag: bool) -> set[str]:
    """The KPIs whose rows as of `after` may differ from those as of `before`."""
    import polars as pl

    calendar = defs.calendar
    moved = moved_groups(kpi_groups(defs.kpis, calendar), calendar, before, after, lag)
    if not moved:
        return set()
    groups = pl.DataFrame(
        moved, schema={"frequency": pl.String, "due_days": pl.Int64}, orient="row"
    )
    kpis = defs.kpis.select(
        "id", "frequency", pl.col("due_days").fill_null(calendar.due_days).cast(pl.Int64)
    )
    return set(kpis.join(groups, on=["frequency", "due_days"], how="semi")["id"].to_list())


__all__ = ["kpi_groups", "moved_groups", "moved_kpis", "next_turn"]
