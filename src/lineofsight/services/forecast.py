"""`los forecast`: read the organisation and its measurements up to a date, project every target."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lineofsight.domain import model as m
from lineofsight.domain.periods import MIN_YEAR
from lineofsight.engine.forecast import Forecast, forecast_organization
from lineofsight.engine.values import ValueTable
from lineofsight.services.evaluate import load_organization, read_measurement_frame
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
    # Nothing after the as-of date may shape the line; how far back the last 8 periods with
    # values reach depends on the gaps, so the window has no lower bound to speak of.
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    values = ValueTable(org, read_measurement_frame(store, window), window)
    return ForecastReport(as_of, org, forecast_organization(values, org, as_of))
