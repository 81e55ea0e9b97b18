"""Evaluate the store's organisation: read the measurements it needs, hand them to the engine."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import text

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, parse_period
from lineofsight.engine.evaluate import Evaluation, evaluate_organization, evaluation_window
from lineofsight.engine.values import MEASUREMENT_SCHEMA
from lineofsight.errors import UsageError
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization

_COLUMNS = "kpi_id, unit_id, period_start, period_end, value, numerator, denominator"


def read_measurement_frame(
    store: Store, window: tuple[dt.date, dt.date] | None = None
) -> pl.DataFrame:
    """Measurements as a Polars frame, optionally only those whose last day is in `window`."""
    query = f"SELECT {_COLUMNS} FROM measurements"
    params: dict[str, object] = {}
    if window is not None:
        query += " WHERE period_end >= :first AND period_end <= :last"
        first, last = window
        # SQLite keeps dates as ISO text, so compare with text there.
        params = (
            {"first": first.isoformat(), "last": last.isoformat()}
            if store.dialect == "sqlite"
            else {"first": first, "last": last}
        )
    with store.reading() as conn:
        rows = conn.execute(text(query), params).all()
    return _frame(rows)


def _frame(rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema=[
            "kpi_id",
            "unit_id",
            "period_start",
            "period_end",
            "value",
            "numerator",
            "denominator",
        ],
        orient="row",
        infer_schema_length=None,
    )
    if frame.is_empty():
        return pl.DataFrame(schema=MEASUREMENT_SCHEMA)
    casts = []
    for name in ("period_start", "period_end"):
        if frame.schema[name] == pl.String:
            casts.append(pl.col(name).str.to_date())
        else:
            casts.append(pl.col(name).cast(pl.Date))
    for name in ("value", "numerator", "denominator"):
        casts.append(pl.col(name).cast(pl.Float64))
    return frame.with_columns(casts).select(list(MEASUREMENT_SCHEMA))


def load_organization(store: Store) -> m.Organization:
    with store.reading() as conn:
        org = read_organization(conn)
    if org is None:
        raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    return org


def resolve_as_of(org: m.Organization, period: str | None, as_of: str | None) -> dt.date:
    """`--period P` means the last day of P; `--as-of D` a date; neither, today."""
    if period and as_of:
        raise UsageError("give --period or --as-of, not both")
    if period:
        try:
            return parse_period(period, org.calendar).end
        except PeriodError as exc:
            raise UsageError(f"--period: {exc}") from None
    if as_of:
        try:
            return dt.date.fromisoformat(as_of)
        except ValueError:
            raise UsageError(f"--as-of {as_of!r}: expected a date YYYY-MM-DD") from None
    return dt.date.today()


def evaluate_store(
    store: Store, period: str | None = None, as_of: str | None = None
) -> tuple[m.Organization, Evaluation]:
    """The organisation in the store, evaluated as of a date (read only what it needs)."""
    org = load_organization(store)
    day = resolve_as_of(org, period, as_of)
    window = evaluation_window(org, day)
    measurements = read_measurement_frame(store, window)
    return org, evaluate_organization(org, measurements, day)


def unit_subtree(org: m.Organization, unit_id: str) -> set[str]:
    """A unit and every unit below it; UsageError for an unknown unit."""
    units = org.units_by_id()
    if unit_id not in units:
        hint = difflib.get_close_matches(unit_id, list(units), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise UsageError(f"--unit: unknown unit '{unit_id}'{suggestion}")
    children: dict[str, list[str]] = {}
    for unit in org.units:
        if unit.parent is not None:
            children.setdefault(unit.parent, []).append(unit.id)
    found: set[str] = set()
    stack = [unit_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found
