"""What a forecast of the whole organisation reads of the definitions, as frames: each KPI's
target and what shapes its series, the unit targets and the units' tree (no domain objects:
building 100,000 KPIs as objects costs seconds)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import polars as pl

from lineofsight.store.arrow import Read, frame_of, read_frame, read_frames, read_together
from lineofsight.store.database import Store, plain_rows

KPI_COLUMNS = {
    "id": pl.String,
    "position": pl.Int64,
    "unit_id": pl.String,
    "frequency": pl.String,
    "direction": pl.String,
    "aggregation": pl.String,
    "formula": pl.String,
    "ratio_scale": pl.Float64,
    "range_low": pl.Float64,
    "range_high": pl.Float64,
    "target_value": pl.Float64,
    "target_by": pl.Date,
    "bounds_min": pl.Float64,
    "bounds_max": pl.Float64,
}
UNIT_TARGET_COLUMNS = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "value": pl.Float64,
    "by_date": pl.Date,
}
UNIT_COLUMNS = {"id": pl.String, "parent_id": pl.String}


@dataclass(frozen=True, slots=True)
class ForecastDefinitions:
    """kpis: `KPI_COLUMNS`; unit_targets: `UNIT_TARGET_COLUMNS`; units: id, parent_id;
    the calendar's fiscal year start and due days."""

    kpis: pl.DataFrame
    unit_targets: pl.DataFrame
    units: pl.DataFrame
    fiscal_year_start: int
    due_days: int


def read_forecast_definitions(store: Store) -> ForecastDefinitions | None:
    """The definitions a forecast of every KPI reads; None before the first apply."""
    # Through `read_frame`, as the rest: on an SQLite file a forecast of every KPI (its own
    # process beside the attention lists) then never loads SQLAlchemy.
    found = read_frame(
        store,
        "SELECT fiscal_year_start, due_days FROM organization",
        [],
        {"fiscal_year_start": pl.Int64, "due_days": pl.Int64},
    )
    if found.is_empty():
        return None
    row = found.row(0)
    kpis, unit_targets, units = (
        read_frame(store, f"SELECT {', '.join(schema)} FROM {table}", [], schema)
        for table, schema in (
            ("kpis", KPI_COLUMNS),
            ("kpi_unit_targets", UNIT_TARGET_COLUMNS),
            ("units", UNIT_COLUMNS),
        )
    )
    return ForecastDefinitions(kpis, unit_targets, units, row[0], row[1])


# Ids asked for in one statement (well under the SQLite and PostgreSQL parameter limits).
_IDS = 500

# These units and every unit above them (a cycle of a broken file ends: UNION keeps each once).
_UNITS_ABOVE = (
    "WITH RECURSIVE above(id) AS (SELECT id FROM units WHERE id IN ({})"
    " UNION SELECT u.parent_id FROM units u JOIN above a ON u.id = a.id"
    " WHERE u.parent_id IS NOT NULL)"
    " SELECT u.id, u.parent_id FROM units u JOIN above a ON u.id = a.id"
)


def read_some_forecast_definitions(
    store: Store, kpi_ids: Collection[str], unit_ids: Collection[str]
) -> ForecastDefinitions | None:
    """What a forecast of only these KPIs at their own units reads of the definitions (as
    `read_forecast_definitions`, in one transaction): these KPIs (those defined), no unit
    targets, and the units `unit_ids` (where they have values) with every unit above them
    (where those values roll up to). Read along the primary keys: a few KPIs read a few
    rows, not the definitions of the whole organisation. None before the first apply."""
    columns = ", ".join(KPI_COLUMNS)
    with store.reading() as conn:
        found = plain_rows(conn, "SELECT fiscal_year_start, due_days FROM organization")
        if not found:
            return None
        kpis = [
            row
            for chunk in _chunks(kpi_ids)
            for row in plain_rows(
                conn, f"SELECT {columns} FROM kpis WHERE id IN ({_marks(chunk)})", chunk
            )
        ]
        units = {
            row[0]: row
            for chunk in _chunks(unit_ids)
            for row in plain_rows(conn, _UNITS_ABOVE.format(_marks(chunk)), chunk)
        }
    return ForecastDefinitions(
        frame_of(kpis, KPI_COLUMNS),
        pl.DataFrame(schema=UNIT_TARGET_COLUMNS),
        frame_of(list(units.values()), UNIT_COLUMNS),
        int(found[0][0]),
        int(found[0][1]),
    )


def read_formula_kpis(store: Store) -> tuple[pl.DataFrame, int]:
    """Each formula KPI's id and formula (`id`, `formula`), and how many KPIs there are:
    what finds the formulas that read a KPI, without the other definitions."""
    formulas, count = read_together(
        store,
        [
            (
                "SELECT id, formula FROM kpis WHERE formula IS NOT NULL",
                [],
                {"id": pl.String, "formula": pl.String},
            ),
            ("SELECT count(*) AS kpis FROM kpis", [], {"kpis": pl.Int64}),
        ],
    )
    return formulas, int(count.item()) if count.height else 0


def _chunks(ids: Collection[str]) -> list[list[str]]:
    ordered = sorted(set(ids))
    return [ordered[at : at + _IDS] for at in range(0, len(ordered), _IDS)]


def _marks(chunk: Sequence[str]) -> str:
    return ", ".join("?" for _ in chunk)


# As stored: the period's label, not its first day (see `read_forecast_measurements`).
MEASUREMENT_COLUMNS = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "period_end": pl.Date,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


UNLABELLED_COLUMNS = {name: t for name, t in MEASUREMENT_COLUMNS.items() if name != "period"}

# KPIs asked for at once in `read_labelled_measurements` (SQLite allows 32,766 parameters).
_IDS_AT_ONCE = 10_000


def read_labelled_measurements(
    store: Store, as_of: dt.date, kpi_ids: Sequence[str]
) -> pl.DataFrame:
    """The measurements of these KPIs whose periods end by `as_of` (`MEASUREMENT_COLUMNS`),
    in the store's order: for the few KPIs a forecast reads through a value table, when the
    rest were read without their labels."""
    from sqlalchemy import bindparam, text

    query = text(
        f"SELECT {', '.join(MEASUREMENT_COLUMNS)} FROM measurements"
        " WHERE period_end <= :as_of AND kpi_id IN :ids"
        " ORDER BY period_end, kpi_id, unit_id, period"
    ).bindparams(bindparam("ids", expanding=True))
    ids = sorted(set(kpi_ids))
    with store.reading() as conn:  # one transaction for every part
        rows = [
            row
            for at in range(0, len(ids), _IDS_AT_ONCE)
            for row in conn.execute(
                query, {"as_of": as_of, "ids": ids[at : at + _IDS_AT_ONCE]}
            ).all()
        ]
    if len(ids) > _IDS_AT_ONCE:
        rows.sort(key=lambda row: (str(row[3]), row[0], row[1], row[2]))
    return frame_of(rows, MEASUREMENT_COLUMNS)


def read_forecast_measurements(
    store: Store, as_of: dt.date, threads: int = 1, *, labels: bool = True
) -> pl.DataFrame:
    """Every measurement whose period ends by `as_of` (`MEASUREMENT_COLUMNS`), by period end
    (the store's order) but those with a numerator or a denominator, which come after the
    others. Without each period's first day (`measurements.with_starts`): the forecast needs
    it only for the periods of several measurements, and joining it onto millions of rows
    costs more than reading them. Not `labels`: without the `period` column too (a sixth of
    the read), which the forecast on arrays needs only where two measurements of one KPI and
    unit end on one day (`forecast_frames.LabelsNeeded`).

    The numerators and denominators (of the few ratio KPIs) are read apart: two columns
    without a value in almost every row cost a quarter of the read.

    `threads` > 1: on an SQLite file, read as two spans of days at once (`arrow.read_frames`),
    each a transaction of its own (a write between them is one the calls made from them
    are not kept for: see `services.attention_forecast`); else in one transaction."""
    schema = MEASUREMENT_COLUMNS if labels else UNLABELLED_COLUMNS
    plain = {name: t for name, t in schema.items() if name not in _FRACTION}
    where = "FROM measurements WHERE period_end <= {}"
    parts: list[Read] = [
        (f"SELECT {', '.join(plain)} {where} AND {_NO_FRACTION}", [as_of], plain),
        (f"SELECT {', '.join(schema)} {where} AND NOT ({_NO_FRACTION})", [as_of], schema),
    ]
    middle = _middle_day(store, as_of) if threads > 1 and store.arrow_file is not None else None
    if middle is None:
        frames = read_together(store, parts)
    else:
        spans = [(" AND period_end < {}", [middle]), (" AND period_end >= {}", [middle])]
        reads = [
            (query + span, [*params, *bound], shape)
            for query, params, shape in parts
            for span, bound in spans
        ]
        frames = read_frames(store, reads, threads)
    # The rows without a fraction get its columns, without a value.
    nothing = [pl.lit(None, dtype=_FRACTION[name]).alias(name) for name in _FRACTION]
    return pl.concat(
        [
            frame.with_columns(nothing).select(list(schema)) if frame.width < len(schema) else frame
            for frame in frames
        ],
        rechunk=False,
    )


# The columns a ratio KPI's measurements have, and the rows without either.
_FRACTION = {"numerator": pl.Float64, "denominator": pl.Float64}
_NO_FRACTION = "numerator IS NULL AND denominator IS NULL"


def _middle_day(store: Store, as_of: dt.date) -> dt.date | None:
    """The day halfway between the first and the last period end up to `as_of` (both found
    along the primary key, which starts with it); None when there is nothing to halve."""
    query = (
        "SELECT (SELECT MIN(period_end) FROM measurements) AS first_end,"
        " (SELECT MAX(period_end) FROM measurements WHERE period_end <= {}) AS last_end"
    )
    found = read_frame(store, query, [as_of], {"first_end": pl.Date, "last_end": pl.Date})
    first, last = found.row(0) if found.height else (None, None)
    if first is None or last is None or last <= first:
        return None
    middle: dt.date = first + (last - first) / 2
    return middle
