"""Shared fixtures: a store on SQLite and on a real PostgreSQL server, and the CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import settings
from typer.testing import CliRunner

from lineofsight.cli.app import app_for
from tests.pgserver import start_server
from tests.stores import drop_postgresql, drop_templates, postgresql_store, sqlite_store

# Tests never depend on timing: no generated example fails for taking long on a busy machine.
settings.register_profile("los", deadline=None)
settings.load_profile("los")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server for the session: LOS_TEST_POSTGRES_URL, else one we start."""
    given = os.environ.get("LOS_TEST_POSTGRES_URL")
    if given:
        yield given
        drop_templates(given)
        return
    server = start_server()
    try:
        yield server.url
    finally:
        server.stop()  # with every database on it (nothing to drop one by one)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store URL on each database, with no definitions nor values, at the newest
    schema (a copy of a store migrated once per test process: tests/stores.py)."""
    if request.param == "sqlite":
        yield sqlite_store(tmp_path / "store" / "los.db")
        return
    server_url: str = request.getfixturevalue("pg_url")
    url = postgresql_store(server_url)
    yield url
    drop_postgresql(server_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def unmade_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL on each database where no database is made yet: for a test that copies a
    filled store there (tests/example_stores.py), which on PostgreSQL saves making an empty
    one first."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'los.db'}"
        return
    server_url: str = request.getfixturevalue("pg_url")
    url = postgresql_store(server_url, made=False)
    yield url
    drop_postgresql(server_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL on each database with nothing in it, not even a schema: for the tests of
    the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'los.db'}"
        return
    server_url: str = request.getfixturevalue("pg_url")
    url = postgresql_store(server_url, template=False)
    yield url
    drop_postgresql(server_url, url)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder with no store configured from the environment."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LOS_DATABASE_URL", raising=False)
    return folder


def invoke(argv: Sequence[str], runner: CliRunner | None = None, **kwargs: Any) -> Result:
    """Run the command line `los argv` in-process, as the `los` command runs it: the app with
    only the command named (`app_for`; tests/cli/test_startup.py shows it does what the app
    with every command does). Building the app with every command for each command line
    took about 40 ms of CPU, more than many commands themselves."""
    argv = list(argv)
    return (runner or CliRunner()).invoke(app_for(argv), argv, **kwargs)


class Los:
    """Runs `los` in-process as a user would, against one store."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self.runner = CliRunner()

    def make_empty_store(self) -> None:
        """Create the store with no definitions (commands other than init and apply do not)."""
        from lineofsight.store.database import Store

        if self.db_url is not None:
            Store(self.db_url).close()

    def __call__(self, *args: str, db: bool = True):  # type: ignore[no-untyped-def]
        argv = list(args)
        if db and self.db_url is not None and argv and argv[0] in STORE_COMMANDS:
            argv += ["--db", self.db_url]
        return invoke(argv, self.runner, catch_exceptions=False)


STORE_COMMANDS = {
    "init",
    "apply",
    "export",
    "load",
    "check",
    "history",
    "status",
    "tree",
    "trace",
    "forecast",
    "explain",
    "measurement",
    "notify",
    "inbox",
    "refresh",
    "sources",
    "jobs",
    "brief",
}


@pytest.fixture
def los(db_url: str, workdir: Path) -> Los:
    return Los(db_url)


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server on this machine for the test (`tests.notify_servers.SmtpSink`:
    what it took, in `messages`)."""
    from tests.notify_servers import SmtpSink, start_smtp

    sink = SmtpSink()
    controller = start_smtp(sink)
    yield sink
    controller.stop()
