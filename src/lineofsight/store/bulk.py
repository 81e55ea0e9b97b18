"""Many rows in and out at once, below SQLAlchemy's per-row work, inside its transaction.

SQLAlchemy turns every row of an `executemany` into a dictionary of processed parameters, about
ten microseconds a row: a minute for the 3 million measurements of a large organisation. Here
rows are plain tuples: SQLite takes them through its driver's `executemany`, PostgreSQL through
`COPY`. Values are stored exactly as SQLAlchemy stores them (its own converters for dates,
times and JSON on SQLite), so that SQLAlchemy reads them back as if it had written them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table

Row = Sequence[Any]
Converter = Callable[[Any], Any]


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Row],
    *,
    native: bool = False,
) -> int:
    """Insert `rows` (values in the order of `columns`) into `table`; the number inserted.

    `native` rows hold values as the database holds them already (see `select_rows`).
    """
    if conn.dialect.name == "postgresql":
        return _copy(conn, table, columns, rows, native)
    converters = [] if native else _sqlite_converters(conn, table, columns)
    if converters:
        rows = (_convert(row, converters) for row in rows)
    names = ", ".join(_quote(conn, name) for name in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {_quote(conn, table.name)} ({names}) VALUES ({marks})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def select_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    order_by: Sequence[str] = (),
    *,
    native: bool = False,
    where_in: tuple[str, Collection[str]] | None = None,
) -> list[tuple[Any, ...]]:
    """Every row of `table` as tuples of Python values (dates as dates, JSON decoded).

    `native`: values as the database holds them, which is quicker: JSON as its text, dates as
    ISO text on SQLite (and as dates on PostgreSQL). `where_in` (a column, values): only the
    rows whose column holds one of the values (asked in chunks of bound parameters).
    """
    if where_in is not None:
        column, values = where_in
        rows: list[tuple[Any, ...]] = []
        ordered = sorted(set(values))
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            rows += _select(conn, table, columns, order_by, native, (column, chunk))
        return rows
    return _select(conn, table, columns, order_by, native, None)


_CHUNK = 900  # bound parameters in one statement (SQLite's oldest limit is 999)


def _select(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    order_by: Sequence[str],
    native: bool,
    where_in: tuple[str, Sequence[str]] | None,
) -> list[tuple[Any, ...]]:
    postgresql = conn.dialect.name == "postgresql"
    names = ", ".join(
        f"CAST({_quote(conn, name)} AS TEXT)"
        if native and postgresql and isinstance(table.c[name].type, JSON)
        else _quote(conn, name)
        for name in columns
    )
    sql = f"SELECT {names} FROM {_quote(conn, table.name)}"
    params: Sequence[str] = ()
    if where_in is not None:
        column, params = where_in
        mark = "%s" if postgresql else "?"
        sql += f" WHERE {_quote(conn, column)} IN ({', '.join(mark for _ in params)})"
    if order_by:
        sql += " ORDER BY " + ", ".join(_quote(conn, name) for name in order_by)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if where_in is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, tuple(params))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    if postgresql or native:
        return rows  # psycopg gives dates and decoded JSON already
    converters = _sqlite_readers(conn, table, columns)
    if not converters:
        return rows
    return [_convert(row, converters) for row in rows]


def executemany(conn: Connection, sql: str, rows: Sequence[Row]) -> None:
    """Run one parameterised statement (`?` placeholders) for many rows of plain values."""
    if not rows:
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            sql = sql.replace("?", "%s")
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _convert(row: Row, converters: Sequence[tuple[int, Converter]]) -> tuple[Any, ...]:
    values = list(row)
    for index, convert in converters:
        value = values[index]
        if value is not None or convert is _json_text:
            values[index] = convert(value)
    return tuple(values)


_ENCODER = json.JSONEncoder(default=lambda value: _plain_json(value))
# `JSONEncoder.encode` builds a new C encoder on every call, which costs more than encoding a
# small item: the history of a large apply encodes hundreds of thousands. Built once here, with
# the settings `_ENCODER` would pass (the standard library's own C accelerator, when present).
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    _make_encoder(
        None,  # no cycle check: plain data from the strategy file has no cycles
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,
        False,
        True,
    )
    if _make_encoder is not None
    else None
)


def json_text(value: Any) -> str:
    """JSON as SQLAlchemy's JSON type writes it (None as `null`, not as SQL NULL), with dates
    as ISO text and enumerations as their values."""
    if value is None:
        return "null"
    if _C_ENCODE is None or type(value) is not dict:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


_json_text = json_text


def native_value(conn: Connection, column: Any, value: Any) -> Any:
    """One value of `column` as the connection's database holds it (see `select_rows`)."""
    if conn.dialect.name != "sqlite" or value is None:
        return value
    processor = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor is not None else value


def _plain_json(value: Any) -> Any:
    """Dates as ISO text and enumerations as their values, as the history writes them."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON")


def _sqlite_converters(
    conn: Connection, table: Table, columns: Sequence[str]
) -> list[tuple[int, Converter]]:
    found: list[tuple[int, Converter]] = []
    for index, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, JSON):
            found.append((index, _json_text))
        elif isinstance(kind, Date | DateTime):
            processor = kind.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            if processor is not None:
                found.append((index, _cached(processor)))
    return found


def _sqlite_readers(
    conn: Connection, table: Table, columns: Sequence[str]
) -> list[tuple[int, Converter]]:
    found: list[tuple[int, Converter]] = []
    for index, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, JSON):
            found.append((index, _json_value))
        elif isinstance(kind, Date | DateTime):
            processor = kind.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
            if processor is not None:
                found.append((index, _cached(processor)))
    return found


def _json_value(value: Any) -> Any:
    return None if value is None else json.loads(value)


def _cached(convert: Converter) -> Converter:
    """Dates repeat (a load has a few dozen distinct periods): convert each one once."""
    seen: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            result = seen[value] = convert(value)
            return result

    return cached


def _copy(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Row], native: bool
) -> int:
    json_columns = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    if json_columns and not native:
        converters: list[tuple[int, Converter]] = [(i, _json_text) for i in json_columns]
        rows = (_convert(row, converters) for row in rows)
    names = ", ".join(_quote(conn, name) for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    try:
        with cursor.copy(f"COPY {_quote(conn, table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    finally:
        cursor.close()
    return count
