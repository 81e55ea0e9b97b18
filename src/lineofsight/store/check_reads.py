"""What `los check` reads of the store: the definitions' columns the rules look at, as frames.

The rules of a large organisation look at a few columns of every item, and at whole KPIs only
for the few with a formula or targets by period or unit (`read_kpis`): reading the columns as
Arrow and building those few objects costs a fraction of building every KPI.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
from sqlalchemy import JSON, Connection, Text, cast, select

from lineofsight.domain import model as m
from lineofsight.store import tables as t
from lineofsight.store.arrow import read_frame
from lineofsight.store.database import Store
from lineofsight.store.definition_rows import (
    CHILD_COLUMNS,
    KPI_COLUMNS,
    DefinitionRows,
    kpi_from_rows,
)

TEXT, NUMBER, WHOLE = pl.String, pl.Float64, pl.Int64

# Each frame: its columns (name in the frame, what is selected, type), in the table's order.
_ITEMS: dict[str, tuple[str, tuple[tuple[str, str, Any], ...]]] = {
    "units": (
        "units",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("parent", "parent_id", TEXT),
            ("lint", "CAST(lint AS TEXT)", TEXT),
        ),
    ),
    "people": (
        "people",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("lint", "CAST(lint AS TEXT)", TEXT),
        ),
    ),
    "objectives": (
        "objectives",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("level", "level", TEXT),
            ("unit", "unit_id", TEXT),
            ("owner", "owner_id", TEXT),
            ("parent", "parent_id", TEXT),
            ("weight", "weight", NUMBER),
            ("deadline", "deadline", pl.Date),
            ("status", "status", TEXT),
            ("lint", "CAST(lint AS TEXT)", TEXT),
        ),
    ),
    "kpis": (
        "kpis",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("name", "name", TEXT),
            ("level", "level", TEXT),
            ("type", "type", TEXT),
            ("unit", "unit_id", TEXT),
            ("owner", "owner_id", TEXT),
            ("frequency", "frequency", TEXT),
            ("direction", "direction", TEXT),
            ("aggregation", "aggregation", TEXT),
            ("across_units", "across_units", TEXT),
            ("formula", "formula", TEXT),
            ("ratio_numerator", "ratio_numerator", TEXT),
            ("ratio_denominator", "ratio_denominator", TEXT),
            ("ratio_scale", "ratio_scale", NUMBER),
            ("target_value", "target_value", NUMBER),
            ("source", "CAST(source AS TEXT)", TEXT),
            ("due_days", "due_days", WHOLE),
            ("lint", "CAST(lint AS TEXT)", TEXT),
        ),
    ),
    "supports": (
        "kpi_supports",
        (
            ("kpi_id", "kpi_id", TEXT),
            ("position", "position", WHOLE),
            ("objective", "objective_id", TEXT),
            ("weight", "weight", NUMBER),
        ),
    ),
    "contributions": (
        "kpi_contributions",
        (
            ("kpi_id", "kpi_id", TEXT),
            ("position", "position", WHOLE),
            ("kpi", "to_kpi_id", TEXT),
            ("weight", "weight", NUMBER),
            ("effect", "effect", TEXT),
        ),
    ),
    # Which KPIs have targets by period or by unit: those are read whole (`read_kpis`).
    "targeted": (
        "kpi_period_targets",
        (("kpi_id", "kpi_id", TEXT), ("unit", "unit_id", TEXT)),
    ),
    "unit_targeted": ("kpi_unit_targets", (("kpi_id", "kpi_id", TEXT),)),
}


def read_check_frames(store: Store) -> dict[str, pl.DataFrame]:
    """The columns the alignment rules look at, one frame per kind of item or link, each in
    the store's order of the items (their `position`; links by KPI, then by their own)."""
    frames = {}
    for name, (table, columns) in _ITEMS.items():
        selected = ", ".join(f'{source} AS "{alias}"' for alias, source, _ in columns)
        schema = {alias: dtype for alias, _, dtype in columns}
        frames[name] = read_frame(store, f"SELECT {selected} FROM {table}", [], schema)
    for name in ("units", "people", "objectives", "kpis"):
        frames[name] = frames[name].sort("position").drop("position")
    order = frames["kpis"].select("id", kpi_order=pl.int_range(pl.len()))
    for name in ("supports", "contributions"):
        frames[name] = (
            frames[name]
            .join(order, left_on="kpi_id", right_on="id", how="left")
            .sort("kpi_order", "position")
            .drop("kpi_order", "position")
        )
    return frames


def read_source_file(conn: Connection) -> str | None:
    """The strategy file last applied (where the stored items were written)."""
    return conn.execute(select(t.organization.c.source_file)).scalar()


def read_kpis(conn: Connection, kpi_ids: Iterable[str], file: str | None) -> dict[str, m.Kpi]:
    """These KPIs whole, with their links, by id."""
    wanted = sorted(set(kpi_ids))
    rows = DefinitionRows(links={table: {} for table in CHILD_COLUMNS})
    found: list[tuple[Any, ...]] = []
    kpis = t.kpis
    for chunk in _chunks(wanted):
        query = select(*_native(kpis, KPI_COLUMNS)).where(kpis.c.id.in_(chunk))
        found.extend(tuple(row) for row in conn.execute(query))
        for table, columns in CHILD_COLUMNS.items():
            links = select(*_native(table, columns)).where(table.c.kpi_id.in_(chunk))
            for row in conn.execute(links):
                rows.links[table].setdefault(row[0], []).append(tuple(row))
    position = KPI_COLUMNS.index("position")
    for table, by_kpi in rows.links.items():
        at = CHILD_COLUMNS[table].index("position")
        for links in by_kpi.values():
            links.sort(key=lambda row: row[at])
    found.sort(key=lambda row: row[position])
    return {row[0]: kpi_from_rows(row, rows, file) for row in found}


def _native(table: Any, columns: Iterable[str]) -> list[Any]:
    """The columns as `kpi_from_rows` takes them: documents as their JSON text."""
    return [
        cast(table.c[c], Text) if isinstance(table.c[c].type, JSON) else table.c[c] for c in columns
    ]


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
