"""Open a store: the engine, its settings per database, and migrations to the newest schema.

Writes take turns. Every write transaction takes the store's write lock first (SQLite:
`BEGIN IMMEDIATE`; PostgreSQL: a transaction-level advisory lock), waiting behind another
writer for at most `Store.busy_timeout` seconds, then gives up with StoreBusy having written
nothing. Taking the lock first matters on SQLite: a transaction that has read and then wants
to write while another connection writes is refused at once, without waiting, since waiting
could deadlock; one that asks for the write lock before reading simply queues.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from lineofsight.errors import (
    LineOfSightError,
    Problem,
    StoreBusy,
    StoreDamaged,
    StoreError,
    UsageError,
)

# SQLAlchemy is loaded when a store is first used through it: a command that reads only a
# kept result from an SQLite file (`los status` up to date) reads it with Python's sqlite3
# and starts a tenth of a second sooner.
if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import SQLAlchemyError

# The newest migration; a test checks it is Alembic's head. Knowing it lets a command that only
# reads skip loading Alembic when the store is already up to date.
SCHEMA_REVISION = "0026"
PAGE_SIZE = 16384

BUSY_TIMEOUT_ENV = "LOS_BUSY_TIMEOUT"
# Seconds a write waits for another to finish: a load of 100,000 KPIs (3.3 million values)
# holds the store for about 10 s, so this covers many queued behind each other.
DEFAULT_BUSY_TIMEOUT = 300.0
# The key of the PostgreSQL advisory lock that every write transaction holds ("LOS").
WRITE_LOCK_KEY = 0x4C4F53
# Lock not available (lock_timeout), serialization failure, deadlock detected: another
# transaction was in the way; the same write can succeed when tried again.
BUSY_SQLSTATES = frozenset({"55P03", "40001", "40P01"})
_SQLITE_BUSY = 5
_SQLITE_READONLY = 8
# SQLITE_CORRUPT and SQLITE_NOTADB (with their extended codes).
_SQLITE_DAMAGED = (11, 26)
# A read-only transaction (a standby), a role without the right to write.
READ_ONLY_SQLSTATES = frozenset({"25006", "42501"})
_WRITE = "lineofsight_write"  # execution option: this connection's transaction writes

# What the store's functions read and write through: a connection of `Store.reading()` or
# `Store.transaction()`. Services hand it on (several writes in one transaction) and run no
# SQL on it themselves.
if TYPE_CHECKING:
    StoreConnection: TypeAlias = Connection


def __getattr__(name: str) -> Any:
    """`StoreConnection` and `SQLAlchemyError`, loading SQLAlchemy when first asked for."""
    if name == "StoreConnection":
        from sqlalchemy import Connection

        return Connection
    if name == "SQLAlchemyError":
        from sqlalchemy.exc import SQLAlchemyError

        return SQLAlchemyError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plain_sqlite_file(url: str) -> str | None:
    """The file of an SQLite URL that needs no parsing (`sqlite:///PATH`, no options, nothing
    quoted), else None: such a store is opened without loading SQLAlchemy first."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :]
    if not database or database == ":memory:" or "?" in database or "%" in database:
        return None
    return database


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("lineofsight.store") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain PostgreSQL URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# The options of an SQLite store's URL that its driver reads, with what each takes: another
# would be dropped with a warning (`mode=ro` needs SQLite's own URI form, which the store's
# direct reads of the file do not take), a value the driver cannot read would raise.
_SQLITE_OPTIONS = {
    "timeout": (float, "a number of seconds"),
    "isolation_level": (str, "a text"),
    "detect_types": (int, "a whole number"),
    "check_same_thread": (bool, "true or false"),
    "cached_statements": (int, "a whole number"),
}
_TRUE, _FALSE = ("true", "yes", "on", "y", "t", "1"), ("false", "no", "off", "n", "f", "0")


def sqlite_url_error(url: str) -> StoreError | None:
    """The error of an SQLite store's URL whose options SQLite does not read (`?mode=bogus`:
    its driver would drop it with a warning), said before anything is opened; None for a URL
    without options or of another database."""
    if plain_sqlite_file(url) is not None or not url.startswith("sqlite:") or "?" not in url:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # said on opening
        return None
    wrong = sqlite_option_problem(parsed.query)
    if wrong is None:
        return None
    return StoreError(f"cannot open the store {parsed.render_as_string()}: {wrong}")


def sqlite_option_problem(query: Mapping[str, str | tuple[str, ...]]) -> str | None:
    """What is wrong with the options of an SQLite store's URL, in a sentence; None if
    nothing."""
    unknown = sorted(set(query) - set(_SQLITE_OPTIONS))
    if unknown:
        named = ", ".join(f"'{k}'" for k in unknown)
        them = "them" if len(unknown) > 1 else "it"
        return (
            f"SQLite does not read the option{'s' if len(unknown) > 1 else ''} {named} of a "
            f"store's URL: leave {them} out (it reads {', '.join(_SQLITE_OPTIONS)})"
        )
    for key, given in query.items():
        kind, wanted = _SQLITE_OPTIONS[key]
        values = (given,) if isinstance(given, str) else given
        for value in values:
            if not _reads_as(kind, value):
                return f"the option {key}={value!r} of the URL is not {wanted}"
    return None


def _reads_as(kind: type, value: str) -> bool:
    if kind is bool:
        return value.strip().lower() in (*_TRUE, *_FALSE)
    try:
        kind(value)
    except ValueError:
        return False
    return True


def _masked(url: str) -> str:
    """A URL that could not be read, its password (what lies between `user:` and `@`) hidden."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    return scheme + sep + re.sub(r"([^:@/]*):[^@/]*@", r"\1:***@", rest)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory SQLite)."""
    plain = plain_sqlite_file(url)
    if plain is not None:
        return Path(plain)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # a port that is not a number: said on opening
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def url_without_password(url: str) -> str:
    """The URL with any password taken out (the user name, host and database stay)."""
    if plain_sqlite_file(url) is not None:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _masked(url)
    if parsed.password is None:
        return url
    return parsed._replace(password=None).render_as_string(hide_password=False)


def busy_timeout_setting(name: str, default: float) -> float:
    """Seconds a write may wait for another, from environment variable `name`, else `default`."""
    given = os.environ.get(name, "").strip()
    if not given:
        return default
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        reason = f"{given!r} is not a number of seconds (e.g. 300)"
        raise UsageError(f"{name}: {reason}", [Problem(name, 0, reason)])
    return seconds


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` says that another transaction held a lock this one could not get in time."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    if isinstance(orig, BaseException):
        exc = orig
    code = getattr(exc, "sqlite_errorcode", None)  # Python's sqlite3
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_BUSY  # with its extended codes (BUSY_SNAPSHOT ...)
    if getattr(exc, "sqlstate", None) in BUSY_SQLSTATES:  # psycopg
        return True
    # ADBC's SQLite driver passes on SQLite's message only.
    return type(exc).__module__.startswith("adbc_driver") and "database is locked" in str(exc)


def damaged_reason(exc: BaseException) -> str | None:
    """SQLite's words when `exc` says the store's file is damaged or is not a database at all
    (SQLITE_CORRUPT, SQLITE_NOTADB: a file copied in the middle of a write, a full disk, an
    edit by hand, another file named as the store), else None."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        exc = orig
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return str(exc) if code & 0xFF in _SQLITE_DAMAGED else None
    # ADBC's SQLite driver passes on SQLite's message only.
    if type(exc).__module__.startswith("adbc_driver"):
        text = str(exc)
        for words in ("database disk image is malformed", "file is not a database"):
            if words in text:
                return words
    return None


def damaged_store(url: str, reason: str) -> StoreDamaged:
    """The error of a store whose SQLite file cannot be read (`damaged_reason`)."""
    return StoreDamaged(
        f"the store {url} is not a readable SQLite database ({reason}): restore it from a"
        " backup, or name another store"
    )


def is_read_only(exc: BaseException) -> bool:
    """Whether `exc` says the store may not be written from here: a read-only SQLite file, a
    PostgreSQL standby or a role that may only read."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        exc = orig
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_READONLY
    return getattr(exc, "sqlstate", None) in READ_ONLY_SQLSTATES


def _make_parent(file: str) -> None:
    """Make the folder an SQLite store's file goes in; StoreError naming it and why when it
    cannot be made (a file of that name on the way, a folder that cannot hold one)."""
    folder = Path(file).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file of that name is in the way" if isinstance(exc, FileExistsError) else ""
        raise StoreError(
            f"cannot make the folder {folder} for the store: {reason or exc.strerror or exc}"
        ) from None


class Store:
    """An open store: an engine whose schema is at the newest migration.

    `busy_timeout`: seconds a write waits for another before StoreBusy; default
    $LOS_BUSY_TIMEOUT, else DEFAULT_BUSY_TIMEOUT. `create` off: the folder of an SQLite file
    is not made when it is missing (a store that may have been deleted meanwhile).
    """

    # Whether bulk reads and loads of an SQLite file may go through ADBC's own copy of SQLite.
    # A long-running process that also keeps SQLAlchemy connections open on the file (the web
    # server) turns it off: two SQLite libraries in one process do not see each other's file
    # locks, so closing one's file handle can drop the other's locks in the middle of a write.
    arrow_sqlite = True

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        busy_timeout: float | None = None,
        create: bool = True,
    ) -> None:
        self.url = normalise_url(url)
        if busy_timeout is None:
            busy_timeout = busy_timeout_setting(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT)
        self.busy_timeout = busy_timeout
        self._create = create  # whether an SQLite file's folder is made when missing
        self._engine: Engine | None = None
        self._turns: _Turns | None = None  # on an SQLite file: see `_Turns`
        # An SQLite file named plainly: its engine is made when first used (see `engine`).
        self.sqlite_file = plain_sqlite_file(self.url)
        if self.sqlite_file is not None:
            self.dialect = "sqlite"
            if create:  # else a folder just deleted is not made again
                _make_parent(self.sqlite_file)
            self._turns = _Turns.of(self.sqlite_file, self)
        else:
            self._engine = self._create_engine()
        if migrate:
            self.migrate()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (made when first asked for, on a plain SQLite file)."""
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise StoreError(f"not a database URL: {_masked(self.url)!r}") from None
        except ValueError:  # SQLAlchemy reads the port as a number, and an IPv6 host
            raise StoreError(
                f"not a database URL: {_masked(self.url)!r}: its host or port cannot be read"
                " (dialect://user:password@host:port/database, the port a number)"
            ) from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            error = sqlite_url_error(self.url)
            if error is not None:
                raise error
            kwargs["connect_args"] = {"timeout": self.busy_timeout}  # SQLite's busy timeout
            # Connections are kept for every thread of a server's pool (40 by default): each
            # request reads its session and the store's revision, and a connection opened
            # past the pool (its pragmas, the WAL set-up) and closed again costs more than
            # the reads themselves.
            kwargs["pool_size"] = 40
            if parsed.database not in (None, "", ":memory:"):
                if self._create:
                    _make_parent(parsed.database)
                if self._turns is None:
                    self._turns = _Turns.of(parsed.database, self)
        try:
            engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"cannot use {parsed.render_as_string(hide_password=True)}: {exc}"
            ) from None
        if self.dialect == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            event.listen(engine, "begin", _postgresql_begin(self.busy_timeout))
        return engine

    @contextmanager
    def plain_reading(self) -> Iterator[sqlite3.Connection | None]:
        """A read transaction through Python's sqlite3 on a plain SQLite file (one snapshot
        of the store; SQLAlchemy not loaded), or None for another store: for the few reads
        of a command that can finish without SQLAlchemy."""
        if self.sqlite_file is None:
            yield None
            return
        started = time.monotonic()
        with self._sqlite3_turn():
            conn = sqlite3.connect(
                self.sqlite_file, timeout=self.busy_timeout, isolation_level=None
            )
            try:
                conn.execute("BEGIN")
                yield conn
            except sqlite3.Error as exc:
                if is_busy(exc):
                    raise self.busy_since(started) from None
                damaged = damaged_reason(exc)
                if damaged is not None:
                    raise damaged_store(self.display_url, damaged) from None
                raise StoreError(f"store error on {self.display_url}: {exc}") from None
            finally:
                conn.close()

    def migrate(self) -> None:
        """Bring the schema to the newest migration, in one transaction."""
        if self._current_revision() == SCHEMA_REVISION:
            return
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = _alembic_config(self.url)
        started = time.monotonic()
        try:
            with self._writing() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                head = ScriptDirectory.from_config(cfg).get_current_head()
                if current == head:
                    return
                known = {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}
                if current is not None and current not in known:
                    raise StoreError(
                        f"the store is at schema {current}, newer than this release knows: "
                        "upgrade Line of Sight"
                    )
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except Exception as exc:
            error = self._store_error(exc, f"cannot open the store {self.display_url}", started)
            if error is None:
                raise
            raise error from None

    def _current_revision(self) -> str | None:
        if self.sqlite_file is not None and self._engine is None:
            try:
                with self.plain_reading() as plain:
                    assert plain is not None
                    found = plain.execute("SELECT version_num FROM alembic_version").fetchone()
            except (StoreBusy, StoreDamaged):
                raise
            except (StoreError, sqlite3.Error):
                return None  # no table yet: a new store
            return None if found is None else str(found[0])
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        try:
            with self._sqlite3_turn(), self.engine.connect() as conn:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except (OperationalError, SQLAlchemyError):
            return None  # no table yet: a new store
        return None if row is None else str(row[0])

    @property
    def display_url(self) -> str:
        if self.sqlite_file is not None:
            return self.url
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def arrow_file(self) -> str | None:
        """The SQLite file that bulk reads and loads may open through ADBC, if any."""
        if self.dialect != "sqlite" or not self.arrow_sqlite:
            return None
        if self.sqlite_file is not None:
            return self.sqlite_file
        from sqlalchemy.engine import make_url

        database = make_url(self.url).database
        return database if database and database != ":memory:" else None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: everything in the block is written, or nothing is.

        It holds the store's write lock from its start; StoreBusy when another write keeps it
        for longer than `busy_timeout`.
        """
        started = time.monotonic()
        try:
            with self._writing() as conn:
                yield conn
        except Exception as exc:
            error = self._store_error(exc, f"store error on {self.display_url}", started)
            if error is None:
                raise
            raise error from None

    @contextmanager
    def reading(self, *, one_state: bool = False) -> Iterator[Connection]:
        """A connection that reads (one snapshot of the store on SQLite); writes do not block it.
        `one_state`: one snapshot on PostgreSQL too (REPEATABLE READ: every statement sees
        the store as the first one did, not a write committed between them)."""
        started = time.monotonic()
        try:
            with self._sqlite3_turn(), self.engine.connect() as conn:
                if one_state and self.dialect == "postgresql":
                    conn.execution_options(isolation_level="REPEATABLE READ")
                yield conn
        except Exception as exc:
            # A server that cannot be reached (stopped, a closed port): StoreError, as for
            # a write, so that every caller tells it in one line.
            error = self._store_error(exc, f"store error on {self.display_url}", started)
            if error is None:
                raise
            raise error from None

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._sqlite3_turn(), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def busy_since(self, started: float) -> StoreBusy:
        """StoreBusy for a transaction begun at `started` (`time.monotonic()`): how long it
        really waited, and the wait it was allowed."""
        return StoreBusy(time.monotonic() - started, self.busy_timeout)

    def _store_error(self, exc: Exception, context: str, started: float) -> StoreError | None:
        """What to raise instead of `exc`, which ended a write begun at `started`: StoreBusy
        when another write was in the way, StoreError for another database error; None to
        let `exc` through."""
        if isinstance(exc, LineOfSightError):
            return None
        if is_busy(exc):
            return self.busy_since(started)
        damaged = damaged_reason(exc)
        if damaged is not None:
            return damaged_store(self.display_url, damaged)
        from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

        # A driver's refusal with no statement: an option of the URL it will not take (such
        # as `connect_timeout=abc`), before any connection (a commit's refusal is not one).
        if isinstance(exc, OperationalError) or (
            isinstance(exc, (ProgrammingError, InterfaceError)) and exc.statement is None
        ):
            return StoreError(f"{context}: {exc.orig}")
        return None

    def _sqlite3_turn(self) -> contextlib.AbstractContextManager[None]:
        """Hold off while this process has the file open through ADBC's SQLite (`_Turns`)."""
        return contextlib.nullcontext() if self._turns is None else self._turns.sqlite3()

    @contextmanager
    def arrow_turn(self) -> Iterator[None]:
        """The block in which this thread may open the store's file through ADBC's copy of
        SQLite: no other thread of the process has a connection of Python's sqlite3 to it
        meanwhile, and the idle ones of every store of the process on the file are closed."""
        if self._turns is None:
            yield
            return
        with self._turns.adbc():
            yield

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class _Turns:
    """Which of the two copies of SQLite in this process may have one SQLite file open.

    Python's sqlite3 (SQLAlchemy's and `plain_reading`'s connections) and ADBC's driver each
    bring their own SQLite library. SQLite's locks are POSIX file locks, which belong to the
    process: the two libraries never see each other's locks, so beside each other in one
    process two writers both get the write lock and write over each other's log frames, a
    checkpoint overwrites pages that a reader of the other library still reads ("database disk
    image is malformed"), and closing one library's file handle drops every lock the other
    holds. A process with threads that use a store while another reads through ADBC (the
    scheduler's lease renewals beside the run of `los jobs --due`) met that. So a thread opens
    the file through ADBC only while no other thread of the process has a sqlite3 connection
    to it (the idle ones closed), and sqlite3 connections wait while it does. One per file,
    for every `Store` of the process on it.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _of_file: ClassVar[dict[str, _Turns]] = {}

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._sqlite3: dict[int, int] = {}  # thread -> sqlite3 connections it holds
        self._adbc_thread: int | None = None
        self._adbc_depth = 0
        self._stores: weakref.WeakSet[Store] = weakref.WeakSet()

    @classmethod
    def of(cls, file: str, store: Store) -> _Turns:
        """The turns of `file` (the same for every name of it), with `store` among its users."""
        key = os.path.realpath(file)
        with cls._lock:
            turns = cls._of_file.setdefault(key, cls())
            turns._stores.add(store)
        return turns

    @contextmanager
    def sqlite3(self) -> Iterator[None]:
        """A sqlite3 connection's turn: waits while another thread is in its ADBC turn."""
        me = threading.get_ident()
        with self._changed:
            # A thread inside its own ADBC turn goes on (as it did before turns were kept).
            while self._adbc_thread not in (None, me):
                self._changed.wait()
            self._sqlite3[me] = self._sqlite3.get(me, 0) + 1
        try:
            yield
        finally:
            with self._changed:
                left = self._sqlite3[me] - 1
                if left:
                    self._sqlite3[me] = left
                else:
                    del self._sqlite3[me]
                self._changed.notify_all()

    @contextmanager
    def adbc(self) -> Iterator[None]:
        """ADBC's turn: waits until no other thread holds a sqlite3 connection."""
        me = threading.get_ident()
        with self._changed:
            while self._adbc_thread not in (None, me) or any(t != me for t in self._sqlite3):
                self._changed.wait()
            self._adbc_thread = me
            self._adbc_depth += 1
        try:
            for store in list(self._stores):
                if store._engine is not None:
                    store._engine.dispose()  # idle connections: none is checked out elsewhere
            yield
        finally:
            with self._changed:
                self._adbc_depth -= 1
                if not self._adbc_depth:
                    self._adbc_thread = None
                self._changed.notify_all()


def plain_rows(conn: Connection, sql: str, params: Sequence[object] = ()) -> list[Any]:
    """The rows (tuples) of `sql` read through the driver's own cursor on `conn`, in its
    transaction: for the small reads of every page, where a statement and its result objects
    through SQLAlchemy cost more than the read itself. `?` marks each of `params` (written
    `%s` for PostgreSQL's driver); values come as the driver gives them (SQLite: times and
    dates as text)."""
    if conn.dialect.name == "postgresql":
        sql = _percent_marks(sql)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


@functools.lru_cache(maxsize=64)
def _percent_marks(sql: str) -> str:
    """`sql` with its `?` marks as psycopg's `%s` (and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # A new file gets 16 KB pages (SQLite's default is 4 KB): millions of measurements fill
    # fewer, fuller pages, which a bulk load writes and a scorecard reads faster. A file that
    # exists keeps the page size it has (the pragma does nothing there).
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Transactions begin as _sqlite_begin says, not when the driver guesses (it would begin
    # only at the first INSERT, after the reads that the write depends on).
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    # A write asks for the write lock before it reads anything (see the module's docstring).
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _postgresql_begin(busy_timeout: float) -> Callable[[Connection], None]:
    # lock_timeout 0 would mean waiting for ever.
    milliseconds = max(1, round(busy_timeout * 1000))

    def begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE, False):
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    return begin


__all__ = [
    "BUSY_TIMEOUT_ENV",
    "SQLAlchemyError",
    "Store",
    "StoreConnection",
    "busy_timeout_setting",
    "idle",
    "is_busy",
    "is_read_only",
    "normalise_url",
    "plain_rows",
    "sqlite_path",
    "sqlite_url",
    "url_without_password",
]


def idle(store: Store) -> None:
    """Close the store's idle connections on an SQLite file that bulk reads open through ADBC.

    Two SQLite libraries in one process do not see each other's file locks: the last
    connection of one to close takes itself for the file's last, folds the write-ahead log into
    the file and removes it under the other's open connections. Reads alone survive that; a
    write (saving a snapshot after bulk reads, a migration before them) must not meet it, so
    neither library keeps a connection open while the other uses the file.

    It waits for the connections other threads hold (`Store.arrow_turn`): closing the pool
    under one would leave that connection open for good, outside every pool, beside the next
    ADBC connection.
    """
    if store.arrow_file is not None and store._engine is not None:
        with store.arrow_turn():  # closes the idle connections of every store on the file
            pass
