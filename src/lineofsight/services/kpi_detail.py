"""One KPI in depth: its history with notes and revisions, its target path, its forecast and
its line of sight, read for the KPI alone (not the whole organisation's measurements)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from typing import Any

from lineofsight.domain import model as m
from lineofsight.domain.graph import organisation_graph
from lineofsight.domain.periods import (
    MIN_YEAR,
    PeriodError,
    parse_period,
    periods_between,
    start_of,
)
from lineofsight.engine.calendar import evaluation_period, period_for
from lineofsight.engine.forecast import Forecast, forecast_kpi
from lineofsight.engine.targets import kpi_target
from lineofsight.engine.trace import Trace, trace
from lineofsight.engine.values import ValueTable
from lineofsight.services.evaluate import read_kpi_frame
from lineofsight.store.database import Store
from lineofsight.store.measurements import kpi_revisions, kpi_values

MAX_PATH = 400  # periods of a target path (a daily KPI over a year and more)


def _start(row: Any) -> dt.date:
    return start_of(row["period"], row["period_end"])


def kpi_history(store: Store, kpi_id: str) -> list[dict[str, Any]]:
    """Every stored value of a KPI (all units), oldest period first, each with its note,
    revision number, source and earlier revisions (oldest first)."""
    with store.reading() as conn:
        rows = sorted(kpi_values(conn, kpi_id), key=lambda r: (_start(r), r["unit_id"]))
        earlier: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in kpi_revisions(conn, kpi_id):
            earlier[r["unit_id"], r["period"]].append(
                {
                    "revision": r["revision"],
                    "value": r["value"],
                    "numerator": r["numerator"],
                    "denominator": r["denominator"],
                    "note": r["note"],
                    "recorded_at": r["recorded_at"],
                    "source": r["source"],
                    "replaced_at": r["replaced_at"],
                }
            )
    return [
        {
            "unit": r["unit_id"],
            "period": r["period"],
            "start": _start(r),
            "end": r["period_end"],
            "value": r["value"],
            "numerator": r["numerator"],
            "denominator": r["denominator"],
            "note": r["note"],
            "revision": r["revision"],
            "recorded_at": r["recorded_at"],
            "source": r["source"],
            "revisions": earlier.get((r["unit_id"], r["period"]), []),
        }
        for r in rows
    ]


def target_path(
    kpi: m.Kpi, calendar: m.Calendar, as_of: dt.date, unit: str | None = None
) -> list[dict[str, Any]]:
    """The KPI's target for each of its periods from the baseline (else the as-of period) to
    the target date, at its own unit or at `unit`."""
    final = kpi.target
    baseline = kpi.baseline
    if unit is not None and unit != kpi.unit:
        found = dict(kpi.unit_targets).get(unit)
        if found is None:
            return []
        final, baseline = m.FinalTarget(found.value, found.by), found.baseline
    if final is None:
        return []
    last = period_for(final.by, kpi.frequency, calendar)
    first = evaluation_period(kpi.frequency, as_of, calendar)
    if baseline is not None:
        with contextlib.suppress(PeriodError):
            first = period_for(parse_period(baseline.period, calendar).end, kpi.frequency, calendar)
    try:
        periods = periods_between(first, last, calendar)
    except (PeriodError, ValueError):
        periods = [last]
    periods = periods[-MAX_PATH:]
    return [
        {"period": p.label, "end": p.end, "target": kpi_target(kpi, p, calendar, unit)}
        for p in periods
    ]


def _inputs(org: m.Organization, kpi_id: str) -> set[str]:
    """The KPI and every KPI its formula reads, all the way down."""
    return organisation_graph(org).read_through([kpi_id])


def kpi_forecasts(store: Store, org: m.Organization, kpi_id: str, as_of: dt.date) -> list[Forecast]:
    """The forecasts of one KPI (its own target, then each unit target), as `los forecast`
    makes them, from the values of the KPI and its formula inputs up to `as_of`."""
    kpi = org.kpis_by_id()[kpi_id]
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    values = ValueTable(
        org, read_kpi_frame(store, _inputs(org, kpi_id), (dt.date.min, as_of)), window
    )
    results = []
    if kpi.target is not None:
        results.append(forecast_kpi(values, kpi, kpi.unit, kpi.target.value, kpi.target.by, as_of))
    for unit, unit_target in sorted(kpi.unit_targets, key=lambda item: item[0]):
        if unit != kpi.unit:
            results.append(
                forecast_kpi(values, kpi, unit, unit_target.value, unit_target.by, as_of)
            )
    return results


def line_of_sight(org: m.Organization, item_id: str) -> Trace | None:
    """Every path from a KPI, objective or person up to the mission (None: unknown id)."""
    return trace(org, item_id)
