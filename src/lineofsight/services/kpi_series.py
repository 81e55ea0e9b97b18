"""A KPI over time, for charts: its values, its target path, its forecast, its measurement log.

Every number comes from the engine (values, targets, forecast); this module only reads the
measurements those few KPIs need (never the whole table) and lines the results up by period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.graph import organisation_graph
from lineofsight.domain.periods import MIN_YEAR, Period, PeriodError, periods_between
from lineofsight.engine.calendar import evaluation_period, period_for
from lineofsight.engine.forecast import (
    Forecast,
    Request,
    forecast_kpi,
    forecast_requests,
    table_source,
)
from lineofsight.engine.targets import kpi_target
from lineofsight.engine.values import MeasurementTuple, ValueTable
from lineofsight.services.attention_forecast import kept_forecast, kept_forecast_in
from lineofsight.services.evaluate import read_kpi_frame
from lineofsight.store.database import Store
from lineofsight.store.measurements import (
    PageRows,
    held_period_ends,
    kpi_measurements,
    kpi_page_rows,
)

# A chart of more periods than this is unreadable; the newest are kept.
MAX_CHART_PERIODS = 120


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One period of a KPI at one unit: its value and its target (None when there is none)."""

    period: str
    start: dt.date
    end: dt.date
    actual: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class KpiChart:
    """What the KPI page draws: actuals and the target path up to the deadline, the forecast."""

    kpi_id: str
    unit: str
    points: tuple[SeriesPoint, ...]
    forecast: Forecast | None
    benchmark: float | None
    range_low: float | None
    range_high: float | None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One stored measurement (current or an earlier revision) as the history table shows it."""

    unit: str
    period: str
    period_end: dt.date
    value: float | None
    numerator: float | None
    denominator: float | None
    note: str | None
    revision: int
    recorded_at: dt.datetime
    source: str | None
    current: bool


def measured_sources(org: m.Organization, kpi_ids: Iterable[str]) -> set[str]:
    """The KPIs whose measurements the given KPIs' values need (formulas read their inputs)."""
    return organisation_graph(org).read_through(kpi_ids)


def _values(
    store: Store, org: m.Organization, kpi_ids: Iterable[str], window: tuple[dt.date, dt.date]
) -> ValueTable:
    frame = read_kpi_frame(store, measured_sources(org, kpi_ids), window)
    return ValueTable(org, frame, window)


def kpi_frame(store: Store, org: m.Organization, kpi_id: str) -> list[MeasurementTuple]:
    """Every stored measurement the KPI's values come from (its own, or its formula's inputs
    all the way down; every unit, every period): one read that a KPI page's chart and its
    explanation of a change both take their values from (`chart_values`, `explain_change`).
    Plain rows, not a frame: a KPI has a few dozen, and a frame's fixed cost was most of a
    first visit of its page."""
    with store.reading() as conn:
        return kpi_measurements(conn, measured_sources(org, [kpi_id]))


def chart_values(
    org: m.Organization, frame: pl.DataFrame | Sequence[MeasurementTuple], as_of: dt.date
) -> ValueTable:
    """The values a KPI's chart as of `as_of` reads, from its `kpi_frame`: the same table
    as `kpi_chart` reads itself (measurements whose last day is on or before `as_of`)."""
    return ValueTable(org, frame, (dt.date(MIN_YEAR, 1, 1), as_of))


def recent_values(
    store: Store,
    org: m.Organization,
    kpi_ids: Sequence[str],
    unit: str,
    as_of: dt.date,
    count: int = 8,
) -> dict[str, list[SeriesPoint]]:
    """The last `count` periods (up to the evaluation period at `as_of`) of each KPI at `unit`,
    read in one query: the sparklines of a scorecard."""
    kpis = organisation_graph(org).kpis
    wanted = [kpis[k] for k in kpi_ids if k in kpis]
    if not wanted:
        return {}
    spans: dict[str, list[Period]] = {}
    for kpi in wanted:
        last = evaluation_period(kpi.frequency, as_of, org.calendar)
        periods = [last]
        for _ in range(count - 1):
            try:
                periods.append(
                    period_for(
                        periods[-1].start - dt.timedelta(days=1), kpi.frequency, org.calendar
                    )
                )
            except PeriodError:
                break
        spans[kpi.id] = periods[::-1]
    window = (
        min(p[0].start for p in spans.values()),
        max(p[-1].end for p in spans.values()),
    )
    values = _values(store, org, spans, window)
    result: dict[str, list[SeriesPoint]] = {}
    for kpi in wanted:
        at = unit if unit else kpi.unit
        result[kpi.id] = [
            SeriesPoint(
                p.label,
                p.start,
                p.end,
                values.value(kpi.id, p, at),
                _target(kpi, p, org.calendar, at),
            )
            for p in spans[kpi.id]
        ]
    return result


def _target(kpi: m.Kpi, period: Period, calendar: m.Calendar, unit: str) -> float | None:
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        return (kpi.range.low + kpi.range.high) / 2
    return kpi_target(kpi, period, calendar, unit)


def _deadline(kpi: m.Kpi, unit: str) -> tuple[float, dt.date] | None:
    if unit == kpi.unit:
        return (kpi.target.value, kpi.target.by) if kpi.target is not None else None
    for unit_id, unit_target in kpi.unit_targets:
        if unit_id == unit:
            return unit_target.value, unit_target.by
    return None


def kpi_charts(
    store: Store, org: m.Organization, pairs: Sequence[tuple[str, str]], as_of: dt.date
) -> dict[tuple[str, str], KpiChart]:
    """The charts of many (KPI, unit) pairs: their values read in one query, their forecasts
    made in one call of the engine (series of one shape fitted together; a briefing book
    draws hundreds)."""
    if not pairs:
        return {}
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    values = _values(store, org, sorted({k for k, _ in pairs}), window)
    kpis = organisation_graph(org).kpis
    requests: list[Request] = []
    asked: list[tuple[str, str]] = []
    for kpi_id, unit in pairs:
        goal = _deadline(kpis[kpi_id], unit)
        if goal is not None:
            requests.append(Request(kpis[kpi_id], unit, goal[0], goal[1]))
            asked.append((kpi_id, unit))
    made = forecast_requests(values.calendar, requests, as_of, table_source(values))
    forecasts = dict(zip(asked, made, strict=True))
    return {
        (k, u): kpi_chart(store, org, k, u, as_of, values, kpis, forecasts.get((k, u)))
        for k, u in pairs
    }


def kpi_chart(
    store: Store,
    org: m.Organization,
    kpi_id: str,
    unit: str,
    as_of: dt.date,
    values: ValueTable | None = None,
    kpis: dict[str, m.Kpi] | None = None,
    made: Forecast | None = None,
    kept: Callable[[], Forecast | None] | None = None,
) -> KpiChart:
    """The KPI at `unit`: every period from its first value to its target date (actual and
    target), and the engine's forecast to the deadline (`values` read and the forecast
    `made` already, when given; else the kept forecast of the whole organisation when it is
    current, `attention_forecast.kept_forecast`, or as `kept()` gives it when the caller has
    read it, else fitted here)."""
    kpi = (kpis or organisation_graph(org).kpis)[kpi_id]
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    if values is None:
        values = _values(store, org, [kpi_id], window)
    # The periods with a value and their values in one pass (`periods_with_values`, then
    # `value` again for each period drawn, read every value twice).
    series = values.series(kpi_id, unit)
    measured = [period for period, _ in series]
    known = {(p.grain, p.fiscal, p.start): value for p, value in series}
    grain = (measured[0].grain, measured[0].fiscal) if measured else None
    last = evaluation_period(kpi.frequency, as_of, org.calendar)
    first = measured[0] if measured else last
    if kpi.baseline is not None and unit == kpi.unit:
        try:
            base = period_for(
                _period_end(kpi.baseline.period, org.calendar), kpi.frequency, org.calendar
            )
            first = min(first, base)
        except PeriodError:
            pass
    goal = _deadline(kpi, unit)
    end = last
    forecast = None
    if goal is not None:
        # The whole organisation's forecast, kept while nothing it read has changed, holds
        # this one (at the KPI's own unit): read, not fitted again.
        if made is None:
            made = (
                kept() if kept is not None else kept_forecast(store, kpi, unit, as_of, org.calendar)
            )
        forecast = made or forecast_kpi(values, kpi, unit, goal[0], goal[1], as_of, series)
        end = max(end, forecast.target_period)
    periods = _chart_periods(first, end, org.calendar)
    points = tuple(
        SeriesPoint(
            p.label,
            p.start,
            p.end,
            (
                None
                if p.start > last.start
                # A period of the series' own grain without a value in it has none.
                else known.get((p.grain, p.fiscal, p.start))
                if (p.grain, p.fiscal) == grain
                else values.value(kpi_id, p, unit)
            ),
            kpi_target(kpi, p, org.calendar, unit),
        )
        for p in periods
    )
    return KpiChart(
        kpi_id=kpi_id,
        unit=unit,
        points=points,
        forecast=forecast,
        benchmark=kpi.benchmark.value if kpi.benchmark is not None else None,
        range_low=kpi.range.low if kpi.range is not None else None,
        range_high=kpi.range.high if kpi.range is not None else None,
    )


@lru_cache(maxsize=4096)
def _chart_periods(first: Period, end: Period, calendar: m.Calendar) -> tuple[Period, ...]:
    """The newest MAX_CHART_PERIODS periods from `first` to `end` (KPIs of one frequency
    share a few spans: listed once for all their charts)."""
    return tuple(periods_between(first, end, calendar)[-MAX_CHART_PERIODS:])


def _period_end(label: str, calendar: m.Calendar) -> dt.date:
    from lineofsight.engine.calendar import period_named

    return period_named(label, calendar).end


def page_rows(
    store: Store, org: m.Organization, kpi_id: str, ends: Sequence[Any] | None = None
) -> PageRows:
    """Everything a KPI page reads of the measurements, in one snapshot: the rows its chart
    and its explanation of a change take their values from (`kpi_frame`'s), and its
    measurement log's (`log_entries`). `ends`: `held_ends(store)`, when kept (the same for
    every KPI until the values change)."""
    with store.reading() as conn:
        return kpi_page_rows(conn, kpi_id, measured_sources(org, [kpi_id]), ends)


@dataclass(frozen=True, slots=True)
class PageReads:
    """What a KPI page reads of the store for its kept parts, in one connection: its rows
    (`page_rows`) and the kept forecast of the KPI at the page's unit (None: none kept, or no
    deadline there)."""

    rows: PageRows
    forecast: Forecast | None


def page_reads(
    store: Store,
    org: m.Organization,
    kpi_id: str,
    ends: Sequence[Any] | None,
    unit: str,
    as_of: dt.date,
) -> PageReads:
    """`page_rows`, and in the same connection the kept forecast that `kpi_chart` would read
    itself (`attention_forecast.kept_forecast`): one connection for a first visit's reads."""
    kpi = organisation_graph(org).kpis[kpi_id]
    with store.reading() as conn:
        rows = kpi_page_rows(conn, kpi_id, measured_sources(org, [kpi_id]), ends)
        forecast = (
            kept_forecast_in(conn, kpi, unit, as_of, org.calendar)
            if _deadline(kpi, unit) is not None
            else None
        )
    return PageReads(rows, forecast)


def held_ends(store: Store) -> tuple[Any, ...]:
    """The last days of the periods the store holds values for (`page_rows`'s `ends`)."""
    with store.reading() as conn:
        return held_period_ends(conn)


def measurement_log(store: Store, kpi_id: str, limit: int = 200) -> list[LogEntry]:
    """The KPI's stored values, newest period first, each followed by its earlier revisions
    (two queries, whatever the number of rows)."""
    with store.reading() as conn:
        return log_entries(kpi_page_rows(conn, kpi_id, ()), limit)


def log_entries(rows: PageRows, limit: int = 200) -> list[LogEntry]:
    """The measurement log of a page's rows: the `limit` newest current values (newest period
    first, then by unit), each followed by the values it replaced, newest first."""
    earlier: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for old in rows.revisions:
        earlier.setdefault((old[0], old[1]), []).append(old)
    entries: list[LogEntry] = []
    for unit, period, end, value, num, den, note, revision, source, at in rows.values[:limit]:
        entries.append(
            LogEntry(unit, period, end, value, num, den, note, revision, at, source, True)
        )
        entries.extend(
            LogEntry(unit, period, end, v, n, d, nt, rev, when, src, False)
            for _, _, v, n, d, nt, rev, when, src in earlier.get((unit, period), ())
        )
    return entries
