"""Filled stores, filled once per test process and database, then copied into each test's
new store (the test writes to its copy only): an example organisation as `los init --example`
leaves it (`copy_example`), or any other content a module fills a store with (`copy_filled`).

Filling a store with an example (its strategy applied, its values loaded) took about a second
and a half of each test that writes to one; `los init` itself is tested by
tests/cli/test_init_examples.py and the tests of services/init.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lineofsight.services.init import init_workspace
from tests.stores import drop_postgresql, postgresql_store, remake_postgresql, sqlite_store

_lock = threading.Lock()

# Fills the new, empty store at the URL (given last), working in the folder (given first).
Fill = Callable[[Path, str], None]


def _example(example: str) -> Fill:
    def fill(folder: Path, url: str) -> None:
        init_workspace(folder / "ws", example=example, db=url)

    return fill


class SqliteExamples:
    """One SQLite file per example (or other named content), filled at the first call."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.filled: dict[str, Path] = {}

    def _filled(self, name: str, fill: Fill) -> Path:
        with _lock:
            path = self.filled.get(name)
            if path is None:
                folder = self.folder / name
                path = folder / "store" / "los.db"
                fill(folder, sqlite_store(path))
                leftovers = [p.name for p in path.parent.iterdir() if p != path]
                assert not leftovers, leftovers  # the closed store is one file, whole
                self.filled[name] = path
            return path

    def copy(self, db_url: str, example: str, fill: Fill | None = None) -> Path:
        """Make the new store at `db_url` (not opened yet) a copy of the filled one: the
        folder the fill worked in."""
        target = Path(db_url.removeprefix("sqlite:///"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._filled(example, fill or _example(example)), target)
        return self.folder / example


class PostgresqlExamples:
    """One database per example (or other named content) on the test server, filled at the
    first call: the template each test's database is made again from."""

    def __init__(self, server_url: str, folder: Path) -> None:
        self.server_url = server_url
        self.folder = folder
        self.filled: dict[str, str] = {}  # example -> its database's URL

    def _filled(self, name: str, fill: Fill) -> str:
        with _lock:
            url = self.filled.get(name)
            if url is None:
                url = postgresql_store(self.server_url, "los_" + re.sub(r"\W", "_", name))
                fill(self.folder / name, url)
                self.filled[name] = url
            return url

    def copy(self, db_url: str, example: str, fill: Fill | None = None) -> Path:
        """Make the test's database at `db_url` again, as a copy of the filled one: the folder
        the fill worked in."""
        remake_postgresql(self.server_url, db_url, self._filled(example, fill or _example(example)))
        return self.folder / example

    def drop(self) -> None:
        for url in self.filled.values():
            drop_postgresql(self.server_url, url)


@pytest.fixture(scope="session")
def sqlite_examples(tmp_path_factory: pytest.TempPathFactory) -> SqliteExamples:
    return SqliteExamples(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="session")
def postgresql_examples(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresqlExamples]:
    examples = PostgresqlExamples(pg_url, tmp_path_factory.mktemp("examples"))
    yield examples
    if os.environ.get("LOS_TEST_POSTGRES_URL"):  # a server of the tests' own goes whole
        examples.drop()


def copy_filled(request: pytest.FixtureRequest, db_url: str, name: str, fill: Fill) -> Path:
    """Make the test's new store at `db_url` (not opened yet) a copy of a store that `fill`
    filled once per test process and database: the folder the fill worked in (to be read, not
    written). `name` tells the contents apart (one name, one fill). The store copied is never
    written to; `fill` must leave it closed."""
    fixture = "sqlite_examples" if db_url.startswith("sqlite") else "postgresql_examples"
    stores: SqliteExamples | PostgresqlExamples = request.getfixturevalue(fixture)
    return stores.copy(db_url, name, fill)


def copy_example(request: pytest.FixtureRequest, db_url: str, example: str) -> None:
    """Fill the test's new store at `db_url` with `example`, as `los init --example` does."""
    copy_filled(request, db_url, example, _example(example))
