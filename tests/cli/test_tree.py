"""`los tree` draws each KPI in full once, and says where for every other link to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lineofsight.examples import example_names
from tests.conftest import Los, invoke

EXAMPLES = Path(__file__).parents[2] / "src" / "lineofsight" / "examples"
FULL_LINE = re.compile(r" ([a-z][a-z0-9_]*) · [a-z][a-z0-9_]* · \S+ ")
REFERENCE = re.compile(r"↳ .* ([a-z][a-z0-9_]*) \(shown under (objective|KPI) ([a-z][a-z0-9_]*)\)")


@pytest.mark.parametrize("name", example_names())
@pytest.mark.parametrize("unit", [None, "first child"])
def test_each_kpi_is_drawn_in_full_once(workdir: Path, name: str, unit: str | None) -> None:
    assert invoke(["init", "ws", "--example", name]).exit_code == 0
    spec = yaml.safe_load((EXAMPLES / name / "strategy.yaml").read_text())
    argv = ["tree", "--period", "2026-10"]
    if unit is not None:
        top = spec["organization"]["units"][0]["id"]
        unit = next(u["id"] for u in spec["organization"]["units"] if u.get("parent") == top)
        argv += ["--unit", unit]
    db = f"sqlite:///{workdir / 'ws' / '.lineofsight' / 'lineofsight.db'}"
    result = invoke([*argv, "--db", db])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    full = [m.group(1) for line in lines if (m := FULL_LINE.search(line))]
    assert full, result.output
    repeated = {kpi for kpi in full if full.count(kpi) > 1}
    assert not repeated, f"drawn in full more than once: {sorted(repeated)}"
    objectives_drawn = {
        o["id"] for o in spec.get("objectives", []) if f" {o['id']} · " in result.output
    }
    for line in lines:
        if m := REFERENCE.search(line):
            kpi, kind, where = m.groups()
            assert kpi in full, f"{kpi} is referred to but never drawn"
            assert where in (objectives_drawn if kind == "objective" else set(full))
    if unit is None:
        # Every KPI that supports an objective is drawn under the tree (once).
        supporting = {k["id"] for k in spec["kpis"] if k.get("supports")}
        assert supporting <= set(full)


def test_a_kpi_without_its_periods_value_says_its_last_value_and_since_when_overdue(
    los: Los, workdir: Path
) -> None:
    # 5 January 2027: November's values of the worked example were due on 30 December.
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    result = los("tree", "--as-of", "2027-01-05", "--unit", "customer_service")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if " first_response_hours · " in x)
    assert line.endswith(
        "first_response_hours · customer_service · 2026-11 - / 2.422 hours · last 2.58 hours"
        " (2026-10) · "
        "overdue since 2026-12-30"
    ), line
    # A reported value says neither.
    reported = los("tree", "--period", "2026-10", "--unit", "customer_service").output
    line = next(x for x in reported.splitlines() if " first_response_hours · " in x)
    assert line.endswith("2026-10 2.58 hours / 2.492 hours"), line
