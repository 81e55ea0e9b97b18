"""Open a store: the engine, its settings per database, and migrations to the newest schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from lineofsight.errors import StoreError

# The newest migration; a test checks it is Alembic's head. Knowing it lets a command that only
# reads skip loading Alembic when the store is already up to date.
SCHEMA_REVISION = "0007"
PAGE_SIZE = 16384


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


class Store:
    """An open store: an engine whose schema is at the newest migration."""

    # Whether bulk reads and loads of an SQLite file may go through ADBC's own copy of SQLite.
    # A long-running process that also keeps SQLAlchemy connections open on the file (the web
    # server) turns it off: two SQLite libraries in one process do not see each other's file
    # locks, so closing one's file handle can drop the other's locks in the middle of a write.
    arrow_sqlite = True

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise StoreError(f"not a database URL: {url!r}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"cannot use {parsed.render_as_string(hide_password=True)}: {exc}"
            ) from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        """Bring the schema to the newest migration, in one transaction."""
        if self._current_revision() == SCHEMA_REVISION:
            return
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = _alembic_config(self.url)
        try:
            with self.engine.begin() as conn:
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
        except OperationalError as exc:
            raise StoreError(f"cannot open the store {self.display_url}: {exc.orig}") from None

    def _current_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except (OperationalError, SQLAlchemyError):
            return None  # no table yet: a new store
        return None if row is None else str(row[0])

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def arrow_file(self) -> str | None:
        """The SQLite file that bulk reads and loads may open through ADBC, if any."""
        if self.dialect != "sqlite" or not self.arrow_sqlite:
            return None
        database = make_url(self.url).database
        return database if database and database != ":memory:" else None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: everything in the block is written, or nothing is."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store error on {self.display_url}: {exc.orig}") from None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


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


__all__ = ["SQLAlchemyError", "Store", "normalise_url", "sqlite_url"]
