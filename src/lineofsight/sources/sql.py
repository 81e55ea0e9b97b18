"""SQL sources: a KPI's query run on any SQLAlchemy URL (PostgreSQL, DuckDB, SQLite, ...).

The database does the scanning and grouping; what comes back is period-level rows, read into
a Polars frame (from DuckDB as Arrow columns, from the others row by row; decimals as floats).
`:since` and the other parameters are bound, never pasted into the text.

A DuckDB source reads the tables of its own file only: the connection's external access
(other files, ATTACH, COPY, extensions) is switched off before any query runs.

Time is bounded twice: on PostgreSQL the server's own `statement_timeout` (and a connect
timeout), and everywhere a bound in Python: the queries run on one worker thread per refresh
(per `shared_connections` block), and when a query's time is up the driver's connection is
interrupted (SQLite, DuckDB) or cancelled (PostgreSQL) and the refresh fails with a one-line
reason. Every message is scrubbed of the source's secrets (see `secrets.scrub`).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool

from lineofsight.errors import SourceError
from lineofsight.extras import install_hint
from lineofsight.sources.combined import TAG
from lineofsight.sources.secrets import resolve, scrub, secret_values

MAX_ROWS = 2_000_000  # period-level rows; more means the query returns facts, not periods
FETCH_ROWS = 10_000
# Seconds past the timeout before the Python bound interrupts the query (a server's own
# statement timeout, set to the same time, acts first), and then waits for the driver to stop.
MARGIN = 1.0
GRACE = 5.0
# PostgreSQL's "query_canceled": its statement_timeout, or our cancel.
CANCELLED = "57014"
WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})
# The kinds of source Line of Sight reads (as SPEC section 7 and the README list them).
KINDS_READ = (
    "Line of Sight reads sql sources (url: a SQLAlchemy database URL such as "
    "postgresql://host/db), spark sources and file sources (path: a CSV or XLSX file), "
    "not web pages or HTTP/JSON APIs"
)


class _Worker:
    """The thread a block's queries run on, one after another: one thread per refresh, not
    one per query. A query that does not stop when interrupted leaves its worker behind
    (the next query gets a new one)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="los-source-query", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            job()

    def run(self, job: Callable[[], None], wait: float) -> bool:
        """Run `job` on the worker; whether it finished within `wait` seconds."""
        done = threading.Event()

        def step() -> None:
            try:
                job()
            finally:
                done.set()

        self.jobs.put(step)
        return done.wait(wait)

    def stop(self) -> None:
        self.jobs.put(None)


class _Batch:
    """The engines, open connections and worker of a `shared_connections` block."""

    def __init__(self) -> None:
        self.engines: dict[str, Engine] = {}
        self.held: dict[str, _Held] = {}  # open connections, used on the worker only
        self.worker: _Worker | None = None

    def close(self) -> None:
        """Close the connections on the worker's thread (where SQLite wants them closed),
        then the engines."""
        worker, held = self.worker, list(self.held.values())
        self.held.clear()
        if worker is not None:
            worker.run(lambda: _close_all(held), GRACE)
            worker.stop()
        for engine in self.engines.values():
            engine.dispose()


class _Held:
    """One open connection of a block and what was set on it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.driver: Any = conn.connection.driver_connection

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection already broken has nothing to close
            self.conn.close()


def _close_all(held: list[_Held]) -> None:
    for one in held:
        one.close()


# The block the queries of a refresh share their connections in.
_SHARED: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar(
    "los_source_engines", default=None
)


@contextlib.contextmanager
def shared_connections() -> Iterator[None]:
    """Within the block, the queries on one database share one connection and one worker
    thread (a refresh of a source of a thousand KPIs connects once, not a thousand times);
    closed at the end, so that nothing stays connected (a DuckDB file is not held open)
    between refreshes."""
    if _SHARED.get() is not None:  # already inside one: share it
        yield
        return
    batch = _Batch()
    token = _SHARED.set(batch)
    try:
        yield
    finally:
        _SHARED.reset(token)
        batch.close()


def fetch(
    settings: Mapping[str, Any], query: str, params: Mapping[str, Any], *, timeout: float
) -> pl.DataFrame:
    """The rows of `query` on the source's `url` (see the module's docstring)."""
    found = _fetch(settings, query, params, timeout, None)
    assert isinstance(found, pl.DataFrame)
    return found


def fetch_parts(
    settings: Mapping[str, Any],
    query: str,
    params: Mapping[str, Any],
    *,
    timeout: float,
    count: int,
) -> list[pl.DataFrame]:
    """The rows of a combined statement (`combined.combine`) of `count` queries: each
    query's rows, as its own statement would have given them."""
    found = _fetch(settings, query, params, timeout, count)
    assert isinstance(found, list)
    return found


def _fetch(
    settings: Mapping[str, Any],
    query: str,
    params: Mapping[str, Any],
    timeout: float,
    count: int | None,
) -> pl.DataFrame | list[pl.DataFrame]:
    url_text = resolve(str(settings.get("url") or ""))
    secrets = secret_values(settings)
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise SourceError(
            "setup", "url is not a database URL (dialect+driver://user@host/database)"
        ) from None
    except ValueError:
        # SQLAlchemy reads the port as a number: `host:notaport` fails there (its message
        # is Python's int(), and the password stays out of ours).
        raise SourceError(
            "setup", "url's port is not a number (dialect+driver://user@host:port/database)"
        ) from None
    with shared_connections():
        batch = _SHARED.get()
        assert batch is not None
        return _in_batch(batch, url_text, url, query, params, timeout, secrets, count)


# What a database that answered says when it refuses a connection: the credentials (a wrong
# password, an unknown user, a host or user its access rules refuse) and a database it does not
# have. PostgreSQL's server messages, as libpq passes them on (psycopg gives no SQLSTATE for a
# failed connection); anything else is a server that could not be reached.
_REFUSED_CREDENTIALS = re.compile(
    r"password authentication failed|no password supplied|role \S+ does not exist"
    r"|pg_hba\.conf|authentication failed",
    re.IGNORECASE,
)
_UNKNOWN_DATABASE = re.compile(r"database \S+ does not exist", re.IGNORECASE)


def connect_reason(message: str) -> str:
    """The reason of a failed connection, from the driver's message: `secret` when the
    database refused the credentials, `setup` when it has no such database, else
    `unreachable`."""
    if _REFUSED_CREDENTIALS.search(message):
        return "secret"
    if _UNKNOWN_DATABASE.search(message):
        return "setup"
    return "unreachable"


def _missing_file(url: URL) -> str | None:
    """For an SQLite or DuckDB file that does not exist, the message saying so (connecting
    would make an empty database there and give every query "no such table"); else None."""
    backend = url.get_backend_name()
    database = url.database or ""
    if backend not in ("sqlite", "duckdb") or database in ("", ":memory:"):
        return None
    if url.query.get("uri") or database.startswith(("file:", "md:", "motherduck:")):
        return None
    if Path(database).exists():
        return None
    return (
        f"the database file {database} does not exist (a relative path is read from the "
        "current folder)"
    )


def _in_batch(
    batch: _Batch,
    url_text: str,
    url: URL,
    query: str,
    params: Mapping[str, Any],
    timeout: float,
    secrets: list[str],
    count: int | None,
) -> pl.DataFrame | list[pl.DataFrame]:
    run = _Run(batch, url_text, url, query, _bound(url, params), timeout, secrets, count)
    if batch.worker is None:
        batch.worker = _Worker()
    worker = batch.worker
    if not worker.run(run.work, timeout + MARGIN):
        run.interrupt()
        if not run.done.wait(GRACE):  # the driver does not stop: leave it, and its connections
            held = list(batch.held.values())  # closed by it, if it ever ends
            batch.held.clear()
            batch.worker = None
            worker.jobs.put(lambda: _close_all(held))
            worker.stop()
    if not run.done.is_set():
        raise SourceError("timeout", f"the query ran longer than {timeout:g} s and was stopped")
    if run.error is not None:
        raise run.error
    assert run.frame is not None
    return run.frame if count is None else split_parts(run.frame, count)


# The package that installs a driver SQLAlchemy imports by its module's name, where the two
# differ (the others install under the module's own name); DuckDB's comes with an extra.
_DRIVER_PACKAGES = {
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "cx_Oracle": "cx-Oracle",
    "pymssql": "pymssql",
}


def missing_driver(drivername: str, module: str | None) -> str:
    """Why a source whose dialect `drivername` is installed cannot connect: its driver is
    not, and what installs it."""
    if module in (None, "duckdb", "duckdb_engine"):
        install = install_hint("duckdb") if drivername.startswith("duckdb") else None
    else:
        install = f"pip install '{_DRIVER_PACKAGES.get(module, module)}'"
    named = f" (the module {module})" if module else ""
    found = f"the driver for {drivername}{named} is not installed here"
    return f"{found}: {install}" if install else found


def _bound(url: URL, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the driver takes them: SQLite keeps dates as ISO text."""
    if url.get_backend_name() != "sqlite":
        return dict(params)
    return {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in params.items()
    }


class _Run:
    """One query on the block's worker: its result or its error, and a way to stop it."""

    def __init__(
        self,
        batch: _Batch,
        url_text: str,
        url: URL,
        query: str,
        params: dict[str, Any],
        timeout: float,
        secrets: list[str],
        count: int | None = None,
    ) -> None:
        self.batch = batch
        self.count = count  # a combined statement of this many queries (None: one query)
        self.url_text = url_text
        self.url = url
        self.backend = url.get_backend_name()
        self.query = query
        self.params = params
        self.timeout = timeout
        self.secrets = secrets
        # The rows; those of a combined statement on the row-by-row path are kept as one
        # frame per query (a column's values typed within each query, as alone).
        self.frame: pl.DataFrame | list[pl.DataFrame] | None = None
        self.error: SourceError | None = None
        self.driver: Any = None
        self.stage = "connect"
        self.timed_out = threading.Event()
        self.done = threading.Event()

    def work(self) -> None:
        try:
            self.frame = self._fetch()
        except SourceError as exc:
            self.error = exc
        except NoSuchModuleError:
            found = f"no SQLAlchemy dialect for '{self.url.drivername}' is installed here"
            if self.url.drivername in WEB_SCHEMES:
                # A web address, most often: say what a source may be instead.
                found = f"{self.url.drivername}:// is a web address, not a database: {KINDS_READ}"
            install = install_hint("duckdb") if self.url.drivername.startswith("duckdb") else None
            self.error = SourceError("setup", f"{found}: {install}" if install else found)
        except ImportError as exc:  # the dialect is there, its driver (DB-API module) is not
            self.error = SourceError("setup", missing_driver(self.url.drivername, exc.name))
        except DBAPIError as exc:
            failure = self._failure(exc.orig if exc.orig is not None else exc)
            if failure.kind == "unreachable" and isinstance(exc, ProgrammingError):
                # The driver refused an option of the URL without trying to connect.
                said = failure.message.removeprefix("cannot connect: ")
                failure = SourceError("setup", f"the url's options: {said}")
            self.error = failure
        except SQLAlchemyError as exc:
            self.error = self._failure(exc)
        except Exception as exc:  # a driver's own error type, outside the DB-API's
            self.error = self._failure(exc)
        finally:
            self.done.set()

    def _failure(self, exc: BaseException) -> SourceError:
        message = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", self.secrets)
        message = message or type(exc).__name__
        if self.timed_out.is_set() or getattr(exc, "sqlstate", None) == CANCELLED:
            return SourceError(
                "timeout", f"the query ran longer than {self.timeout:g} s and was stopped"
            )
        if self.stage == "connect":
            return SourceError(connect_reason(message), f"cannot connect: {message}")
        return SourceError("query", f"the query failed: {message}")

    def _connection(self) -> _Held:
        """The block's open connection to this database (opened on first use)."""
        held = self.batch.held.get(self.url_text)
        if held is not None:
            return held
        engine = self.batch.engines.get(self.url_text)
        if engine is None:
            connect_args: dict[str, Any] = {}
            if self.backend == "postgresql":
                connect_args["connect_timeout"] = max(1, int(min(self.timeout, 60)))
            engine = create_engine(self.url, connect_args=connect_args, poolclass=NullPool)
            self.batch.engines[self.url_text] = engine
        missing = _missing_file(self.url)  # once its dialect is known to be installed
        if missing is not None:
            raise SourceError("setup", missing)
        held = _Held(engine.connect())
        if self.backend == "duckdb":
            # Its progress bar would draw on the terminal. And a query reads the tables of
            # its database file, never the server's files (`read_csv('/etc/...')`, ATTACH,
            # COPY): external access is switched off for the connection, and locked there.
            for setting in (
                "enable_progress_bar = false",
                "enable_external_access = false",
                "lock_configuration = true",
            ):
                held.conn.exec_driver_sql(f"SET {setting}")
            held.conn.rollback()
        self.batch.held[self.url_text] = held
        return held

    def _fetch(self) -> pl.DataFrame | list[pl.DataFrame]:
        held = self._connection()
        self.driver = held.driver
        self.stage = "query"
        if self.timed_out.is_set():  # the time ran out while connecting
            raise TimeoutError("stopped")
        try:
            if self.backend == "duckdb":
                return self._duckdb_columns(held)
            return self._rows(held)
        except BaseException:
            with contextlib.suppress(Exception):  # a failed query leaves its transaction aborted
                held.conn.rollback()
            raise

    def _duckdb_columns(self, held: _Held) -> pl.DataFrame:
        """DuckDB's result read as Arrow columns, not Python rows."""
        compiled = text(self.query).compile(dialect=held.conn.dialect)
        bound = compiled.construct_params(self.params)
        positions = compiled.positiontup or []
        relation = held.driver.sql(str(compiled), params=[bound[name] for name in positions])
        if relation is None:
            raise SourceError("query", "the query returned no rows: it must be a SELECT")
        names = [str(name).lower() for name in relation.columns]
        if len(set(names)) != len(names):
            raise SourceError("query", f"the query returns a column twice: {', '.join(names)}")
        # Through Arrow's C stream interface: no Python rows, and no pyarrow in memory.
        frame = pl.DataFrame(relation.limit(MAX_ROWS + 1))
        if frame.height > MAX_ROWS:
            raise SourceError("query", _TOO_MANY)
        frame.columns = names
        # DuckDB hands over whole vectors (2,048 rows) however few rows they hold: a
        # thousand small results would keep that room, so they are made to fit.
        frame.shrink_to_fit(in_place=True)
        decimals = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
        return frame.with_columns(pl.col(decimals).cast(pl.Float64)) if decimals else frame

    def _rows(self, held: _Held) -> pl.DataFrame | list[pl.DataFrame]:
        conn = held.conn
        if self.backend == "postgresql":
            conn.exec_driver_sql(f"SET statement_timeout = {int(self.timeout * 1000)}")
        result = conn.execute(text(self.query), self.params)
        if not result.returns_rows:
            raise SourceError("query", "the query returned no rows: it must be a SELECT")
        names = [str(name).lower() for name in list(result.keys())]
        rows: list[Any] = []
        while chunk := result.fetchmany(FETCH_ROWS):
            rows.extend(chunk)
            if len(rows) > MAX_ROWS:
                raise SourceError("query", _TOO_MANY)
        conn.rollback()  # each query reads on its own, as on a fresh connection
        if self.count is None:
            return frame_of(names, rows)
        if not names or names[0] != TAG:
            raise SourceError("query", f"the combined statement gave no {TAG} column")
        by_part: list[list[Any]] = [[] for _ in range(self.count)]
        for row in rows:
            by_part[int(row[0])].append(row[1:])
        return [frame_of(names[1:], part) for part in by_part]

    def interrupt(self) -> None:
        """Stop the running query (the Python bound ran out)."""
        self.timed_out.set()
        driver = self.driver
        for method in ("interrupt", "cancel_safe", "cancel"):
            stop = getattr(driver, method, None)
            if stop is not None:
                # Already finished or closed: nothing is left to stop.
                with contextlib.suppress(Exception):
                    stop()
                return


def split_parts(found: pl.DataFrame | list[pl.DataFrame], count: int) -> list[pl.DataFrame]:
    """A combined statement's rows (a frame with the TAG column), one frame per query."""
    if isinstance(found, list):
        return found
    if TAG not in found.columns:
        raise SourceError("query", f"the combined statement gave no {TAG} column")
    empty = found.clear().drop(TAG)
    parts = [empty] * count
    for key, part in found.partition_by(TAG, as_dict=True).items():
        parts[int(key[0])] = part.drop(TAG)
    return parts


_TOO_MANY = (
    f"the query returned more than {MAX_ROWS:,} rows: group the facts by period in the query"
)


def frame_of(names: list[str], rows: list[Any]) -> pl.DataFrame:
    """Rows as a frame: decimals as floats, a column of mixed kinds as text."""
    if len(set(names)) != len(names):
        raise SourceError("query", f"the query returns a column twice: {', '.join(names)}")
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for row in rows:
        for name, value in zip(names, row, strict=True):
            columns[name].append(float(value) if isinstance(value, decimal.Decimal) else value)
    series = []
    for name, values in columns.items():
        try:
            series.append(pl.Series(name, values, strict=True))
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            series.append(
                pl.Series(name, [None if v is None else str(v) for v in values], pl.String)
            )
    return pl.DataFrame(series)
