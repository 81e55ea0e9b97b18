"""SQL sources: a KPI's query run on any SQLAlchemy URL (PostgreSQL, DuckDB, SQLite, ...).

The database does the scanning and grouping; what comes back is period-level rows, read into
a Polars frame. `:since` and the other parameters are bound, never pasted into the text.

Time is bounded twice: on PostgreSQL the server's own `statement_timeout` (and a connect
timeout), and everywhere a bound in Python: the query runs on a worker thread, and when the
time is up the driver's connection is interrupted (SQLite, DuckDB) or cancelled (PostgreSQL)
and the refresh fails with a one-line reason. Every message is scrubbed of the source's
secrets (see `secrets.scrub`).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool, QueuePool

from lineofsight.errors import SourceError
from lineofsight.sources.secrets import resolve, scrub, secret_values

MAX_ROWS = 2_000_000  # period-level rows; more means the query returns facts, not periods
FETCH_ROWS = 10_000
# Seconds past the timeout before the Python bound interrupts the query (a server's own
# statement timeout, set to the same time, acts first), and then waits for the driver to stop.
MARGIN = 1.0
GRACE = 5.0
# PostgreSQL's "query_canceled": its statement_timeout, or our cancel.
CANCELLED = "57014"


# The engines of the databases queried inside `shared_connections`, by URL.
_SHARED: contextvars.ContextVar[dict[str, Engine] | None] = contextvars.ContextVar(
    "los_source_engines", default=None
)


@contextlib.contextmanager
def shared_connections() -> Iterator[None]:
    """Within the block, the queries on one database share its connections (a refresh of a
    source of a thousand KPIs connects once, not a thousand times); closed at the end, so
    that nothing stays connected (a DuckDB file is not held open) between refreshes."""
    engines: dict[str, Engine] = {}
    token = _SHARED.set(engines)
    try:
        yield
    finally:
        _SHARED.reset(token)
        for engine in engines.values():
            engine.dispose()


def fetch(
    settings: Mapping[str, Any], query: str, params: Mapping[str, Any], *, timeout: float
) -> pl.DataFrame:
    """The rows of `query` on the source's `url` (see the module's docstring)."""
    url_text = resolve(str(settings.get("url") or ""))
    secrets = secret_values(settings)
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise SourceError(
            "setup", "url is not a database URL (dialect+driver://user@host/database)"
        ) from None
    shared = _SHARED.get()
    engine = shared.get(url_text) if shared is not None else None
    run = _Run(url, query, _bound(url, params), timeout, secrets, engine)
    worker = threading.Thread(target=run.work, name="los-source-query", daemon=True)
    worker.start()
    worker.join(timeout + MARGIN)
    if worker.is_alive():
        run.interrupt()
        worker.join(GRACE)
    if shared is not None and run.engine is not None:
        shared[url_text] = run.engine  # closed with the others at the end of the block
    if worker.is_alive():
        raise SourceError("timeout", f"the query ran longer than {timeout:g} s and was stopped")
    if run.error is not None:
        raise run.error
    assert run.frame is not None
    return run.frame


def _bound(url: URL, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the driver takes them: SQLite keeps dates as ISO text."""
    if url.get_backend_name() != "sqlite":
        return dict(params)
    return {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in params.items()
    }


class _Run:
    """One query on a worker thread: its result or its error, and a way to stop it."""

    def __init__(
        self,
        url: URL,
        query: str,
        params: dict[str, Any],
        timeout: float,
        secrets: list[str],
        engine: Engine | None = None,
    ) -> None:
        self.engine = engine  # a shared one (kept open), else one of its own (closed after)
        self.shared = _SHARED.get() is not None
        self.url = url
        self.query = query
        self.params = params
        self.timeout = timeout
        self.secrets = secrets
        self.frame: pl.DataFrame | None = None
        self.error: SourceError | None = None
        self.driver: Any = None
        self.stage = "connect"
        self.timed_out = threading.Event()

    def work(self) -> None:
        try:
            self.frame = self._fetch()
        except SourceError as exc:
            self.error = exc
        except NoSuchModuleError:
            self.error = SourceError(
                "setup",
                f"no SQLAlchemy dialect for '{self.url.drivername}' is installed here",
            )
        except DBAPIError as exc:
            self.error = self._failure(exc.orig if exc.orig is not None else exc)
        except SQLAlchemyError as exc:
            self.error = self._failure(exc)
        except Exception as exc:  # a driver's own error type, outside the DB-API's
            self.error = self._failure(exc)

    def _failure(self, exc: BaseException) -> SourceError:
        message = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", self.secrets)
        message = message or type(exc).__name__
        if self.timed_out.is_set() or getattr(exc, "sqlstate", None) == CANCELLED:
            return SourceError(
                "timeout", f"the query ran longer than {self.timeout:g} s and was stopped"
            )
        if self.stage == "connect":
            return SourceError("unreachable", f"cannot connect: {message}")
        return SourceError("query", f"the query failed: {message}")

    def _fetch(self) -> pl.DataFrame:
        backend = self.url.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend == "postgresql":
            connect_args["connect_timeout"] = max(1, int(min(self.timeout, 60)))
        engine = self.engine
        if engine is None:
            pool: dict[str, Any] = (
                {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 4}
                if self.shared
                else {"poolclass": NullPool}
            )
            engine = create_engine(self.url, connect_args=connect_args, **pool)
            self.engine = engine
        try:
            with engine.connect() as conn:
                self.driver = conn.connection.driver_connection
                self.stage = "query"
                if backend == "postgresql":
                    conn.exec_driver_sql(f"SET statement_timeout = {int(self.timeout * 1000)}")
                elif backend == "duckdb":  # its progress bar would draw on the terminal
                    conn.exec_driver_sql("SET enable_progress_bar = false")
                result = conn.execute(text(self.query), self.params)
                if not result.returns_rows:
                    raise SourceError("query", "the query returned no rows: it must be a SELECT")
                names = [str(name).lower() for name in list(result.keys())]
                rows: list[Any] = []
                while chunk := result.fetchmany(FETCH_ROWS):
                    rows.extend(chunk)
                    if len(rows) > MAX_ROWS:
                        raise SourceError(
                            "query",
                            f"the query returned more than {MAX_ROWS:,} rows: group the facts "
                            "by period in the query",
                        )
        finally:
            if not self.shared:
                engine.dispose()
        return frame_of(names, rows)

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
