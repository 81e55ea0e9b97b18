"""All SQL lives in `store/`: no string of the package outside it holds a statement.

The import-linter contract in pyproject.toml keeps the database libraries out of services,
web and the command line; this test keeps raw SQL text out of them (and out of every other
layer), which a contract on imports cannot see: SQL handed as a string to a store function
would still be SQL written outside the store.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lineofsight"
# Where SQL belongs.
STORE = PACKAGE / "store"
# SQL a refresh sends to a source's own engine (the organisation's warehouse, DuckDB file or
# Spark), never to the store: combining many KPIs' queries into one statement is written there.
SOURCE_ENGINES = PACKAGE / "sources"

# Statements as the package writes them: keywords in capitals, as in the store's own SQL.
SQL = re.compile(
    r"\bSELECT\s.*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(CREATE|DROP|ALTER)\s+(TEMP(ORARY)?\s+)?(TABLE|INDEX|VIEW)\b|\bPRAGMA\s+\w+"
    r"|\bWITH\s+RECURSIVE\b|\bCOPY\s+\w+.*\bFROM\s+STDIN\b",
    re.DOTALL,
)


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module: prose about SQL, not SQL."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_strings(source: str) -> list[tuple[int, str]]:
    """The strings of a module's source that hold SQL: (line, the string), in order.

    The pieces of an f-string are joined first (with a placeholder for each value), so that
    a statement built from them is seen whole.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside: set[int] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
            inside.update(id(part) for part in node.values)
            if SQL.search(text):
                found.append((node.lineno, text))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip | inside
            and SQL.search(node.value)
        ):
            found.append((node.lineno, node.value))
    return sorted(found)


def _outside_store() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if STORE not in path.parents and SOURCE_ENGINES not in path.parents
    )


def test_no_sql_outside_the_store() -> None:
    offending = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in _outside_store()
        for line, text in sql_strings(path.read_text(encoding="utf-8"))
    ]
    assert offending == [], "SQL belongs in lineofsight/store/:\n" + "\n".join(offending)


def test_the_packages_layers_are_searched() -> None:
    searched = {path.relative_to(PACKAGE).parts[0] for path in _outside_store()}
    assert {"services", "web", "cli", "engine", "domain"} <= searched


@pytest.mark.parametrize(
    "source",
    [
        'Q = "SELECT fiscal_year_start FROM organization"',
        'Q = ("SELECT id, name "\n     "FROM kpis")',
        'def f(t):\n    return f"INSERT INTO {t} (a) VALUES (?)"',
        'def f(w):\n    return f"DELETE FROM measurements WHERE {w}"',
        'Q = "UPDATE users SET person_id = ?"',
        'Q = "CREATE TEMPORARY TABLE load_rows (kpi_id TEXT)"',
        'Q = "PRAGMA busy_timeout=300"',
        'Q = "SELECT h.day FROM (WITH RECURSIVE held(day) AS (SELECT 1)) h"',
    ],
)
def test_sql_in_a_string_is_found(source: str) -> None:
    assert [line for line, _ in sql_strings(source)] != []


@pytest.mark.parametrize(
    "source",
    [
        'def f():\n    """Read with one SELECT FROM the table: prose in a docstring."""',
        'HELP = "Select a unit from the list, then update the value."',
        'TITLE = "Update the selection"',
        "frame.select('kpi_id').filter(x)",
    ],
)
def test_prose_and_frame_calls_are_not_sql(source: str) -> None:
    assert sql_strings(source) == []
