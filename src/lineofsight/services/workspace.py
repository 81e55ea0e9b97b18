"""Find and open the workspace's store: `--db`, else `LOS_DATABASE_URL`, else the nearest
`.lineofsight/lineofsight.db` from the current folder up."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lineofsight.errors import UsageError
from lineofsight.store.database import Store, sqlite_url

WORKSPACE_DIR = ".lineofsight"
DATABASE_FILE = "lineofsight.db"
ENV_URL = "LOS_DATABASE_URL"


def find_workspace_db(start: Path) -> Path | None:
    """The nearest `.lineofsight/lineofsight.db` at or above `start`."""
    for folder in (start, *start.parents):
        candidate = folder / WORKSPACE_DIR / DATABASE_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_url(db: str | None, cwd: Path | None = None) -> str:
    """The store URL to use, or UsageError saying how to create a workspace."""
    if db:
        return db
    env = os.environ.get(ENV_URL)
    if env:
        return env
    found = find_workspace_db((cwd or Path.cwd()).resolve())
    if found is None:
        raise UsageError(
            f"no workspace here: run `los init` to create one, or give --db URL (or set {ENV_URL})"
        )
    return sqlite_url(found)


@contextmanager
def open_store(db: str | None, cwd: Path | None = None) -> Iterator[Store]:
    """Open (and migrate) the workspace's store for the length of a command."""
    store = Store(resolve_url(db, cwd))
    try:
        yield store
    finally:
        store.close()


def local_user() -> str:
    """Who runs the command, for the history and the audit log: the system account's name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
