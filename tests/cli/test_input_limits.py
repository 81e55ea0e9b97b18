"""The command line refuses input that no team means to give, with exit code 2 and a reason:
a strategy file that expands without bound, dates outside the supported calendar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Los
from tests.spec.test_read_budget import alias_bomb, text_bomb


@pytest.mark.parametrize("command", ["apply", "check"])
def test_an_alias_bomb_is_refused(los: Los, workdir: Path, command: str) -> None:
    bomb = workdir / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    result = los(command, str(bomb))
    assert result.exit_code == 2, result.output
    assert (
        "bomb.yaml:5: the file expands to more than 1,000,000 YAML nodes and characters"
        in result.output
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command", [("apply", "--dry-run"), ("apply",), ("check",), ("trace", "x")]
)
def test_a_long_text_repeated_by_aliases_is_refused(
    los: Los, workdir: Path, command: tuple[str, ...]
) -> None:
    bomb = workdir / "bomb.yaml"
    bomb.write_text(text_bomb(uses=40_000), encoding="utf-8")
    result = los(*command, str(bomb))
    assert result.exit_code == 2, result.output[-2000:]
    assert "bomb.yaml:6: the file expands to more than" in result.output
    assert "Traceback" not in result.output
    assert len(result.output) < 2000


STRATEGY = """version: 1
organization:
  name: Limits
  units: [{id: co, name: Co, level: company}]
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co}
kpis:
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,
     supports: [grow], target: {value: 100, by: 2026-12-31}}
  - {id: galaxy, name: Stars counted, unit: co, frequency: monthly, direction: increase,
     bounds: {min: 0, max: 1.0e+20}, supports: [grow]}
  - {id: share, name: Share, unit: co, frequency: monthly, direction: increase,
     ratio: {numerator: won, denominator: tried}, supports: [grow]}
"""


@pytest.fixture
def limits(los: Los, workdir: Path) -> Los:
    (workdir / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    for command in (("init", "."), ("apply", "strategy.yaml")):
        result = los(*command)
        assert result.exit_code == 0, result.output
    return los


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("status", "--as-of", "9999-12-31"), "9999-12-31 is outside the supported dates"),
        (("status", "--as-of", "0001-01-01"), "0001-01-01 is outside the supported dates"),
        (("check", "--as-of", "9999-12-31"), "9999-12-31 is outside the supported dates"),
        (("forecast", "--as-of", "0001-01-01"), "0001-01-01 is outside the supported dates"),
        (("status", "--period", "9999-Q4"), "year 9999 is outside 1900..2200"),
        (("explain", "sales", "--from", "0001-01", "--to", "2026-02"), "outside 1900..2200"),
        (("status", "--as-of", "2026-02-30"), "expected a date YYYY-MM-DD"),
        # A date written right that names no day says why, not just the form expected.
        (("status", "--as-of", "2026-02-30"), "(day is out of range for month)"),
        (("inbox", "--as-of", "2026-13-01"), "(month must be in 1..12)"),
    ],
)
def test_dates_outside_the_calendar_are_a_clear_error(
    limits: Los, argv: tuple[str, ...], reason: str
) -> None:
    result = limits(*argv)
    assert result.exit_code == 2, result.output
    assert reason in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("argv", [("status", "--as-of", "2200-12-31"), ("check", "--as-of",
                         "1900-01-01"), ("forecast", "--as-of", "1900-01-01"), ("forecast",
                         "--as-of", "2200-12-31")])  # fmt: skip
def test_the_edges_of_the_supported_dates_work(limits: Los, argv: tuple[str, ...]) -> None:
    result = limits(*argv)
    assert result.exit_code in (0, 1), result.output


def test_values_beyond_the_limit_are_refused_unless_bounds_allow_them(
    limits: Los, workdir: Path
) -> None:
    data = workdir / "data.csv"
    data.write_text(
        "kpi,period,value,numerator,denominator\n"
        "sales,2026-01,1.7e308,,\n"
        "sales,2026-02,-2e15,,\n"
        "sales,2026-03,inf,,\n"
        "galaxy,2026-01,5e19,,\n"
        "galaxy,2026-02,2e20,,\n"
        "share,2026-01,,1e300,1e300\n"
        "sales,2026-04,1e15,,\n",
        encoding="utf-8",
    )
    result = limits("load", str(data))
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    for row, reason in [
        (2, "column value: 1.7e+308 is beyond 1e+15 in size, the limit for a KPI's values"),
        (3, "column value: -2e+15 is beyond 1e+15 in size"),
        (4, "column value: 'inf' is not a finite number"),
        (6, "column value: 2e+20 is outside the KPI's bounds [0, 1e+20]"),
        (7, "column numerator: 1e+300 is beyond 1e+15 in size, the limit for numbers"),
    ]:
        assert f"row {row}: {reason}" in output, output
    assert "row 5:" not in output and "row 8:" not in output  # within bounds, or the limit
    status = limits("status", "--as-of", "2026-05-15", "--format", "json")
    assert '"actual":null' in status.output and '"actual":1' not in status.output  # none stored
    # Without the bad rows, the file loads: values up to the limit, and beyond within bounds.
    data.write_text("kpi,period,value\nsales,2026-04,1e15\ngalaxy,2026-04,5e19\n", encoding="utf-8")
    assert limits("load", str(data)).exit_code == 0
    status = json.loads(limits("status", "--as-of", "2026-05-15", "--format", "json").output)
    actual = {row["id"]: row["actual"] for row in status["kpis"]}
    assert (actual["sales"], actual["galaxy"]) == (1e15, 5e19)
