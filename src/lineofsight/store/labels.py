"""The words people read beside a scorecard's ids: KPI names and units of measure, objective
titles and units, unit names; read as frames in three queries, whatever the organisation's size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.store.arrow import read_frame
from lineofsight.store.database import Store

if TYPE_CHECKING:  # a scorecard's labels are read without loading SQLAlchemy
    from sqlalchemy import Connection


@dataclass(frozen=True, slots=True)
class Labels:
    """kpis: id, name, unit_of_measure; objectives: id, name (the title), unit_id;
    units: id, name."""

    kpis: pl.DataFrame
    objectives: pl.DataFrame
    units: pl.DataFrame


def read_labels(store: Store) -> Labels:
    """The names, titles and units of measure of every KPI, objective and unit."""
    return Labels(
        kpis=read_frame(store, "SELECT id, name, unit_of_measure FROM kpis", [], _KPIS),
        objectives=read_frame(store, "SELECT id, title, unit_id FROM objectives", [], _OBJECTIVES),
        units=read_frame(store, "SELECT id, name FROM units", [], _UNITS),
    )


_KPIS = {"id": pl.String, "name": pl.String, "unit_of_measure": pl.String}
_OBJECTIVES = {"id": pl.String, "name": pl.String, "unit_id": pl.String}
_UNITS = {"id": pl.String, "name": pl.String}


def read_organization_name(conn: Connection) -> str:
    """The organisation's name ("" before the first apply)."""
    from sqlalchemy import select

    from lineofsight.store import tables as t

    name = conn.execute(select(t.organization.c.name)).scalar()
    return name or ""
