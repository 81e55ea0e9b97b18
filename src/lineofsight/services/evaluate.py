"""Evaluate the store's organisation: read the measurements it needs, hand them to the engine."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import text

from lineofsight.domain import model as m
from lineofsight.domain.graph import children_of, reachable
from lineofsight.domain.text import did_you_mean
from lineofsight.errors import UsageError
from lineofsight.services.as_of import resolve_as_of
from lineofsight.store.database import Store
from lineofsight.store.scorecards import idle

# The engine and the table definitions are imported where they are used: `los status` on a
# scorecard kept in the store needs neither.
if TYPE_CHECKING:
    from lineofsight.engine.evaluate import Evaluation
    from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation

_COLUMNS = "kpi_id, unit_id, period, period_end, value, numerator, denominator"
# As stored: the period's label, from which (with its last day) its first day follows.
_STORED_SCHEMA = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "period_end": pl.Date,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


def read_measurement_frame(
    store: Store, window: tuple[dt.date, dt.date] | None = None
) -> pl.DataFrame:
    """Measurements as a Polars frame, optionally only those whose last day is in `window`."""
    query = f"SELECT {_COLUMNS} FROM measurements"
    params: list[object] = []
    if window is not None:
        query += " WHERE period_end >= {} AND period_end <= {}"
        params = list(window)
    return measurement_frame(_typed_frame(store, query, params, _STORED_SCHEMA))


def read_kpi_frame(
    store: Store, kpi_ids: Iterable[str], window: tuple[dt.date, dt.date] | None = None
) -> pl.DataFrame:
    """The measurements of these KPIs only (every unit), optionally only those whose last
    day is in `window`, as the engine takes them."""
    from sqlalchemy import select

    from lineofsight.store import tables as t
    from lineofsight.store.measurements import of_kpis

    ms = t.measurements
    query = select(
        ms.c.kpi_id,
        ms.c.unit_id,
        ms.c.period,
        ms.c.period_end,
        ms.c.value,
        ms.c.numerator,
        ms.c.denominator,
    ).where(of_kpis(kpi_ids))
    if window is not None:
        query = query.where(ms.c.period_end >= window[0], ms.c.period_end <= window[1])
    with store.reading() as conn:
        rows = conn.execute(query).all()
    return measurement_frame(_typed(rows, dict(_STORED_SCHEMA)))


def measurement_frame(stored: pl.DataFrame) -> pl.DataFrame:
    """Stored measurement rows (with `period` and `period_end`) as the engine takes them."""
    from lineofsight.engine.values import MEASUREMENT_SCHEMA
    from lineofsight.store.measurements import with_starts

    return with_starts(stored).select(list(MEASUREMENT_SCHEMA))


def _typed_frame(
    store: Store, query: str, params: list[object], schema: Mapping[str, Any]
) -> pl.DataFrame:
    """Run a query into a frame of the given schema: Arrow-native on an SQLite file, row by
    row through SQLAlchemy elsewhere. `{}` in the query marks each parameter."""
    path = store.arrow_file
    if path is not None:
        from lineofsight.store.loading import typed_query

        idle(store)  # no connection of the other SQLite library open beside ADBC's
        frame = _adbc_frame(path, typed_query(query, schema), params, store.busy_timeout)
        return _cast(frame.slice(1), schema)
    names = [f"p{i}" for i in range(len(params))]
    sql = query.format(*[f":{name}" for name in names])
    with store.reading() as conn:
        rows = conn.execute(text(sql), dict(zip(names, params, strict=True))).all()
    return _typed(rows, dict(schema))


def _adbc_frame(path: str, query: str, params: list[object], busy_timeout: float) -> pl.DataFrame:
    """A query's result as Arrow straight into Polars (no row objects, no pyarrow)."""
    # Imported here: only scorecards need them. The low-level API hands over an Arrow stream
    # that Polars reads through the Arrow PyCapsule interface.
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    from lineofsight.store.loading import busy_timeout_pragma

    # SQLite keeps dates as ISO text; parameters are inlined as quoted literals because
    # they are dates and numbers we made, never user text.
    literals = []
    for value in params:
        if isinstance(value, dt.date):
            literals.append(f"'{value.isoformat()}'")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            literals.append(repr(value))
        else:
            raise TypeError(f"unsupported query parameter {value!r}")
    database = adbc_driver_sqlite.connect(path)
    try:
        connection = adbc.AdbcConnection(database)
        try:
            # A read is not blocked by a write, but can wait for a moment's lock (a WAL
            # checkpoint or recovery by another connection).
            pragma = adbc.AdbcStatement(connection)
            try:
                pragma.set_sql_query(busy_timeout_pragma(busy_timeout))
                pragma.execute_update()
            finally:
                pragma.close()
            statement = adbc.AdbcStatement(connection)
            try:
                statement.set_sql_query(query.format(*literals))
                stream, _ = statement.execute_query()
                return pl.DataFrame(stream)
            finally:
                statement.close()
        finally:
            connection.close()
    finally:
        database.close()


def _cast(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    if frame.is_empty() or frame.width == 0:
        return pl.DataFrame(schema=dict(schema))
    casts = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if dtype == pl.Date and frame.schema[name] == pl.String:
            casts.append(column.str.to_date())
        else:
            casts.append(column.cast(dtype))
    return frame.with_columns(casts).select(list(schema))


def load_organization(store: Store) -> m.Organization:
    from lineofsight.store.definitions import read_organization

    with store.reading() as conn:
        org = read_organization(conn)
    if org is None:
        raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    return org


def evaluate_store(
    store: Store, period: str | None = None, as_of: str | None = None
) -> tuple[m.Organization, Evaluation]:
    """The organisation in the store, evaluated as of a date (read only what it needs)."""
    from lineofsight.engine.evaluate import evaluate_organization, evaluation_window

    org = load_organization(store)
    day = resolve_as_of(org, period, as_of)
    lag = not period  # a period report shows each KPI's period, value or not
    window = evaluation_window(org, day, lag)
    measurements = read_measurement_frame(store, window)
    return org, evaluate_organization(org, measurements, day, lag)


def unit_subtree(org: m.Organization, unit_id: str) -> set[str]:
    """A unit and every unit below it; UsageError for an unknown unit."""
    _known_unit([u.id for u in org.units], unit_id)
    children = children_of((u.id, u.parent) for u in org.units)
    return reachable([unit_id], lambda unit: children.get(unit, ()))


def _known_unit(ids: list[str], unit_id: str) -> None:
    if unit_id not in ids:
        raise UsageError(f"--unit: unknown unit '{unit_id}'{did_you_mean(unit_id, ids)}")


_FRAME_QUERIES = {
    "kpis": (
        "SELECT id, position, unit_id, frequency, direction, aggregation, across_units, formula,"
        " ratio_scale, range_low, range_high, baseline_period, baseline_value, target_value,"
        " target_by, tolerance, tolerance_abs, due_days FROM kpis",
        {
            "id": pl.String,
            "position": pl.Int64,
            "unit_id": pl.String,
            "frequency": pl.String,
            "direction": pl.String,
            "aggregation": pl.String,
            "across_units": pl.String,
            "formula": pl.String,
            "ratio_scale": pl.Float64,
            "range_low": pl.Float64,
            "range_high": pl.Float64,
            "baseline_period": pl.String,
            "baseline_value": pl.Float64,
            "target_value": pl.Float64,
            "target_by": pl.Date,
            "tolerance": pl.Float64,
            "tolerance_abs": pl.Float64,
            "due_days": pl.Int64,
        },
    ),
    "period_targets": (  # in the file's order: sorted once read (see `typed_query`)
        "SELECT kpi_id, unit_id, period, value, position FROM kpi_period_targets",
        {
            "kpi_id": pl.String,
            "unit_id": pl.String,
            "period": pl.String,
            "value": pl.Float64,
            "position": pl.Int64,
        },
    ),
    "unit_targets": (
        "SELECT kpi_id, unit_id, value, by_date, baseline_period, baseline_value"
        " FROM kpi_unit_targets",
        {
            "kpi_id": pl.String,
            "unit_id": pl.String,
            "value": pl.Float64,
            "by_date": pl.Date,
            "baseline_period": pl.String,
            "baseline_value": pl.Float64,
        },
    ),
    "supports": (
        "SELECT kpi_id, objective_id, weight FROM kpi_supports",
        {"kpi_id": pl.String, "objective_id": pl.String, "weight": pl.Float64},
    ),
    "objectives": (
        "SELECT id, position, unit_id, parent_id, weight FROM objectives",
        {
            "id": pl.String,
            "position": pl.Int64,
            "unit_id": pl.String,
            "parent_id": pl.String,
            "weight": pl.Float64,
        },
    ),
    "units": (
        "SELECT id, position, parent_id FROM units",
        {"id": pl.String, "position": pl.Int64, "parent_id": pl.String},
    ),
}


def _typed(rows: Sequence[Sequence[Any]], schema: dict[str, Any]) -> pl.DataFrame:
    names = list(schema)
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    return _cast(frame, schema)


def read_definition_frames(store: Store) -> DefinitionFrames:
    """The tables a scorecard needs, as frames, without building domain objects."""
    from lineofsight.engine.frames import DefinitionFrames

    frames: dict[str, pl.DataFrame] = {}
    with store.reading() as conn:
        row = conn.execute(
            text("SELECT fiscal_year_start, scoring, due_days FROM organization")
        ).first()
        if row is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    for name, (query, schema) in _FRAME_QUERIES.items():
        frames[name] = _typed_frame(store, query, [], schema)
    frames["period_targets"] = (
        frames["period_targets"].sort("kpi_id", "position", maintain_order=True).drop("position")
    )
    scoring = row[1]
    if isinstance(scoring, str):
        scoring = json.loads(scoring)
    return DefinitionFrames(
        kpis=frames["kpis"],
        period_targets=frames["period_targets"],
        unit_targets=frames["unit_targets"],
        supports=frames["supports"],
        objectives=frames["objectives"],
        units=frames["units"],
        calendar=m.Calendar(row[0], row[2]),
        scoring=m.Scoring(**scoring) if scoring else m.Scoring(),
    )


def frame_window(
    defs: DefinitionFrames, as_of: dt.date, lag: bool = True
) -> tuple[dt.date, dt.date]:
    """The days whose measurements a scorecard as of this date can use (see
    `engine.evaluate.evaluation_window`)."""
    from lineofsight.engine.lag import period_slots

    calendar = defs.calendar
    longest = dict(
        defs.kpis.group_by("frequency")
        .agg(pl.col("due_days").fill_null(calendar.due_days).max())
        .iter_rows()
    ) or {f.value: calendar.due_days for f in m.Frequency}
    periods = [
        p
        for f, due in longest.items()
        for p in period_slots(m.Frequency(f), as_of, calendar, due if lag else None)
    ]
    return min(p.start for p in periods), max(p.end for p in periods)


def status_store(
    store: Store, period: str | None = None, as_of: str | None = None
) -> FrameEvaluation:
    """The scorecard of the whole store, computed on frames (fast on large organisations)."""
    return status_with_definitions(store, period, as_of)[1]


def status_with_definitions(
    store: Store, period: str | None = None, as_of: str | None = None
) -> tuple[DefinitionFrames, FrameEvaluation]:
    from lineofsight.engine.frames import evaluate_frames

    defs = read_definition_frames(store)
    minimal = m.Organization(name="", calendar=defs.calendar)
    day = resolve_as_of(minimal, period, as_of)
    lag = not period
    measurements = read_measurement_frame(store, frame_window(defs, day, lag))
    return defs, evaluate_frames(defs, measurements, day, lag)


def read_names(store: Store) -> dict[str, dict[str, str]]:
    """Names of KPIs and units and titles of objectives, for tables."""
    names: dict[str, dict[str, str]] = {}
    with store.reading() as conn:
        for kind, query in (
            ("kpi", "SELECT id, name FROM kpis"),
            ("objective", "SELECT id, title FROM objectives"),
            ("unit", "SELECT id, name FROM units"),
        ):
            names[kind] = {row[0]: row[1] for row in conn.execute(text(query))}
    return names


def subtree_of(units: pl.DataFrame, unit_id: str) -> set[str]:
    """A unit and every unit below it, from the units frame; UsageError when unknown."""
    _known_unit(units["id"].to_list(), unit_id)
    children = children_of(units.select("id", "parent_id").iter_rows())
    return reachable([unit_id], lambda unit: children.get(unit, ()))
