"""What the attention lists read beside the scorecard: who owns each KPI and objective, who
leads each unit, where people work, objectives' deadlines. Four queries as frames, whatever
the organisation's size."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from lineofsight.store.arrow import read_frame
from lineofsight.store.database import Store


@dataclass(frozen=True, slots=True)
class Responsibilities:
    """kpis: id, name, unit_id, owner_id, frequency, due_days, formula (bool: computed),
    sourced (bool: its values come from a data source, not entered by hand);
    objectives: id, name, unit_id, owner_id, deadline, active (bool);
    people: id, name, unit_id, email; units: id, name, parent_id, lead_id."""

    kpis: pl.DataFrame
    objectives: pl.DataFrame
    people: pl.DataFrame
    units: pl.DataFrame


_KPIS = {
    "id": pl.String,
    "name": pl.String,
    "unit_id": pl.String,
    "owner_id": pl.String,
    "frequency": pl.String,
    "due_days": pl.Int64,
    "formula": pl.String,
    "source": pl.String,
}
_OBJECTIVES = {
    "id": pl.String,
    "name": pl.String,
    "unit_id": pl.String,
    "owner_id": pl.String,
    "deadline": pl.Date,
    "status": pl.String,
}
_PEOPLE = {"id": pl.String, "name": pl.String, "unit_id": pl.String, "email": pl.String}
_UNITS = {"id": pl.String, "name": pl.String, "parent_id": pl.String, "lead_id": pl.String}


def read_responsibilities(store: Store) -> Responsibilities:
    """Owners, leads, people's units and objectives' deadlines of the whole organisation."""
    kpis = read_frame(
        store,
        "SELECT id, name, unit_id, owner_id, frequency, due_days, formula,"
        " CAST(source AS TEXT) AS source FROM kpis",
        [],
        _KPIS,
    )
    # As `domain.sources.feeding_source` tells it of one KPI: a source not manual, no formula.
    kind = pl.col("source").str.json_path_match("$.kind")
    sourced = (kind.fill_null("manual") != "manual") & pl.col("formula").is_null()
    kpis = kpis.with_columns(pl.col("formula").is_not_null(), sourced.alias("sourced")).drop(
        "source"
    )
    objectives = read_frame(
        store,
        "SELECT id, title, unit_id, owner_id, deadline, status FROM objectives",
        [],
        _OBJECTIVES,
    ).select(
        "id",
        "name",
        "unit_id",
        "owner_id",
        "deadline",
        (pl.col("status").fill_null("active") == "active").alias("active"),
    )
    people = read_frame(store, "SELECT id, name, unit_id, email FROM people", [], _PEOPLE)
    units = read_frame(store, "SELECT id, name, parent_id, lead_id FROM units", [], _UNITS)
    return Responsibilities(kpis, objectives, people, units)
