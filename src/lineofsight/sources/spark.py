"""Spark sources: a KPI's Spark SQL query run by PySpark where the facts live, on `local[*]`,
a cluster's master URL or a Spark Connect server (`sc://host:15002`).

Spark scans and groups the facts; what comes back is period-level rows, read through Arrow
into a Polars frame. `:since` is bound with Spark SQL's own named parameters
(`spark.sql(query, args=...)`), never pasted into the text, so a query in standard SQL runs
unchanged on a SQL source (DuckDB, PostgreSQL) and on a Spark source. The query reads the
tables of the cluster's catalog, or files by path (``from parquet.`/lake/orders` ``).

The query runs on a worker thread; when `timeout` runs out its Spark jobs are cancelled and
the refresh fails with a one-line reason, as every failure does (see `SourceError`). The
session is the process's (see `spark_session`): Spark starts once, at the first Spark source.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from lineofsight.errors import SourceError
from lineofsight.sources import spark_session
from lineofsight.sources.secrets import resolve, scrub, secret_values
from lineofsight.sources.sql import MAX_ROWS, split_parts

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

GRACE = 10.0  # seconds a cancelled query may take to stop before the refresh gives up on it
REASON_LIMIT = 300


def fetch(
    settings: Mapping[str, Any], query: str, params: Mapping[str, Any], *, timeout: float
) -> pl.DataFrame:
    """The rows of `query` on the source's Spark (see the module's docstring)."""
    written = settings.get("master")
    master = resolve(str(written)) if written else spark_session.LOCAL
    secrets = secret_values(settings)
    try:
        spark = spark_session.session(master)
    except SourceError as exc:
        raise SourceError(exc.kind, scrub(exc.message, secrets)) from None
    run = _Run(spark, master, query, dict(params), timeout, secrets)
    worker = threading.Thread(target=run.work, name="los-spark-query", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        run.cancel()
        worker.join(GRACE)
        raise SourceError("timeout", f"the query ran longer than {timeout:g} s and was stopped")
    if run.error is not None:
        raise run.error
    assert run.table is not None
    return frame_of_arrow(run.table)


def fetch_parts(
    settings: Mapping[str, Any],
    query: str,
    params: Mapping[str, Any],
    *,
    timeout: float,
    count: int,
) -> list[pl.DataFrame]:
    """The rows of a combined statement (`combined.combine`) of `count` queries, each
    query's on its own: one Spark job for many KPIs instead of one each."""
    return split_parts(fetch(settings, query, params, timeout=timeout), count)


class _Run:
    """One query on a worker thread: its Arrow table or its error, and a way to cancel it."""

    def __init__(
        self,
        spark: SparkSession,
        master: str,
        query: str,
        params: dict[str, Any],
        timeout: float,
        secrets: list[str],
    ) -> None:
        self.spark = spark
        self.master = master
        self.query = query
        self.params = params
        self.timeout = timeout
        self.secrets = secrets
        self.tag = f"lineofsight-{uuid.uuid4().hex}"
        self.table: Any = None  # a pyarrow.Table
        self.error: SourceError | None = None
        self.cancelled = threading.Event()

    def work(self) -> None:
        connect = spark_session.is_connect(self.master)
        try:
            # Jobs started by this thread carry the tag (Connect) or group (classic) that
            # `cancel` stops.
            if connect:
                self.spark.addTag(self.tag)
            else:
                self.spark.sparkContext.setJobGroup(
                    self.tag, "Line of Sight refresh", interruptOnCancel=True
                )
            frame = self.spark.sql(self.query, args=self.params)
            # A query that forgot its GROUP BY would pull every fact into this process.
            self.table = frame.limit(MAX_ROWS + 1).toArrow()
        except Exception as exc:
            self.error = self._failure(exc)
        finally:
            if connect:
                _quietly(self.spark.removeTag, self.tag)
            else:
                _quietly(self.spark.sparkContext.setLocalProperty, "spark.jobGroup.id", None)

    def cancel(self) -> None:
        """Stop the query's Spark jobs (the time is up)."""
        self.cancelled.set()
        if spark_session.is_connect(self.master):
            _quietly(self.spark.interruptTag, self.tag)
        else:
            _quietly(self.spark.sparkContext.cancelJobGroup, self.tag)

    def _failure(self, exc: BaseException) -> SourceError:
        if self.cancelled.is_set():
            return SourceError(
                "timeout", f"the query ran longer than {self.timeout:g} s and was stopped"
            )
        reason = reason_of(exc)
        if _unreachable(exc):
            spark_session.forget(self.master)
            message = f"cannot reach Spark at {self.master}: {reason}"
            return SourceError("unreachable", scrub(message, self.secrets))
        return SourceError("query", scrub(f"the query failed: {reason}", self.secrets))


def reason_of(exc: BaseException) -> str:
    """A Spark error in one line: its condition and first sentence, without the stack, the
    plan or the SQL state (`[TABLE_OR_VIEW_NOT_FOUND] The table or view `x` cannot be
    found.`)."""
    message = exc.getMessage() if hasattr(exc, "getMessage") else str(exc)
    grpc = re.search(r'details = "([^"]*)"', str(message))
    if grpc is not None:  # Spark Connect: the gRPC status's own words
        message = grpc.group(1)
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0]
    if first.startswith("An error occurred while calling") and len(lines) > 1:
        # py4j's wrapper: the Java exception's own message is on the next line.
        first = re.sub(r"^:?\s*(?:[\w$]+\.)*[\w$]*(?:Exception|Error):\s*", "", lines[1])
    for cut in (" SQLSTATE:", "; line ", "\tat "):
        if cut in first:
            first = first[: first.index(cut)]
    first = first.strip()
    if len(first) > REASON_LIMIT:
        first = first[: REASON_LIMIT - 1] + "…"
    return first or type(exc).__name__


def _unreachable(exc: BaseException) -> bool:
    """Whether the session itself is gone (a JVM that died, a Connect server not there),
    rather than the query being wrong."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "Py4JNetworkError" in names or "ConnectionError" in names:
        return True
    if "SparkConnectGrpcException" in names:
        return "UNAVAILABLE" in str(exc) or "failed to connect" in str(exc).lower()
    return False


def frame_of_arrow(table: Any) -> pl.DataFrame:
    """Spark's result as the refresh reads it: lower-case column names, decimals as floats,
    timestamps as UTC wall-clock times (the session's zone is UTC)."""
    names = [str(name).lower() for name in table.column_names]
    if len(set(names)) != len(names):
        raise SourceError("query", f"the query returns a column twice: {', '.join(names)}")
    if table.num_rows > MAX_ROWS:
        raise SourceError(
            "query",
            f"the query returned more than {MAX_ROWS:,} rows: group the facts by period in "
            "the query",
        )
    frame = pl.from_arrow(table.rename_columns(names))
    assert isinstance(frame, pl.DataFrame)
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            casts.append(pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    return frame.with_columns(casts) if casts else frame


def _quietly(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except Exception:  # a session already stopped has nothing left to tidy
        return
