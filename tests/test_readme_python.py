"""Every ```pycon session in the README runs in the quick start's `demo` workspace and prints
what the README shows (as Python's interactive prompt would)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.conftest import invoke

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```pycon\n(.*?)```", README, flags=re.DOTALL)


def _steps(block: str) -> list[tuple[str, list[str]]]:
    """(statement, expected output lines) for each `>>> ` line of a block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith(">>> "):
            steps.append((line[4:], []))
        else:
            steps[-1][1].append(line)
    return steps


def _run(statement: str, namespace: dict[str, object]) -> list[str]:
    """What the interactive prompt prints for one statement (a raised error as its last line)."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            try:
                code = compile(statement, "<readme>", "eval")
            except SyntaxError:
                exec(compile(statement, "<readme>", "exec"), namespace)
            else:
                value = eval(code, namespace)
                if value is not None:
                    print(repr(value))
    except Exception as exc:
        kind = type(exc)
        return [
            "Traceback (most recent call last):",
            f"{kind.__module__}.{kind.__qualname__}: {exc}",
        ]
    return buffer.getvalue().splitlines()


def test_the_readme_has_python_sessions() -> None:
    assert BLOCKS and all(block.startswith(">>> ") for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS)
def test_python_session_prints_what_the_readme_shows(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOS_DATABASE_URL", raising=False)
    assert invoke(["init", "demo", "--example", "techinnovate"]).exit_code == 0
    namespace: dict[str, object] = {}
    for statement, expected in _steps(block):
        shown = [line.rstrip() for line in _run(statement, namespace)]
        assert shown == expected, statement
