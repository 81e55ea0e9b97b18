"""A workspace remembers its store (never its password), and unknown ids get the closest one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from lineofsight.services.workspace import url_without_password
from tests.conftest import FIXTURES, Los, invoke

FULL = FIXTURES / "specs" / "valid" / "full.yaml"


def _run(*argv: str):  # type: ignore[no-untyped-def]
    return invoke(list(argv), catch_exceptions=False)


def test_init_with_a_store_url_remembers_it_without_the_password(
    db_url: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(db_url)
    given = url.set(password="s3cret-pw") if url.get_backend_name() == "postgresql" else url
    text = given.render_as_string(hide_password=False)
    result = _run("init", "ws", "--db", text)
    assert result.exit_code == 0, result.output
    config = workdir / "ws" / ".lineofsight" / "config.toml"
    saved = config.read_text()
    assert "s3cret-pw" not in saved and "s3cret-pw" not in result.output
    assert tomllib.loads(saved)["url"] == url_without_password(text)
    # The next command in the folder (or below it) finds the store; nothing new on disk.
    monkeypatch.chdir(workdir / "ws" / "data")
    status = _run("history")
    assert status.exit_code == 0, status.output
    assert "revenue" in status.output or "grow_revenue" in status.output
    assert not (workdir / "ws" / ".lineofsight" / "lineofsight.db").exists()


def test_the_environment_wins_over_the_config(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run("init", "--db", f"sqlite:///{tmp_path / 'elsewhere.db'}").exit_code == 0
    other = tmp_path / "other.db"
    assert _run("init", "other", "--db", f"sqlite:///{other}").exit_code == 0
    monkeypatch.setenv("LOS_DATABASE_URL", f"sqlite:///{other}")
    assert _run("apply", str(FULL)).exit_code == 0
    assert "formula: dio + dso - dpo" in _run("export").output
    monkeypatch.delenv("LOS_DATABASE_URL")
    here = _run("export").output
    assert "grow_revenue" in here and "dio + dso" not in here  # the config's store


def test_a_relative_sqlite_url_is_remembered_as_an_absolute_one(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run("init", "ws", "--db", "sqlite:///stores/ws.db").exit_code == 0
    saved = tomllib.loads((workdir / "ws" / ".lineofsight" / "config.toml").read_text())
    assert saved["url"] == f"sqlite:///{workdir / 'stores' / 'ws.db'}"
    monkeypatch.chdir(workdir / "ws" / "data")
    assert "grow_revenue" in _run("export").output


def test_a_broken_config_file_is_a_clear_error(workdir: Path) -> None:
    (workdir / ".lineofsight").mkdir()
    (workdir / ".lineofsight" / "config.toml").write_text('url = "sqlite:///x.db\n')
    result = _run("status")
    assert result.exit_code == 2
    assert "config.toml: not valid TOML" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "said"),
    [("connect_timeout=abc", "bad value for connect_timeout: 'abc'"), ("foo=1", '"foo"')],
)
def test_an_option_of_the_store_url_the_driver_refuses_is_a_clear_error(
    option: str, said: str
) -> None:
    # Refused before any connection is tried (no server listens on port 1).
    result = _run("status", "--db", f"postgresql://ann:s3cret-pw@localhost:1/strategy?{option}")
    assert result.exit_code == 2, result.output
    assert "cannot open the store postgresql+psycopg://ann:***@localhost:1/strategy" in (
        result.output
    )
    assert said in result.output and "s3cret-pw" not in result.output


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (
            "mode=bogus",
            "SQLite does not read the option 'mode' of a store's URL: leave it out (it reads "
            "timeout, isolation_level, detect_types, check_same_thread, cached_statements)",
        ),
        ("mode=ro&uri=true", "SQLite does not read the options 'mode', 'uri'"),
        ("timeout=abc", "the option timeout='abc' of the URL is not a number of seconds"),
    ],
)
def test_an_option_sqlite_does_not_read_is_one_line_before_anything_is_opened(
    workdir: Path, option: str, said: str
) -> None:
    # Not a warning of the driver's: the option would be dropped, or the store not opened.
    assert _run("init", "ws").exit_code == 0
    store = workdir / "ws" / ".lineofsight" / "lineofsight.db"
    for url in (f"sqlite:///{store}?{option}", f"sqlite:///{workdir / 'none.db'}?{option}"):
        for argv in (["status", "--db", url], ["init", "other", "--db", url]):
            result = _run(*argv)
            assert result.exit_code == 2, result.output
            assert result.output.startswith(f"error: cannot open the store {url}: "), result.output
            assert said in result.output and len(result.output.splitlines()) == 1, result.output
    assert not (workdir / "none.db").exists() and not (workdir / "other").exists()
    assert not [p.name for p in store.parent.iterdir() if "?" in p.name]  # no file "db?mode=..."
    # An option SQLite reads, with a value it reads, opens the store as before.
    assert _run("status", "--db", f"sqlite:///{store}?timeout=5").exit_code == 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ann:s3cret-pw@localhost:abc/strategy",  # a port that is not a number
        "postgresql://ann:s3cret-pw@[::1/strategy",  # an IPv6 host not closed
        "postgresql//ann:s3cret-pw@localhost/strategy",  # no ://
    ],
)
def test_a_store_url_that_cannot_be_read_is_said_without_its_password(url: str) -> None:
    for argv in (["status", "--db", url], ["check", "--db", url]):
        result = _run(*argv)
        assert result.exit_code == 2, result.output
        assert "not a database URL: 'postgresql" in result.output
        assert "s3cret-pw" not in result.output and "ann:***@" in result.output


def test_url_without_password() -> None:
    assert (
        url_without_password("postgresql://ann:pw@db.example.com:5433/strategy")
        == "postgresql://ann@db.example.com:5433/strategy"
    )
    assert url_without_password("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


# ---------------------------------------------------------------- unknown ids


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["history", "ccd"], "did you mean 'ccc'?"),
        (["trace", "ccd"], "did you mean 'ccc'?"),
        (["explain", "ccd", "--from", "FY2026-Q1", "--to", "FY2026-Q2"], "did you mean 'ccc'?"),
        (["status", "--unit", "tii"], "did you mean 'ti'?"),
        (["measurement", "delete", "dsoo", "2026-01"], "did you mean 'dso'?"),
    ],
)
def test_an_unknown_id_exits_2_with_the_closest_one(los: Los, argv: list[str], hint: str) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    result = los(*argv)
    assert result.exit_code == 2, result.output
    assert hint in result.stderr
    assert result.stdout == ""


def test_an_unknown_kpi_in_a_csv_gets_the_closest_one(los: Los, workdir: Path) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    data = workdir / "m.csv"
    data.write_text("kpi,period,value\nddio,2026-01,45\nqqq_zzz,2026-01,1\n")
    result = los("load", str(data))
    assert result.exit_code == 2
    assert "row 2: column kpi: unknown KPI 'ddio' (did you mean 'dio'?)" in result.stderr
    assert "row 3: column kpi: unknown KPI 'qqq_zzz'\n" in result.stderr


def test_init_again_in_a_workspace_says_it_was_there(los: Los, workdir: Path) -> None:
    first = los("init", "ws")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Created a workspace in ws")
    again = los("init", "ws")
    assert again.exit_code == 0, again.output
    # The store and its definitions were kept: nothing was created, and it says so.
    assert "Created" not in again.output
    assert again.output.startswith("The workspace in ws was already there (its store is kept)")
    assert "strategy: ws/strategy.yaml (kept as it was; 0 definitions applied)" in again.output
    forced = los("init", "ws", "--example", "techinnovate", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.output.startswith(
        "Put the techinnovate example in the workspace already in ws (its store is kept)"
    )


def _damage_tables(file: Path, *tables: str) -> None:
    """Overwrite the first page of each table's rows in the SQLite `file` with bytes that are
    no page: the file opens, its schema reads, reading the tables fails as SQLite finds it."""
    import sqlite3

    conn = sqlite3.connect(file)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [
        conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [t]).fetchone()[0]
        for t in tables
    ]
    conn.close()
    with file.open("r+b") as out:
        for root in roots:
            out.seek((root - 1) * page_size)
            out.write(b"\xff" * page_size)


def test_a_damaged_store_or_a_file_that_is_no_database_is_one_line_naming_it(
    workdir: Path,
) -> None:
    import lineofsight as los
    from lineofsight.errors import StoreError

    assert _run("init", "ws", "--example", "techinnovate").exit_code == 0
    store = workdir / "ws" / ".lineofsight" / "lineofsight.db"
    url = f"sqlite:///{store}"
    strategy = workdir / "ws" / "strategy.yaml"
    # A file that is not a database named as the store; then the store damaged in a table's
    # page (opened, its schema read, its values not).
    cases = [
        (f"sqlite:///{strategy}", f"the store sqlite:///{strategy} is", "file is not a database"),
        (url, f"the store {url} is", "database disk image is malformed"),
    ]
    for number, (given, named, reason) in enumerate(cases):
        if number == 1:
            # The values, and the scorecard kept of them.
            _damage_tables(store, "measurements", "scorecard_snapshots")
        said = f"{named} not a readable SQLite database ({reason}): restore it from a backup"
        for argv in (
            ["status"],
            ["inbox"],
            ["check"],
            ["measurement", "history", "nps", "2026-10"],
        ):
            result = _run(*argv, "--db", given)
            assert result.exit_code == 2, result.output
            assert result.output.startswith(f"error: {said}"), result.output
            assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
        with pytest.raises(StoreError, match=re.escape(said)):
            los.Workspace.open(given).scorecard(as_of="2026-12-05")
