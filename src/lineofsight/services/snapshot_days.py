"""A kept scorecard carried to another as-of date: the KPIs whose rows can differ between the
two dates are scored again, the others kept (SPEC section 3, "Evaluation period").

A KPI's rows depend on the as-of date only through the periods its frequency looks at (the
slots of `engine.lag`, which follow from the longest `due_days` of the frequency), the first
of them that is due by its own `due_days`, and whether each of those periods is due yet (a row
is `overdue` or `awaiting` by it). Between two dates where none of these moves for a
(frequency, due_days) pair, the rows of its KPIs are the same; the values, targets and glide
paths depend on the periods alone.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.lag import first_due, period_slots

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames


def moved_kpis(defs: DefinitionFrames, before: dt.date, after: dt.date, lag: bool) -> set[str]:
    """The KPIs whose rows as of `after` may differ from those as of `before` (either date
    may be the earlier)."""
    calendar = defs.calendar
    kpis = defs.kpis.select(
        "id", "frequency", pl.col("due_days").fill_null(calendar.due_days).cast(pl.Int64)
    )
    longest = dict(kpis.group_by("frequency").agg(pl.col("due_days").max()).iter_rows())
    low, high = sorted((before, after))
    moved = []
    for frequency, due in kpis.select("frequency", "due_days").unique().iter_rows():
        reach = longest[frequency] if lag else None
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
    if not moved:
        return set()
    groups = pl.DataFrame(
        moved, schema={"frequency": pl.String, "due_days": pl.Int64}, orient="row"
    )
    return set(kpis.join(groups, on=["frequency", "due_days"], how="semi")["id"].to_list())


__all__ = ["moved_kpis"]
