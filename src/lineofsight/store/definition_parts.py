"""Reading part of the organisation: every unit, person and objective, and only some KPIs.

Making 100,000 KPI objects (and reading their rows and links) takes seconds; a book that
shows a few hundred KPIs reads and builds only those, with the KPIs their formulas read (all
the way down), so that their values and forecasts come out as for the whole organisation.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table, select

from lineofsight.domain import model as m
from lineofsight.domain.formula import FormulaError, parse_formula, references
from lineofsight.store import tables as t
from lineofsight.store.bulk import select_rows
from lineofsight.store.definition_rows import (
    CHILD_COLUMNS,
    KPI,
    KPI_COLUMNS,
    OBJECTIVE,
    PERSON,
    UNIT,
    DefinitionRows,
    organization_from_rows,
)

_FORMULA = KPI_COLUMNS.index("formula")
_CHUNK = 500


def _rows_of(
    conn: Connection, table: Table, columns: Sequence[str], key: str, ids: Collection[str]
) -> list[tuple[Any, ...]]:
    """The rows of `table` whose `key` is one of `ids`, values as the database holds them
    (as `select_rows(native=True)` gives them: JSON as text, dates as text on SQLite)."""
    postgresql = conn.dialect.name == "postgresql"
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(
        f"CAST({quote(name)} AS TEXT)"
        if postgresql and isinstance(table.c[name].type, JSON)
        else quote(name)
        for name in columns
    )
    mark = "%s" if postgresql else "?"
    found: list[tuple[Any, ...]] = []
    wanted = sorted(ids)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join([mark] * len(chunk))
            cursor.execute(
                f"SELECT {names} FROM {quote(table.name)} WHERE {quote(key)} IN ({marks})", chunk
            )
            found += [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()
    return found


def read_organization_part(conn: Connection, kpi_ids: Collection[str]) -> m.Organization | None:
    """The organisation with only the KPIs `kpi_ids` and those their formulas read."""
    row = conn.execute(select(t.organization)).mappings().first()
    if row is None:
        return None
    rows = DefinitionRows()
    for kind in (UNIT, PERSON, OBJECTIVE):
        found = select_rows(conn, kind.table, kind.columns, native=True)
        found.sort(key=itemgetter(kind.columns.index("position")))
        rows.items[kind.name] = {r[0]: r for r in found}
    kpis: dict[str, tuple[Any, ...]] = {}
    todo = set(kpi_ids)
    while todo:
        fetched = _rows_of(conn, KPI.table, KPI.columns, "id", todo)
        todo = set()
        for r in fetched:
            kpis[r[0]] = r
            formula = r[_FORMULA]
            # Applied files were validated: a broken formula (never stored) reads nothing.
            if formula:
                with contextlib.suppress(FormulaError):
                    todo |= set(references(parse_formula(formula)))
        todo -= set(kpis)
    position = KPI.columns.index("position")
    rows.items[KPI.name] = dict(sorted(kpis.items(), key=lambda item: item[1][position]))
    for table, columns in CHILD_COLUMNS.items():
        grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        links = _rows_of(conn, table, columns, columns[0], kpis)
        links.sort(key=itemgetter(columns.index("position")))
        for link in links:
            grouped[link[0]].append(link)
        rows.links[table] = dict(grouped)
    return organization_from_rows(row, rows)
