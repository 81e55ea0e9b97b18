"""A forecast as a row of plain columns, and back: what the whole organisation's forecast
keeps of each KPI for its page (the path with its 80% interval, the chance of meeting the
target, the method, the reason when there is none), so that a page reads one row instead of
fitting the KPI again.

A row holds what the forecast found; what the KPI's definition gives (the target's period,
the periods of the path) is derived again when it is read, as the forecast derives it. The
path's three columns are kept as their float64 bytes (in base64 text, which both databases
and their bulk writes take as they are): read back, they are the very numbers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.calendar import period_for, period_named
from lineofsight.engine.forecast import NO_FORECAST, Forecast, _periods_after, no_forecast

__all__ = ["KEPT_SCHEMA", "forecast_of", "kept_frame", "path_texts"]

# One row per KPI and unit forecast.
KEPT_SCHEMA: dict[str, Any] = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "target": pl.Float64,  # the final target (a range's midpoint)
    "deadline": pl.Date,
    "points": pl.Int64,  # the values the series holds
    "method": pl.String,
    "models": pl.String,
    "on_track": pl.Boolean,
    "probability": pl.Float64,
    "clamped": pl.Boolean,
    "first_period": pl.String,  # labels of the series' first and last periods
    "last_period": pl.String,
    "reason": pl.String,  # why there is no forecast
    "path": pl.String,  # the path's values, lows and highs (`path_texts`)
}


def path_texts(
    held: npt.NDArray[np.float64], low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]
) -> list[str]:
    """The paths of k rows (each (k, horizon)) as the `path` column: each row's values,
    lows and highs, as float64 bytes in base64."""
    both = np.ascontiguousarray(np.concatenate([held, low, high], axis=1), dtype="<f8")
    return [base64.b64encode(row).decode("ascii") for row in both]


def kept_frame(forecasts: Iterable[Forecast]) -> pl.DataFrame:
    """Forecasts as rows of `KEPT_SCHEMA`."""
    rows = []
    for f in forecasts:
        made = f.method != NO_FORECAST
        path = (
            path_texts(np.array([f.path_values]), np.array([f.path_low]), np.array([f.path_high]))[
                0
            ]
            if made
            else None
        )
        rows.append(
            (
                f.id,
                f.unit,
                f.target,
                f.deadline,
                f.points,
                f.method,
                f.models,
                f.on_track,
                f.probability,
                f.clamped,
                None if f.first_period is None else f.first_period.label,
                None if f.last_period is None else f.last_period.label,
                f.reason,
                path,
            )
        )
    return pl.DataFrame(rows, schema=KEPT_SCHEMA, orient="row")


def forecast_of(row: Sequence[Any], kpi: m.Kpi, calendar: m.Calendar) -> Forecast | None:
    """The forecast of a row of `KEPT_SCHEMA` (its columns in order) of `kpi`; None when the
    row cannot be read back (then the KPI is forecast again)."""
    (
        kpi_id, unit, target, deadline, points, method, models, on_track, probability,
        clamped, first, last, reason, path,
    ) = row  # fmt: skip
    if isinstance(deadline, str):  # SQLite keeps dates as text
        deadline = dt.date.fromisoformat(deadline)
    target_period = period_for(deadline, kpi.frequency, calendar)
    first_period = None if first is None else period_named(first, calendar)
    last_period = None if last is None else period_named(last, calendar)
    if method == NO_FORECAST or path is None or last_period is None:
        return no_forecast(
            kpi_id, unit, target, deadline, target_period, points, first_period, last_period,
            reason,
        )  # fmt: skip
    periods = _periods_after(last_period, target_period, calendar)
    try:
        both = np.frombuffer(base64.b64decode(path, validate=True), dtype="<f8")
    except (binascii.Error, ValueError):
        return None
    if len(both) != 3 * len(periods) or not periods:
        return None
    # The three columns as Python floats (the very numbers), in one conversion.
    flat, n = both.tolist(), len(periods)
    values, low, high = tuple(flat[:n]), tuple(flat[n : 2 * n]), tuple(flat[2 * n :])
    return Forecast(
        id=kpi_id,
        unit=unit,
        target=target,
        deadline=deadline,
        target_period=target_period,
        points=points,
        projected=values[-1],
        on_track=bool(on_track),
        method=method,
        models=models,
        probability=probability,
        first_period=first_period,
        last_period=last_period,
        clamped=bool(clamped),
        path_periods=periods,
        path_values=values,
        path_low=low,
        path_high=high,
    )
