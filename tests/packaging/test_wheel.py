"""The wheel, built offline from this tree: what a plain install requires, the extras, and the
files a published package carries (licence, type marker, project links)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest

from lineofsight.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[2]
CORE = {
    "typer",
    "rich",
    "pydantic",
    "pyyaml",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "openpyxl",
    "polars",
    "adbc-driver-sqlite",
    "rapidyaml",
    "bm25s",
    "numpy",
    "cronsim",
}
# Never needed by the command line: the web stack, pandas, torch, the test and build tools.
NOT_CORE = {
    "fastapi",
    "uvicorn",
    "httptools",
    "uvloop",
    "jinja2",
    "argon2-cffi",
    "itsdangerous",
    "python-multipart",
    "pandas",
    "pyarrow",
    "torch",
    "pyspark",
    "pytest",
    "hypothesis",
    "httpx",
    "playwright",
    "hatchling",
}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps"),
            *("--no-build-isolation", "--no-index", "--quiet", "--wheel-dir", str(out)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("lineofsight-*.whl")
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def meta(wheel: zipfile.ZipFile) -> dict[str, list[str]]:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    message = Parser().parsestr(wheel.read(name).decode("utf-8"), headersonly=True)
    return {key: message.get_all(key) or [] for key in set(message.keys())}


def _extra(meta: dict[str, list[str]], extra: str) -> set[str]:
    marker = f"extra == '{extra}'"
    return {_name(r) for r in meta["Requires-Dist"] if marker in r}


def test_a_plain_install_requires_only_the_command_lines_libraries(
    meta: dict[str, list[str]],
) -> None:
    core = {_name(r) for r in meta["Requires-Dist"] if "extra ==" not in r}
    assert core == CORE
    assert not core & NOT_CORE


def test_the_extras_hold_the_web_app_pandas_and_the_model(meta: dict[str, list[str]]) -> None:
    assert set(meta["Provides-Extra"]) == {
        "web",
        "pandas",
        "semantic",
        "spark",
        "duckdb",
        "dev",
        "bench",
        "pdf",
    }
    # The benchmarks' references and real series (the forecast's models and series, the
    # status query written for DuckDB): `make bench` only, never the tests.
    assert _extra(meta, "bench") == {"statsmodels", "pmdarima", "duckdb"}
    # DuckDB is also a data source the tests read (the duckdb extra, in dev).
    assert not (_extra(meta, "bench") - {"duckdb"}) & _extra(meta, "dev")
    assert _extra(meta, "web") >= {"fastapi", "uvicorn", "jinja2", "argon2-cffi"}
    assert "plotly" not in _extra(meta, "web")  # charts are drawn by the server
    assert _extra(meta, "pandas") == {"pandas", "pyarrow"}
    assert "torch" in _extra(meta, "semantic")
    assert _extra(meta, "spark") == {"pyspark", "pyarrow", "pandas"}
    assert _extra(meta, "pdf") == {"reportlab", "rl-accel"}
    # Development gets everything the tests use: the web app and pandas too.
    assert _extra(meta, "dev") >= _extra(meta, "web") | _extra(meta, "pandas") | {"pytest"}


@pytest.mark.parametrize("extra", ["web", "pandas", "semantic", "spark", "pdf"])
def test_each_module_the_code_checks_for_comes_with_its_extra(
    extra: str, meta: dict[str, list[str]]
) -> None:
    """`lineofsight.extras` names the modules a feature needs; the extra must bring each one
    (itself, or as a requirement of what it lists), or the check and the install disagree."""
    listed = _extra(meta, extra)
    brought = set(listed)
    for dist in listed:
        for requirement in metadata.requires(dist) or []:
            if "extra ==" not in requirement:
                brought.add(_name(requirement))
    owners = metadata.packages_distributions()
    for module in EXTRAS[extra]:
        assert {_name(d) for d in owners.get(module, [])} & brought, module


def test_the_wheel_carries_the_licence_the_type_marker_and_links(
    wheel: zipfile.ZipFile, meta: dict[str, list[str]]
) -> None:
    names = wheel.namelist()
    assert "lineofsight/py.typed" in names
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(licence).decode("utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert meta["License-Expression"] == ["Apache-2.0"]
    links = dict(link.split(", ", 1) for link in meta["Project-URL"])
    assert set(links) == {"Homepage", "Documentation", "Source", "Issues"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert links["Source"] in readme
    assert "lineofsight/examples/techinnovate/strategy.yaml" in names  # package data ships
    assert "lineofsight/store/migrations/versions/0001_initial_schema.py" in names
    assert [n for n in names if n.startswith("lineofsight/web/templates/")]
