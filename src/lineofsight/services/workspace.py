"""Find and open the workspace's store: `--db`, else `LOS_DATABASE_URL`, else the nearest
workspace (a `.lineofsight` folder) from the current folder up.

A workspace's store is `.lineofsight/lineofsight.db` (SQLite), unless its
`.lineofsight/config.toml` names another (`url = "postgresql://los@db.example.com/strategy"`).
The config file never holds a password: PostgreSQL's own client finds it in `PGPASSWORD` or
`~/.pgpass`, or the whole URL comes from `LOS_DATABASE_URL`.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lineofsight.errors import Problem, UsageError
from lineofsight.store.database import (
    Store,
    sqlite_path,
    sqlite_url,
    sqlite_url_error,
    url_without_password,
)

WORKSPACE_DIR = ".lineofsight"
DATABASE_FILE = "lineofsight.db"
CONFIG_FILE = "config.toml"
ENV_URL = "LOS_DATABASE_URL"

log = logging.getLogger(__name__)


def enclosing_workspace(folder: Path) -> Path | None:
    """The workspace folder strictly above `folder` (its store or config file there), if any:
    the one the commands run below it would use."""
    for above in folder.resolve().parents:
        workspace = above / WORKSPACE_DIR
        if (workspace / CONFIG_FILE).is_file() or (workspace / DATABASE_FILE).is_file():
            return above
    return None


def find_workspace_url(start: Path) -> str | None:
    """The store URL of the nearest workspace at or above `start`: its config file's `url`,
    else its SQLite file; None when there is no workspace."""
    found = _nearest_workspace(start)
    return found[1] if found is not None else None


def _nearest_workspace(start: Path) -> tuple[Path, str] | None:
    """The nearest workspace at or above `start` and its store URL (`find_workspace_url`)."""
    for folder in (start, *start.parents):
        config = folder / WORKSPACE_DIR / CONFIG_FILE
        if config.is_file():
            url = read_config_url(config)
            if url:
                return folder, url
        candidate = folder / WORKSPACE_DIR / DATABASE_FILE
        if candidate.is_file():
            return folder, sqlite_url(candidate)
    return None


def command_workspace(db: str | None, cwd: Path | None = None) -> Path | None:
    """The workspace folder whose store a command uses (`resolve_url`): None when the store
    is given (--db, LOS_DATABASE_URL) or there is no workspace."""
    if db or os.environ.get(ENV_URL):
        return None
    found = _nearest_workspace((cwd or Path.cwd()).resolve())
    return found[0] if found is not None else None


def read_config_url(config: Path) -> str | None:
    """The `url` a workspace's config file names; UsageError (with the line) when unreadable."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {config}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or 0
        raise UsageError(
            f"{config}: not valid TOML", [Problem(str(config), line, str(exc))]
        ) from None
    url = data.get("url")
    if url is not None and not isinstance(url, str):
        raise UsageError(f"{config}: url must be a string")
    return url or None


def write_config(folder: Path, url: str) -> Path:
    """Remember the store URL (without its password) in the workspace's config file."""
    config = folder / WORKSPACE_DIR / CONFIG_FILE
    config.parent.mkdir(parents=True, exist_ok=True)
    path = sqlite_path(url)
    if path is not None and not path.is_absolute():
        # Relative to where `los init` ran; later commands may run in a folder below.
        url = sqlite_url(path.resolve())
    # A JSON string is a valid TOML basic string.
    config.write_text(
        "# The store of this workspace. No password here: LOS_DATABASE_URL, PGPASSWORD or\n"
        "# ~/.pgpass give it.\n"
        f"url = {json.dumps(url_without_password(url))}\n",
        encoding="utf-8",
    )
    return config


def resolve_url(db: str | None, cwd: Path | None = None) -> str:
    """The store URL to use, or UsageError saying how to create a workspace."""
    if db:
        return db
    env = os.environ.get(ENV_URL)
    if env:
        return env
    found = find_workspace_url((cwd or Path.cwd()).resolve())
    if found is None:
        raise UsageError(
            f"no workspace here: run `los init` to create one, or give --db URL (or set {ENV_URL})"
        )
    return found


@contextmanager
def open_store(db: str | None, cwd: Path | None = None, *, create: bool = False) -> Iterator[Store]:
    """Open (and migrate) the workspace's store for the length of a command.

    Only a command that writes definitions may create a store (`create`); any other on an
    SQLite file that does not exist says so instead of leaving an empty store behind.
    """
    url = resolve_url(db, cwd)
    error = sqlite_url_error(url)  # a bad option is the first thing to put right
    if error is not None:
        raise error
    path = sqlite_path(url)
    if not create and path is not None and not path.is_file():
        raise UsageError(f"no store at {path}: run `los init` to create one")
    store = Store(url)
    log.info("store %s", store.display_url)
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


def shown_file(file: str) -> str:
    """A strategy file's path as the store keeps it (absolute), as a user and a page are
    shown it: relative to the workspace it lies in (the folder of the `.lineofsight` folder),
    else its name alone; never the server's path to it, from whichever folder `los check`,
    `los history` or `los serve` runs (the findings and the history name it so)."""
    path = Path(file)
    if not path.is_absolute():
        return file
    return path.relative_to(shown_from(path)).as_posix()


def shown_from(path: Path) -> Path:
    """The folder `shown_file` names an absolute strategy file's path from: the workspace it
    lies in, else its own folder (where its name alone is found)."""
    for folder in path.parents:
        if (folder / WORKSPACE_DIR).is_dir():
            return folder
    return path.parent
