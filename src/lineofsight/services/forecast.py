"""`los forecast`: read the organisation and its measurements up to a date, project every target."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import MIN_YEAR, Period
from lineofsight.engine.forecast import (
    Forecast,
    History,
    forecast_requests,
    requests_of,
    table_source,
)
from lineofsight.engine.forecast_frames import measured_histories, own_only
from lineofsight.engine.values import ValueTable
from lineofsight.services.evaluate import load_organization, read_measurement_frame
from lineofsight.services.kpi_series import measured_sources
from lineofsight.store.database import Store


@dataclass(frozen=True, slots=True)
class ForecastReport:
    """The forecasts as of a date, with the organisation they were made for (names, units)."""

    as_of: dt.date
    org: m.Organization
    forecasts: list[Forecast]


def forecast_store(store: Store, as_of: dt.date) -> ForecastReport:
    """Forecast every targeted KPI in the store from the measurements up to `as_of`."""
    org = load_organization(store)
    # Nothing after the as-of date may shape the forecast; how far back the history reaches
    # depends on the gaps, so the window has no lower bound to speak of.
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    # Handed over, not kept: forecast_frame lets the measurements go once it has the histories.
    return ForecastReport(
        as_of, org, forecast_frame(org, read_measurement_frame(store, window), as_of)
    )


def forecast_frame(org: m.Organization, frame: pl.DataFrame, as_of: dt.date) -> list[Forecast]:
    """Every target of `org` forecast from the measurements in `frame`.

    A KPI at a unit whose values are that unit's own measurements reads its history from a
    group-by over the frame (fast for 100,000 KPIs); formulas and values derived from the
    units below read theirs from a value table over only the KPIs they need.
    """
    requests = requests_of(org)
    measured: dict[str, set[str]] = {}
    for kpi_id, unit_id in frame.select("kpi_id", "unit_id").unique().iter_rows():
        measured.setdefault(kpi_id, set()).add(unit_id)
    simple = own_only(org, measured)
    histories = measured_histories(org, frame, as_of)
    rest = [r for r in requests if (r.kpi.id, r.unit) not in simple]
    table = _table_for(org, frame, {r.kpi.id for r in rest}) if rest else None
    # The histories hold all that the fits need: the measurements need not outlive them
    # (for 100,000 KPIs, a few hundred megabytes less at the peak of the fits).
    del frame

    def source(kpi: m.Kpi, unit: str, last_allowed: Period) -> History | None:
        if (kpi.id, unit) in simple:
            return histories.get((kpi.id, unit))
        assert table is not None
        return table_source(table)(kpi, unit, last_allowed)

    return forecast_requests(org.calendar, requests, as_of, source)


def _table_for(org: m.Organization, frame: pl.DataFrame, kpi_ids: set[str]) -> ValueTable:
    """A value table over the measurements of these KPIs and of every input of their formulas."""
    needed = measured_sources(org, kpi_ids)
    return ValueTable(org, frame.filter(pl.col("kpi_id").is_in(sorted(needed))))
