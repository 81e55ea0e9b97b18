"""Strategy files: every valid fixture parses; every invalid one reports exactly its problems.

Each invalid fixture marks the lines where a problem must be reported with a trailing
`# expect: <fragment>` comment (several separated by ` ;; `).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lineofsight.errors import SpecError
from lineofsight.spec.files import parse_strategy, read_strategy

SPECS = Path(__file__).parent.parent / "fixtures" / "specs"
EXAMPLES = Path(__file__).parents[2] / "src" / "lineofsight" / "examples"
EXPECT = re.compile(r"#\s*expect:\s*(.+)$")


def _expectations(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found.extend((number, part.strip()) for part in match.group(1).split(" ;; "))
    return found


@pytest.mark.parametrize("path", sorted((SPECS / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_file_parses(path: Path) -> None:
    org = read_strategy(path)
    assert org.name


@pytest.mark.parametrize("path", sorted((SPECS / "invalid").glob("*.yaml")), ids=lambda p: p.stem)
def test_invalid_file_reports_every_problem(path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path.name} has no `# expect:` markers"
    with pytest.raises(SpecError) as caught:
        read_strategy(path)
    problems = caught.value.problems
    unmatched = list(problems)
    for line, fragment in expected:
        hit = next((p for p in unmatched if p.line == line and fragment in p.message), None)
        assert hit is not None, (
            f"{path.name}:{line}: no problem containing {fragment!r}; got:\n"
            + "\n".join(str(p) for p in problems)
        )
        unmatched.remove(hit)
    assert not unmatched, "unexpected problems:\n" + "\n".join(str(p) for p in unmatched)
    assert all(p.file == str(path) for p in problems)


def test_full_fixture_keeps_every_field() -> None:
    org = read_strategy(SPECS / "valid" / "full.yaml")
    nps = org.kpi("nps")
    assert nps is not None
    assert nps.location is not None and nps.location.line > 0
    assert dict(nps.targets) == {"2026-Q1": 33, "FY2027-Q2": 36.5}
    assert dict(nps.unit_targets)["cs_t1"].baseline is not None
    assert org.calendar.fiscal_year_start == 4
    assert org.checks.options == (("OW02", (("max", 4),)),)
    ccc = org.kpi("ccc")
    assert ccc is not None and ccc.formula == "dio + dso - dpo"


def test_empty_text_is_a_problem_not_a_crash() -> None:
    with pytest.raises(SpecError) as caught:
        parse_strategy("", "empty.yaml")
    assert [str(p) for p in caught.value.problems] == ["empty.yaml:1: the file is empty"]


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        read_strategy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("*/strategy.yaml")), ids=lambda p: p.parent.name
)
def test_examples_parse(path: Path) -> None:
    org = read_strategy(path)
    assert len(org.kpis) >= 25
