"""`los explain`: read the organisation and the two periods' measurements, split the change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lineofsight.domain import model as m
from lineofsight.domain.graph import organisation_graph
from lineofsight.engine.explain import Explanation, explain, kpi_named, kpi_period
from lineofsight.engine.values import MeasurementTuple, ValueTable
from lineofsight.services.arguments import OPTIONS, ArgumentNames
from lineofsight.services.evaluate import known_unit, load_organization, read_kpi_frame
from lineofsight.store.database import Store

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True, slots=True)
class ExplainResult:
    """The explanation, with the organisation it was made in (for names and units of measure)."""

    explanation: Explanation
    org: m.Organization


def explain_change(
    store: Store,
    kpi_id: str,
    from_text: str,
    to_text: str,
    *,
    depth: int = 1,
    unit: str | None = None,
    names: ArgumentNames = OPTIONS,
    org: m.Organization | None = None,
    frame: pl.DataFrame | Sequence[MeasurementTuple] | None = None,
    table: ValueTable | None = None,
) -> ExplainResult:
    """Explain the change of a KPI between two of its periods (messages name the periods'
    arguments as `names` says), in `org` when the caller holds the store's organisation, and
    from `frame` when the caller has read every measurement of the KPI and of what its
    formula reads (`kpi_series.kpi_frame`): the same values as read here. `table`: a table the
    caller made from every measurement of the KPI in its window (a chart's), taken instead
    when it gives the same explanation."""
    if org is None:
        org = load_organization(store)
    kpi = kpi_named(org, kpi_id)
    # The graph's units by id (made once per organisation): a list of 20,000 ids made and
    # searched for every explanation took a fifth of a KPI page's first visit.
    if unit is not None and unit not in organisation_graph(org).units:
        known_unit([u.id for u in org.units], unit, names)
    p0 = kpi_period(kpi, from_text, org.calendar, names.from_period)
    p1 = kpi_period(kpi, to_text, org.calendar, names.to_period)
    # A measurement counts in the period that holds its last day, so the span from the first
    # period's start to the last one's end holds every measurement either period needs.
    window = (min(p0.start, p1.start), max(p0.end, p1.end))
    # Only the values of the KPI and of every KPI its formula reads, all the way down (every
    # unit of each): an explanation looks at nothing else.
    if table is not None and _holds(table, kpi, window):
        return ExplainResult(explain(table, org, kpi.id, p0, p1, depth, unit), org)
    if frame is None:
        read = organisation_graph(org).read_through([kpi.id])
        frame = read_kpi_frame(store, read, window)
    # The table keeps only the window's measurements, however many more `frame` holds.
    values = ValueTable(org, frame, window)
    return ExplainResult(explain(values, org, kpi.id, p0, p1, depth, unit), org)


def _holds(table: ValueTable, kpi: m.Kpi, window: tuple[dt.date, dt.date]) -> bool:
    """Whether `table` gives the explanation the window's own table gives: for a measured KPI
    every value an explanation reads (the KPI's at the unit, its own, its child units') is of
    one of the two periods, made of the measurements in that period alone, so any table whose
    window holds the two periods has them. A formula's inputs are read at the formula's unit
    when they have values there anywhere in the window: its table is the window's only."""
    held = table.window
    return kpi.formula is None and (held is None or held[0] <= window[0] <= window[1] <= held[1])
