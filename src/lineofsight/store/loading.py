"""One write transaction for a bulk load, with frames in and out.

Millions of measurements cannot go through a row-by-row driver call each in time (SQLite's
Python driver binds about 400,000 rows a second, SQLAlchemy fewer). On an SQLite file the
transaction runs on an ADBC connection of its own, which takes Arrow data (a Polars frame)
straight into a temporary table; everything else is SQL inside SQLite. It begins with
`BEGIN IMMEDIATE`, so that no other writer changes the store between what the load reads and
what it writes, waiting its turn behind another writer for up to the store's busy timeout
(see database.py). Elsewhere (PostgreSQL, an in-memory SQLite) the transaction is SQLAlchemy's
connection, with `COPY` on PostgreSQL.

SQL given to `execute` and `query` uses `?` for parameters; only the values of temporary
tables made by `stage` and literal parameters from this package reach it.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from lineofsight.errors import StoreError
from lineofsight.store.arrow import BATCH_ROWS, busy_timeout_pragma, typed_query
from lineofsight.store.database import Store, is_busy

# SQLAlchemy is loaded when a session goes through it, or a time is written: an ADBC read
# (`arrow.read_frame`) starts without it.
if TYPE_CHECKING:
    from sqlalchemy import Connection

LOAD_CACHE_KB = 64 * 1024  # SQLite page cache during a load (its default is 8 MB)


class LoadSession(Protocol):
    """A write transaction that takes and gives Polars frames."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""

    def query(self, sql: str, schema: Mapping[str, Any]) -> pl.DataFrame:
        """A query's rows as a frame of `schema` (its columns in the query's order)."""

    def insert_returning_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an `INSERT ... RETURNING id` of one row; the new row's id."""

    def stage(self, name: str, frame: pl.DataFrame) -> None:
        """A temporary table `name` holding `frame` (its column names and types), in place of
        one staged before under that name."""

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Insert `frame`'s rows into the existing `table` (columns by name, in frame order)."""


@contextmanager
def load_session(store: Store) -> Iterator[LoadSession]:
    """A write transaction: everything in the block is written, or nothing is.

    On an SQLite file the store's own connections stay out of it meanwhile: two copies of the
    SQLite library in one process must not interleave on one file (their locks are the
    process's), so reads during the load go through the session too.
    """
    path = store.arrow_file
    if path is None:
        with store.transaction() as conn:
            yield _SqlAlchemySession(conn)
        return
    from adbc_driver_manager import Error as AdbcError

    # No connection of the process's other SQLite library open beside ADBC's, idle ones
    # closed too: ADBC's, closing last, would otherwise fold the log into the file under them
    # (see `Store.arrow_turn`).
    started = time.monotonic()
    try:
        with store.arrow_turn():
            session = _AdbcSession(path, store.busy_timeout)
            try:
                yield session
                session.commit()
            finally:
                session.close()
    except AdbcError as exc:
        if is_busy(exc):
            raise store.busy_since(started) from None
        raise StoreError(f"store error on {store.display_url}: {exc}") from None


@contextmanager
def reading_session(store: Store) -> Iterator[LoadSession]:
    """A session that only reads and waits for no writer: what a load checks its file against
    before it waits for the write lock. It goes through the store's own connections, also on
    an SQLite file: opening and closing ADBC's copy of SQLite once more would drop the file
    locks of the process's other connections to it (see Store.arrow_sqlite)."""
    with store.reading() as conn:
        yield _SqlAlchemySession(conn)


def time_parameter(session: LoadSession, at: dt.datetime) -> Any:
    """`at` as a parameter of a session's statement, in the form SQLAlchemy writes a time in:
    on SQLite, its text (so that a time a load wrote reads back like any other)."""
    if session.dialect != "sqlite":
        return at
    stored_as = _sqlite_time()
    return stored_as(at) if stored_as is not None else at


@cache
def _sqlite_time() -> Any:
    """How SQLAlchemy writes the type of every time the store keeps into SQLite."""
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    return DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)


class _AdbcSession:
    """An ADBC connection to an SQLite file, in a transaction from the start."""

    dialect = "sqlite"

    def __init__(self, path: str, busy_timeout: float) -> None:
        # Imported here: only loads need them.
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite

        self._adbc = adbc
        self._database = adbc_driver_sqlite.connect(path)
        self._connection = adbc.AdbcConnection(self._database)
        self._open = True
        self._in_transaction = False
        try:
            self._connection.set_autocommit(True)  # the transaction is ours: BEGIN ... COMMIT
            # As the store's engine sets them on its connections (see database.py); the wait
            # for another process's lock first, before any statement that may meet one.
            self.execute(busy_timeout_pragma(busy_timeout))
            self.execute("PRAGMA foreign_keys=ON")
            self.execute("PRAGMA synchronous=NORMAL")
            self.execute("PRAGMA temp_store=MEMORY")  # the staged rows: no temporary file
            # Millions of rows go into the key's index beside the table: a larger cache keeps
            # its pages from being written out and read back while the load runs, and
            # rebuilding the scorecard's index sorts on a second thread.
            self.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KB}")
            self.execute("PRAGMA threads=2")
            self.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
        except BaseException:
            self.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        statement = self._statement(sql, params)
        try:
            return int(statement.execute_update())
        finally:
            statement.close()

    def query(self, sql: str, schema: Mapping[str, Any]) -> pl.DataFrame:
        statement = self._statement(typed_query(sql, schema), ())
        # Large batches, as `arrow.read_frame` reads: the driver's default (1,024 rows) costs
        # a fifth more to read the stored values a refresh compares with (60,000 rows).
        try:
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            stream, _ = statement.execute_query()
            frame = pl.DataFrame(stream).slice(1)
        finally:
            statement.close()
        if frame.width == 0 or frame.is_empty():
            return pl.DataFrame(schema=dict(schema))
        return frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(pl.Schema(schema))

    def insert_returning_id(self, sql: str, params: Sequence[Any]) -> int:
        statement = self._statement(sql, params)
        try:
            stream, _ = statement.execute_query()
            return int(pl.DataFrame(stream).item())
        finally:
            statement.close()

    def stage(self, name: str, frame: pl.DataFrame) -> None:
        adbc = self._adbc
        self.execute(f"DROP TABLE IF EXISTS temp.{name}")
        self._ingest(
            frame,
            **{
                adbc.StatementOptions.INGEST_TARGET_TABLE.value: name,
                adbc.StatementOptions.INGEST_MODE.value: adbc.INGEST_OPTION_MODE_CREATE,
                adbc.StatementOptions.INGEST_TEMPORARY.value: "true",
            },
        )

    def append(self, table: str, frame: pl.DataFrame) -> None:
        adbc = self._adbc
        self._ingest(
            _dates_as_text(frame),
            **{
                adbc.StatementOptions.INGEST_TARGET_TABLE.value: table,
                adbc.StatementOptions.INGEST_MODE.value: adbc.INGEST_OPTION_MODE_APPEND,
            },
        )

    def _ingest(self, frame: pl.DataFrame, **options: str) -> None:
        statement = self._adbc.AdbcStatement(self._connection)
        try:
            statement.set_options(**options)
            statement.bind_stream(frame.__arrow_c_stream__())
            statement.execute_update()
        finally:
            statement.close()

    def _statement(self, sql: str, params: Sequence[Any]) -> Any:
        statement = self._adbc.AdbcStatement(self._connection)
        statement.set_sql_query(sql)
        if params:
            values = pl.DataFrame(
                {f"p{i}": [value] for i, value in enumerate(params)}, strict=False
            )
            statement.bind_stream(values.__arrow_c_stream__())
        return statement

    def commit(self) -> None:
        self.execute("COMMIT")
        self._in_transaction = False

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if self._in_transaction:
                self.execute("ROLLBACK")
        finally:
            self._connection.close()
            self._database.close()


class _SqlAlchemySession:
    """The store's own transaction: PostgreSQL (COPY) or an in-memory SQLite."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._driver = conn.connection.driver_connection

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self._driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._sql(sql), tuple(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def query(self, sql: str, schema: Mapping[str, Any]) -> pl.DataFrame:
        cursor = self._driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._sql(sql))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return pl.DataFrame(rows, schema=dict(schema), orient="row")

    def insert_returning_id(self, sql: str, params: Sequence[Any]) -> int:
        cursor = self._driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._sql(sql), tuple(params))
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def stage(self, name: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(
            f'"{column}" {_sql_type(dtype)}' for column, dtype in frame.schema.items()
        )
        # Dropped at commit on PostgreSQL: a pooled connection outlives the transaction, and
        # the next load on it (a long-running server) stages a table of the same name.
        on_commit = " ON COMMIT DROP" if self.dialect == "postgresql" else ""
        # One staged before in this transaction (or, on SQLite, which has no ON COMMIT DROP, a
        # leftover of an earlier one) gives way.
        self.execute(f"DROP TABLE IF EXISTS {'temp.' if self.dialect == 'sqlite' else ''}{name}")
        self.execute(f"CREATE TEMPORARY TABLE {name} ({columns}){on_commit}")
        self.append(name, frame)

    def append(self, table: str, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        name = table
        names = ", ".join(f'"{column}"' for column in frame.columns)
        cursor = self._driver.cursor()  # type: ignore[union-attr]
        try:
            if self.dialect == "postgresql":
                data = io.BytesIO()
                frame.write_csv(data, include_header=False, null_value="")
                with cursor.copy(f"COPY {name} ({names}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(data.getvalue())
            else:
                frame = _dates_as_text(frame)
                marks = ", ".join("?" for _ in frame.columns)
                cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", frame.rows())
        finally:
            cursor.close()


def _dates_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates as SQLAlchemy stores them on SQLite: ISO text. (ADBC would write the same text
    from Arrow dates, but more slowly.) Millions of measurements share a few dozen last days:
    each distinct one is written out once."""
    texts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            days = frame.get_column(name).unique().drop_nulls()
            text = pl.col(name).replace_strict(
                days, days.dt.to_string("%Y-%m-%d"), default=None, return_dtype=pl.String
            )
            texts.append(text)
    return frame.with_columns(texts) if texts else frame


def _sql_type(dtype: Any) -> str:
    if dtype == pl.String:
        return "TEXT"
    if dtype.is_integer():
        return "BIGINT"
    if dtype.is_float():
        return "DOUBLE PRECISION"
    if dtype == pl.Date:
        return "DATE"
    if dtype == pl.Datetime:
        return "TIMESTAMP WITH TIME ZONE"
    raise TypeError(f"no SQL type for {dtype}")
