"""The Spark sessions of this process: started when a Spark source first runs, kept for the
next ones, stopped when the process exits.

Starting Spark costs seconds (a JVM), so a process keeps its session for the next sources:
one session, as PySpark allows, for the master last used (`local[*]`, a cluster's master URL,
or a Spark Connect server's `sc://` URL, where the session is only a client).

Spark is noisy: its JVM writes its start-up banner and logs to the console, and PySpark logs
query errors as JSON to stderr. Here the JVM's output goes to an unnamed temporary file (read
back only to say why Spark did not start), Spark logs only errors, PySpark's error loggers are
quiet and its warnings about optional libraries are ignored: a user sees the refresh's summary
and, when something fails, its reason in one line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from lineofsight.errors import SourceError
from lineofsight.extras import install_hint, missing

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCAL = "local[*]"
CONNECT_SCHEME = "sc://"
CONNECT_RETRIES = 3
JAVA_MIN = 17  # PySpark 4 runs on Java 17 and 21
JAVA_HINT = "Debian: apt-get install default-jre-headless; `make install` does it, or set JAVA_HOME"
# Settings of a session this process starts. The web UI and its port are of no use to a
# refresh; the console progress bar would draw over the user's terminal; times in UTC, so
# that a timestamp's period does not depend on the machine's zone.
CONF = {
    "spark.app.name": "lineofsight",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    "spark.sql.session.timeZone": "UTC",
}
# On this machine only: a local master listens on the loopback interface, not the network.
LOCAL_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}

_lock = threading.Lock()
_current: _Session | None = None


@dataclass
class _Session:
    master: str
    session: SparkSession
    log: IO[bytes] | None = None  # a classic session's JVM output
    warehouse: str | None = None  # a local session's folder of tables


def is_connect(master: str) -> bool:
    """Whether `master` is a Spark Connect URL (a remote server) rather than a master."""
    return master.startswith(CONNECT_SCHEME)


def session(master: str) -> SparkSession:
    """The process's session for `master`, started on first use (SourceError when Spark
    cannot start here: no pyspark, no Java, a master it cannot reach).

    PySpark holds one session per process, classic or Connect: a source with another master
    stops the one running (sources are read one after another)."""
    global _current
    _quiet_python()
    with _lock:
        if _current is not None and _current.master == master:
            return _current.session
        if not is_connect(master):
            problem = java_problem()
            if problem is not None:  # said before the running session is given up for it
                raise SourceError("setup", problem)
        if _current is not None:
            _stop(_current)
            _current = None
        _current = _connect(master) if is_connect(master) else _start(master)
        return _current.session


def stop() -> None:
    """Stop the session this process started (at exit, and in tests)."""
    global _current
    with _lock:
        if _current is not None:
            _stop(_current)
            _current = None


atexit.register(stop)


def forget(master: str) -> None:
    """Drop the session of `master` after its JVM or server went away: the next query
    starts (or connects) a new one."""
    global _current
    with _lock:
        if _current is not None and _current.master == master:
            _stop(_current)
            _current = None


def java_problem() -> str | None:
    """Why this machine cannot run Spark's JVM (no Java, or one too old), else None."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = "JAVA_HOME names no Java" if home else "Java is not installed"
        return f"{where}: a Spark source needs Java {JAVA_MIN} or newer ({JAVA_HINT})"
    try:
        shown = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Java does not run ({type(exc).__name__}): {JAVA_HINT}"
    major = java_major(shown)
    if major is not None and major < JAVA_MIN:
        return (
            f"Java {major} is too old: a Spark source needs Java {JAVA_MIN} or newer ({JAVA_HINT})"
        )
    return None


def java_major(version_text: str) -> int | None:
    """The major version in `java -version`'s text: 17 for "17.0.15", 8 for "1.8.0_402"."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_text)
    if found is None:
        return None
    first = int(found.group(1))
    return int(found.group(2) or 0) if first == 1 else first


def _pyspark() -> None:
    absent = missing("spark")
    if absent:
        raise SourceError(
            "setup",
            f"Spark sources need the spark extra ({', '.join(absent)} not installed): "
            f"{install_hint('spark')}",
        )


def _start(master: str) -> _Session:
    """A classic session on `master`, its JVM's output kept out of the console."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    local = master.startswith("local")
    conf = SparkConf().setMaster(master)
    for key, value in {**CONF, **(LOCAL_CONF if local else {})}.items():
        conf.set(key, value)
    # A local session's tables are its temporary views: Spark's default warehouse would be a
    # folder left in the user's current directory. A cluster keeps its own.
    warehouse = tempfile.mkdtemp(prefix="lineofsight-spark-") if local else None
    if warehouse is not None:
        conf.set("spark.sql.warehouse.dir", warehouse)
    # Unnamed: no path to leak, gone when the process ends. The JVM writes to it directly, for
    # as long as the session lives (closed when it stops).
    log = tempfile.TemporaryFile(prefix="lineofsight-spark-")  # noqa: SIM115
    try:
        gateway = launch_gateway(  # type: ignore[no-untyped-call]
            conf, popen_kwargs={"stdout": log, "stderr": log}
        )
        context = SparkContext(conf=conf, gateway=gateway)
        context.setLogLevel("ERROR")
        return _Session(master, SparkSession(context), log, warehouse)
    except Exception as exc:
        reason = _start_failure(log, exc)
        log.close()
        if warehouse is not None:
            shutil.rmtree(warehouse, ignore_errors=True)
        raise SourceError(
            "setup" if local else "unreachable",
            f"Spark did not start on {master}: {reason}",
        ) from None


def _start_failure(log: IO[bytes], exc: BaseException) -> str:
    """One line saying why the JVM or the context did not start: the JVM's own error when it
    wrote one, else the exception's first line."""
    with contextlib.suppress(OSError):
        log.flush()
        log.seek(0)
        lines = log.read().decode("utf-8", "replace").splitlines()
        for line in reversed(lines):
            text = line.strip()
            if text.startswith(("Error:", "Exception in thread")) or re.match(
                r"^[\w.$]+(Exception|Error)\b", text
            ):
                return _short(text)
    return _short(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _connect(url: str) -> _Session:
    """A Spark Connect session on `url` (connecting happens at its first query)."""
    from pyspark.sql import SparkSession

    try:
        found = SparkSession.builder.remote(url).getOrCreate()
    except ImportError as exc:
        absent = exc.name or "a Spark Connect package"
        raise SourceError(
            "setup",
            f"Spark Connect needs {absent}, which is not installed: {install_hint('spark')}",
        ) from None
    except Exception as exc:
        raise SourceError("setup", f"not a Spark Connect URL: {_short(str(exc))}") from None
    # The client retries a server it cannot reach for minutes by default; a refresh says so
    # within seconds instead (and is itself retried on its schedule, with back-off).
    with contextlib.suppress(Exception):
        for policy in found.client.get_retry_policies():
            policy.max_retries = CONNECT_RETRIES
    return _Session(url, found)


def _stop(running: _Session) -> None:
    with contextlib.suppress(Exception):  # a JVM or server gone has nothing left to stop
        running.session.stop()
    if running.log is not None:
        with contextlib.suppress(OSError):
            running.log.close()
    if running.warehouse is not None:
        shutil.rmtree(running.warehouse, ignore_errors=True)


def _quiet_python() -> None:
    """PySpark's Python side: no JSON error logs on stderr (the error is raised, and we say
    it in one line), no warnings about optional libraries' versions."""
    _pyspark()
    # PySpark's own logger class: its error loggers take keywords a plain Logger refuses.
    from pyspark.logger import PySparkLogger

    warnings.filterwarnings("ignore", module=r"pyspark(\.|$)")
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True
    logging.getLogger("py4j").setLevel(logging.ERROR)
