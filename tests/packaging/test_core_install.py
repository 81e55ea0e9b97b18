"""A plain `pip install lineofsight` (no extras): the command line works on SQLite and
PostgreSQL without the web stack, pandas, torch or the test tools, and each feature that needs
an extra says which one, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

RUNNER = Path(__file__).with_name("core_only.py")


def _run(cwd: Path, mode: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOS_DATABASE_URL"}
    env["LOS_CACHE_DIR"] = str(cwd / ".cache")
    return subprocess.run(
        [sys.executable, str(RUNNER), mode, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _los(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return _run(cwd, "los", *args, stdin=stdin)


def test_the_blocker_really_hides_the_extras(tmp_path: Path) -> None:
    """The other tests mean something only if the extras are unimportable in the runner."""
    code = (
        "import importlib.util\n"
        "for name in ('fastapi', 'jinja2', 'argon2', 'pandas', 'pyarrow', 'torch',\n"
        "             'pytest', 'hypothesis'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
        "    try:\n"
        "        __import__(name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError(name)\n"
        "print('hidden')\n"
    )
    result = _run(tmp_path, "python", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hidden\n"


def test_core_commands_work_without_extras(db_url: str, tmp_path: Path) -> None:
    db = ["--db", db_url]
    init = _los(tmp_path, "init", "ws", "--example", "techinnovate", *db)
    assert init.returncode == 0, init.stderr
    assert "1,081 measurements loaded" in init.stdout
    ws = tmp_path / "ws"
    status = _los(ws, "status", "--as-of", "2026-11-22", *db)
    assert status.returncode == 0, status.stderr
    assert "Customer Success" in status.stdout
    # Parquet is Polars' own writer: no pyarrow needed.
    parquet = _los(ws, "status", "--format", "parquet", "-o", "card.parquet", *db)
    assert parquet.returncode == 0, parquet.stderr
    assert pl.read_parquet(ws / "card.parquet").filter(pl.col("kind") == "kpi").height > 30
    check = _los(ws, "check", "--as-of", "2026-11-22", *db)
    assert check.returncode == 0, check.stderr
    assert "7 findings" in check.stdout
    load = _los(ws, "load", "data/measurements.csv", *db)
    assert load.returncode == 0, load.stderr
    assert "1,081 unchanged" in load.stdout
    export = _los(ws, "export", "exported.yaml", *db)
    assert export.returncode == 0, export.stderr
    again = _los(ws, "apply", "exported.yaml", *db)
    assert again.returncode == 0, again.stderr
    assert "No changes" in again.stdout
    history = _los(ws, "history", *db)
    assert history.returncode == 0 and "added" in history.stdout, history.stderr
    lexical = _los(ws, "library", "search", "NPS")
    assert lexical.returncode == 0 and "net_promoter_score" in lexical.stdout, lexical.stderr


WEB = "error: the web app needs the web extra: pip install 'lineofsight[web]'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve"], WEB),
        (["user", "list"], WEB),
        (["user", "add", "ada", "--role", "admin", "--password-stdin"], WEB),
        (["user", "token", "ada"], WEB),
        (
            ["library", "search", "NPS", "--mode", "semantic"],
            "error: semantic search needs the optional model: pip install 'lineofsight[semantic]'",
        ),
    ],
)
def test_a_feature_without_its_extra_says_which_to_install(
    args: list[str], message: str, tmp_path: Path
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'los.db'}"] if args[0] != "library" else []
    result = _los(tmp_path, *args, *db, stdin="a password\n")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_to_pandas_without_the_pandas_extra_says_which_to_install(tmp_path: Path) -> None:
    assert _los(tmp_path, "init", "ws", "--example", "techinnovate").returncode == 0
    code = (
        "import lineofsight as los\n"
        "from lineofsight.extras import MissingExtra\n"
        "card = los.Workspace.open('ws').scorecard(as_of='2026-11-22')\n"
        "print(card.kpis.height)\n"
        "try:\n"
        "    card.to_pandas()\n"
        "except ImportError as exc:\n"
        "    assert isinstance(exc, MissingExtra)\n"
        "    print(exc)\n"
    )
    result = _run(tmp_path, "python", code)
    assert result.returncode == 0, result.stderr
    rows, message = result.stdout.splitlines()
    assert int(rows) > 0
    assert message == (
        "Scorecard.to_pandas() needs the pandas extra: pip install 'lineofsight[pandas]'"
    )


# The modules that belong to an extra: the web app and its accounts (argon2).
# The web app's own services: accounts hash passwords with argon2, and sessions use accounts.
NEEDS_AN_EXTRA = (
    "lineofsight.web",
    "lineofsight.services.accounts",
    "lineofsight.services.sessions",
)


def test_every_module_outside_the_web_app_imports_without_extras(tmp_path: Path) -> None:
    """Whatever command or API a user reaches, no module on its way needs an extra to load:
    extras are imported where they are used, after `lineofsight.extras.require`."""
    code = (
        "import importlib, pkgutil, lineofsight\n"
        f"skip = {NEEDS_AN_EXTRA!r}\n"
        "names = [m.name for m in pkgutil.walk_packages(lineofsight.__path__, 'lineofsight.')\n"
        "         if not m.name.startswith(skip) and '.migrations.versions.' not in m.name\n"
        "         and not m.name.endswith('.migrations.env')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    result = _run(tmp_path, "python", code)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 80
