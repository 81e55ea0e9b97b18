"""The command line refuses input that no team means to give, with exit code 2 and a reason:
a strategy file that expands without bound, dates outside the supported calendar."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Los
from tests.spec.test_read_budget import alias_bomb


@pytest.mark.parametrize("command", ["apply", "check"])
def test_an_alias_bomb_is_refused(los: Los, workdir: Path, command: str) -> None:
    bomb = workdir / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    result = los(command, str(bomb))
    assert result.exit_code == 2, result.output
    assert "bomb.yaml:5: the file expands to more than 100,000 YAML nodes" in result.output
    assert "Traceback" not in result.output
