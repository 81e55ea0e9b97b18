"""Read a query's rows into a Polars frame: the one way the package opens an Arrow reader.

On an SQLite file (and `Store.arrow_sqlite`), the rows come as Arrow straight from ADBC's
SQLite driver into Polars, with no Python object per row: what scorecards of millions of
measurements need. Elsewhere (PostgreSQL, an in-memory SQLite, the web server) they come row
by row through SQLAlchemy. Either way the frame has exactly the schema asked for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import polars as pl

from lineofsight.store.database import Store, damaged_reason, damaged_store

BATCH_ROWS = 1 << 20


def read_frame(
    store: Store, query: str, params: Sequence[object], schema: Mapping[str, Any]
) -> pl.DataFrame:
    """The rows of `query` as a frame of `schema` (its columns in the query's order).

    `{}` in the query marks each of `params`, in order: dates and numbers this package made,
    never a user's text (on ADBC they are inlined as literals). The query has no ORDER BY or
    LIMIT of its own (see `typed_query`).
    """
    path = store.arrow_file
    if path is not None:
        # No connection of the process's other SQLite library open beside ADBC's.
        with store.arrow_turn():
            frame = _adbc_frame(path, typed_query(query, schema), params, store.busy_timeout)
        return cast_frame(frame.slice(1), schema)
    from sqlalchemy import text  # loaded here: a read through ADBC does without it

    names = [f"p{i}" for i in range(len(params))]
    sql = query.format(*[f":{name}" for name in names])
    with store.reading() as conn:
        rows = conn.execute(text(sql), dict(zip(names, params, strict=True))).all()
    return frame_of(rows, schema)


# A read: its query, its parameters and the schema of its frame (as `read_frame` takes them).
Read = tuple[str, Sequence[object], Mapping[str, Any]]


def read_frames(store: Store, reads: Sequence[Read], threads: int = 2) -> list[pl.DataFrame]:
    """The frames of several reads (as `read_frame`), in their order, of one state of the
    store.

    On an SQLite file they are read at once, each on a connection of its own, in `threads`
    threads within this thread's turn (`Store.arrow_turn`): most of a read is SQLite's and
    Arrow's work, outside Python's lock, so on a machine with cores to spare the reads take
    about as long as the longest of them. Each is a transaction of its own, so SQLite's
    `data_version` is read before and after them: when another connection committed in
    between (an apply rewriting a KPI, half of a load), they are read again one after the
    other in one transaction. Elsewhere they are read in one transaction (REPEATABLE READ on
    PostgreSQL).
    """
    path = store.arrow_file
    if len(reads) < 2:
        return [read_frame(store, query, params, schema) for query, params, schema in reads]
    if path is None:
        return _read_together(store, reads)
    with store.arrow_turn(), _Watch(path, store.busy_timeout) as watch:
        before = watch.version()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            made = [
                pool.submit(
                    _adbc_frame, path, typed_query(query, schema), params, store.busy_timeout
                )
                for query, params, schema in reads
            ]
            frames = [future.result() for future in made]
        if watch.version() != before:
            del frames
            queries = [(typed_query(query, schema), params) for query, params, schema in reads]
            frames = _adbc_frames(path, queries, store.busy_timeout)
    return [
        cast_frame(frame.slice(1), schema)
        for frame, (_, _, schema) in zip(frames, reads, strict=True)
    ]


# What `read_frames_then` asks for more reads: the frames of the reads it needs, in return
# the reads to make of them.
Then = Callable[[list[pl.DataFrame]], Sequence[Read]]


def read_frames_then(
    store: Store, reads: Sequence[Read], needs: int, then: Then, threads: int = 2
) -> list[pl.DataFrame]:
    """The frames of `reads` and of the reads `then` makes of the frames of the first `needs`
    of them, in that order, all of one state of the store (as `read_frames`).

    On an SQLite file the reads `then` makes are read as soon as those it needs are in,
    beside the others still being read (two sets of reads where the second depends on part
    of the first: the definitions, and the measurements their frequencies look at)."""
    path = store.arrow_file
    if path is None:
        return _read_together(store, reads, needs, then)
    with store.arrow_turn(), _Watch(path, store.busy_timeout) as watch:
        before = watch.version()
        with ThreadPoolExecutor(max_workers=threads) as pool:

            def submit(read: Read) -> Future[pl.DataFrame]:
                query, params, schema = read
                return pool.submit(
                    _adbc_frame, path, typed_query(query, schema), params, store.busy_timeout
                )

            made = [submit(read) for read in reads]
            given = [
                cast_frame(future.result().slice(1), schema)
                for future, (_, _, schema) in zip(made[:needs], reads, strict=False)
            ]
            more = list(then(given))
            made += [submit(read) for read in more]
            frames = [future.result() for future in made[needs:]]
        if watch.version() != before:
            del frames, given
            return _adbc_together(path, reads, needs, then, store.busy_timeout)
    every = [*reads, *more][needs:]
    return [
        *given,
        *(
            cast_frame(frame.slice(1), schema)
            for frame, (_, _, schema) in zip(frames, every, strict=True)
        ),
    ]


def read_together(
    store: Store, reads: Sequence[Read], needs: int = 0, then: Then | None = None
) -> list[pl.DataFrame]:
    """The frames of several reads (as `read_frame`), in their order, one after the other in
    one transaction (one state of the store, never read twice); with `then`, followed by
    those of the reads it makes of the frames of the first `needs` (`read_frames_then`)."""
    path = store.arrow_file
    if path is None:
        return _read_together(store, reads, needs, then)
    with store.arrow_turn():
        return _adbc_together(path, reads, needs, then, store.busy_timeout)


def _adbc_together(
    path: str, reads: Sequence[Read], needs: int, then: Then | None, busy_timeout: float
) -> list[pl.DataFrame]:
    import adbc_driver_manager as adbc

    with _adbc_connection(path, busy_timeout) as connection:
        _adbc_update(adbc, connection, "BEGIN")
        frames = [_adbc_query(adbc, connection, read) for read in reads]
        if then is not None:
            frames += [_adbc_query(adbc, connection, read) for read in then(frames[:needs])]
        _adbc_update(adbc, connection, "COMMIT")
    return frames


def _adbc_query(adbc: Any, connection: Any, read: Read) -> pl.DataFrame:
    """One read on an open ADBC connection, as a frame of its schema."""
    query, params, schema = read
    return cast_frame(
        _adbc_result(adbc, connection, typed_query(query, schema).format(*_literals(params))).slice(
            1
        ),
        schema,
    )


def _read_together(
    store: Store, reads: Sequence[Read], needs: int = 0, then: Then | None = None
) -> list[pl.DataFrame]:
    """The frames of `reads` (and of those `then` makes, see `read_frames_then`) through
    SQLAlchemy, in one transaction that sees one state."""
    from sqlalchemy import text

    frames: list[pl.DataFrame] = []
    with store.reading(one_state=True) as conn:

        def read_all(some: Sequence[Read]) -> None:
            for query, params, schema in some:
                names = [f"p{i}" for i in range(len(params))]
                sql = query.format(*[f":{name}" for name in names])
                rows = conn.execute(text(sql), dict(zip(names, params, strict=True))).all()
                frames.append(frame_of(rows, schema))

        read_all(reads)
        if then is not None:
            read_all(then(frames[:needs]))
    return frames


# The two below are the loads' too (`store.loading`): kept here, where no SQLAlchemy is loaded.


def busy_timeout_pragma(seconds: float) -> str:
    """The statement that makes an SQLite connection wait up to `seconds` for a lock (ADBC's
    driver has no option of its own for it)."""
    return f"PRAGMA busy_timeout={round(seconds * 1000)}"


def typed_query(sql: str, schema: Mapping[str, Any]) -> str:
    """`sql` (no ORDER BY, no LIMIT) behind a first row of one value of each column's type.

    ADBC's SQLite driver takes a column's type from the first rows it reads: a column whose
    first thousand values are missing becomes integers, and a real number later fails the
    whole query. The extra row, which the caller drops, fixes each type from the start.
    """
    values = ", ".join(
        f'{_TYPED_VALUE[_kind(dtype)]} AS "{name}"' for name, dtype in schema.items()
    )
    return f"SELECT {values} UNION ALL {sql}"


def _kind(dtype: Any) -> str:
    if dtype.is_float():
        return "float"
    if dtype.is_integer() or dtype == pl.Boolean:
        return "integer"
    return "text"  # text, and dates (SQLite keeps them as ISO text)


_TYPED_VALUE = {"float": "0.5", "integer": "0", "text": "''"}


def frame_of(rows: Sequence[Sequence[Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    """Rows (tuples in the schema's column order) as a frame of `schema`."""
    names = list(schema)
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    if frame.is_empty():
        return pl.DataFrame(schema=dict(schema))
    return cast_frame(frame, schema)


def cast_frame(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """`frame` with the columns of `schema`, cast to its types (ISO text read as dates)."""
    if frame.is_empty() or frame.width == 0:
        return pl.DataFrame(schema=dict(schema))
    if list(frame.schema.items()) == list(schema.items()):
        return frame  # already so (rows read through SQLAlchemy): no pass over the frame
    casts = []
    dates = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if dtype == pl.Date and frame.schema[name] == pl.String:
            dates.append(name)
        else:
            casts.append(column.cast(dtype))
    if dates:
        # Dates as SQLite keeps them (ISO text): parsed with the format given, ten times
        # faster than with one inferred from the values; any other text is parsed as before.
        try:
            frame = frame.with_columns(pl.col(dates).str.to_date(ISO_DATE))
        except pl.exceptions.PolarsError:
            frame = frame.with_columns(pl.col(dates).str.to_date())
    return frame.with_columns(casts).select(list(schema))


ISO_DATE = "%Y-%m-%d"


def _adbc_frame(
    path: str, query: str, params: Sequence[object], busy_timeout: float
) -> pl.DataFrame:
    """A query's result as Arrow straight into Polars (no row objects, no pyarrow)."""
    return _adbc_frames(path, [(query, params)], busy_timeout)[0]


def read_in_turn(store: Store, read: Read) -> pl.DataFrame:
    """A read (as `read_frame`) on an SQLite file through ADBC, by the thread that holds the
    store's `arrow_turn` (in a `read_frames_then`'s `then`), on a connection of its own."""
    assert store.arrow_file is not None
    query, params, schema = read
    frame = _adbc_frame(store.arrow_file, typed_query(query, schema), params, store.busy_timeout)
    return cast_frame(frame.slice(1), schema)


def _literals(params: Sequence[object]) -> list[str]:
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
    return literals


def _adbc_frames(
    path: str, queries: Sequence[tuple[str, Sequence[object]]], busy_timeout: float
) -> list[pl.DataFrame]:
    """The results of `queries` (with their parameters) on one connection, in one
    transaction when there are several, as Arrow straight into Polars."""
    import adbc_driver_manager as adbc

    texts = [query.format(*_literals(params)) for query, params in queries]
    try:
        with _adbc_connection(path, busy_timeout) as connection:
            together = len(texts) > 1
            if together:
                _adbc_update(adbc, connection, "BEGIN")
            frames = [_adbc_result(adbc, connection, sql) for sql in texts]
            if together:
                _adbc_update(adbc, connection, "COMMIT")
            return frames
    except Exception as exc:
        # A page of the file found damaged only now (the store opened, its schema read).
        damaged = damaged_reason(exc)
        if damaged is None:
            raise
        raise damaged_store(f"sqlite:///{path}", damaged) from None


@contextlib.contextmanager
def _adbc_connection(path: str, busy_timeout: float) -> Iterator[Any]:
    """An ADBC connection to the SQLite file `path`, closed after."""
    # Imported here: only bulk reads need them. The low-level API hands over an Arrow stream
    # that Polars reads through the Arrow PyCapsule interface.
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    database = adbc_driver_sqlite.connect(path)
    try:
        connection = adbc.AdbcConnection(database)
        try:
            # A read is not blocked by a write, but can wait for a moment's lock (a WAL
            # checkpoint or recovery by another connection).
            _adbc_update(adbc, connection, busy_timeout_pragma(busy_timeout))
            yield connection
        finally:
            connection.close()
    finally:
        database.close()


def _adbc_result(adbc: Any, connection: Any, sql: str) -> pl.DataFrame:
    """The rows of a query on an open ADBC connection, as Arrow straight into Polars."""
    statement = adbc.AdbcStatement(connection)
    try:
        # Large batches: the driver's default (1,024 rows) leaves a frame of a hundred
        # thousand rows in a hundred pieces, which every later operation goes over.
        statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        statement.set_sql_query(sql)
        stream, _ = statement.execute_query()
        return pl.DataFrame(stream)
    finally:
        statement.close()


def _adbc_update(adbc: Any, connection: Any, sql: str) -> None:
    """Run a statement that returns no rows on an ADBC connection."""
    statement = adbc.AdbcStatement(connection)
    try:
        statement.set_sql_query(sql)
        statement.execute_update()
    finally:
        statement.close()


class _Watch:
    """An ADBC connection that tells, by SQLite's `PRAGMA data_version`, whether another
    connection committed a write since it last looked."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    def __enter__(self) -> _Watch:
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite

        self._adbc = adbc
        self._database = adbc_driver_sqlite.connect(self.path)
        try:
            self._connection = adbc.AdbcConnection(self._database)
            # Its reads of the data version wait for a moment's lock as the reads it watches
            # do (a WAL recovery by another connection): without a busy timeout, SQLite
            # answers "database is locked" at once.
            _adbc_update(adbc, self._connection, busy_timeout_pragma(self.busy_timeout))
        except BaseException:
            if hasattr(self, "_connection"):
                self._connection.close()
            self._database.close()
            raise
        return self

    def version(self) -> int:
        """SQLite's data version as this connection sees it now."""
        statement = self._adbc.AdbcStatement(self._connection)
        try:
            statement.set_sql_query("PRAGMA data_version")
            stream, _ = statement.execute_query()
            return int(pl.DataFrame(stream).item())
        finally:
            statement.close()

    def __exit__(self, *_: object) -> None:
        try:
            self._connection.close()
        finally:
            self._database.close()
