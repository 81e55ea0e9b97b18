"""The words people read beside a scorecard's ids: KPI names and units of measure, objective
titles and units, unit names; read as frames in three queries, whatever the organisation's size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from lineofsight.store import tables as t


@dataclass(frozen=True, slots=True)
class Labels:
    """kpis: id, name, unit_of_measure; objectives: id, name (the title), unit_id;
    units: id, name."""

    kpis: pl.DataFrame
    objectives: pl.DataFrame
    units: pl.DataFrame


def read_labels(conn: Connection) -> Labels:
    """The names, titles and units of measure of every KPI, objective and unit."""
    k, o, u = t.kpis, t.objectives, t.units
    kpis = conn.execute(select(k.c.id, k.c.name, k.c.unit_of_measure)).all()
    objectives = conn.execute(select(o.c.id, o.c.title, o.c.unit_id)).all()
    units = conn.execute(select(u.c.id, u.c.name)).all()
    return Labels(
        kpis=_frame(kpis, ["id", "name", "unit_of_measure"]),
        objectives=_frame(objectives, ["id", "name", "unit_id"]),
        units=_frame(units, ["id", "name"]),
    )


def _frame(rows: Sequence[Sequence[Any]], names: list[str]) -> pl.DataFrame:
    # Column by column: building 100,000 rows' frame from row tuples costs several times more.
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pl.DataFrame(
        {name: list(column) for name, column in zip(names, columns, strict=True)},
        schema={name: pl.String for name in names},
    )


def read_organization_name(conn: Connection) -> str:
    """The organisation's name ("" before the first apply)."""
    name = conn.execute(select(t.organization.c.name)).scalar()
    return name or ""
