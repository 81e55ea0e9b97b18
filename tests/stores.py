"""New, empty stores for tests: copies of a store brought to the newest schema once per test
process.

Running every migration for each test's store took about a third of the suite's time. The
migrations themselves are still run from none (once per process and database here, and by the
tests of tests/store/ that migrate stores from none and from each older schema).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg

_lock = threading.Lock()
_sqlite_template: Path | None = None
_postgresql_templates: dict[str, str] = {}  # server URL -> template database's name


def _admin(server_url: str) -> str:
    return server_url.replace("postgresql+psycopg://", "postgresql://")


def _database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def sqlite_template() -> Path:
    """The SQLite file at the newest schema this process copies (made at the first call)."""
    global _sqlite_template
    with _lock:
        if _sqlite_template is None:
            from lineofsight.store.database import Store

            folder = Path(tempfile.mkdtemp(prefix="los-template-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = folder / "los.db"
            Store(f"sqlite:///{path}").close()  # every migration, from none
            leftovers = [p.name for p in folder.iterdir() if p != path]
            assert not leftovers, leftovers  # a closed store is one file
            _sqlite_template = path
        return _sqlite_template


def sqlite_store(path: Path) -> str:
    """A new, empty store at `path` (its folder made), at the newest schema: its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template(), path)
    return f"sqlite:///{path}"


def _postgresql_template(server_url: str) -> str:
    with _lock:
        name = _postgresql_templates.get(server_url)
        if name is None:
            from lineofsight.store.database import Store

            name = f"los_template_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(_admin(server_url), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            # Every migration, from none; closed, as a template may have no connection open.
            Store(_database_url(server_url, name)).close()
            _postgresql_templates[server_url] = name
        return name


def postgresql_store(
    server_url: str, prefix: str = "los", *, template: bool = True, made: bool = True
) -> str:
    """A new PostgreSQL database on the server, empty at the newest schema (with
    `template=False`, without any schema; with `made=False`, only named, not made): its
    URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if not made:
        return _database_url(server_url, name)
    copied = f' TEMPLATE "{_postgresql_template(server_url)}"' if template else ""
    with psycopg.connect(_admin(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copied}')
    return _database_url(server_url, name)


def remake_postgresql(server_url: str, url: str, source_url: str) -> None:
    """Make the database at `url` again as a copy of the one at `source_url` (which no
    connection may hold open)."""
    name, source = url.rsplit("/", 1)[1], source_url.rsplit("/", 1)[1]
    with psycopg.connect(_admin(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')


def drop_postgresql(server_url: str, url: str) -> None:
    """Drop a database made by `postgresql_store`."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_templates(server_url: str) -> None:
    """Drop the template database made on the server (at the end of the session)."""
    with _lock:
        name = _postgresql_templates.pop(server_url, None)
    if name is not None:
        drop_postgresql(server_url, _database_url(server_url, name))
