"""Every rule against its YAML file of pass and fail cases (tests/fixtures/rule_cases/CODE.yml).

A case gives the parts of a strategy file it needs (`units` and `people` default to a small
company, see DEFAULTS; `actions` too), optional `as_of`, `options`, `fiscal_year_start` and
`measurements` (rows `[kpi, unit, period, value]`; their presence means the check runs on
stored data) with `ratio_rows` (stored ratio rows `[kpi, unit, period, numerator,
denominator]` whose denominator may make no ratio), and `expect`: the findings of this rule only, as
`{subject: kind:id, severity, message}` where `message` is a fragment of the finding's
message. An empty `expect` is a pass case.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineofsight.checks.base import Selection
from lineofsight.checks.context import Observation
from lineofsight.checks.registry import all_rules
from lineofsight.checks.runner import run_checks
from lineofsight.domain.periods import parse_period
from lineofsight.spec.dump import dump_yaml
from lineofsight.spec.files import parse_strategy

CASES = Path(__file__).parents[1] / "fixtures" / "rule_cases"
DEFAULT_AS_OF = dt.date(2026, 11, 22)
DEFAULTS: dict[str, Any] = {
    "units": [
        {"id": "co", "name": "Company", "level": "company"},
        {"id": "dept", "name": "Department", "level": "department", "parent": "co"},
        {"id": "team", "name": "Team", "level": "team", "parent": "dept"},
    ],
    "people": [
        {"id": "ann", "name": "Ann", "unit": "co"},
        {"id": "bob", "name": "Bob", "unit": "dept"},
    ],
}


def _load() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CASES.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        for case in data["cases"]:
            found.append((data["rule"], case))
    return found


ALL = _load()


def _strategy(case: dict[str, Any]) -> str:
    doc = {
        "version": 1,
        "organization": {
            "name": "Case",
            "calendar": {"fiscal_year_start": case.get("fiscal_year_start", 1)},
            "units": case.get("units", DEFAULTS["units"]),
            "people": case.get("people", DEFAULTS["people"]),
        },
        "objectives": case.get("objectives", []),
        "kpis": case.get("kpis", []),
    }
    if "checks" in case:
        doc["checks"] = case["checks"]
    if "actions" in case:
        doc["actions"] = case["actions"]
    return dump_yaml(doc)


@pytest.mark.parametrize(
    ("code", "case"), ALL, ids=[f"{code}-{case['name']}" for code, case in ALL]
)
def test_rule_case(code: str, case: dict[str, Any]) -> None:
    org = parse_strategy(_strategy(case), f"{code}.yml")
    measurements = None
    if "measurements" in case:
        measurements = {}
        for kpi, unit, period, value in case["measurements"]:
            p = parse_period(str(period), org.calendar)
            measurements.setdefault(kpi, []).append(Observation(unit, p.start, p.end, value))
    as_of = case.get("as_of", DEFAULT_AS_OF)
    selection = Selection(select=frozenset({code}), options={code: case.get("options", {})})
    ratios = [
        (kpi, unit, str(period), float(numerator), float(denominator))
        for kpi, unit, period, numerator, denominator in case.get("ratio_rows", [])
    ]
    report = run_checks(org, as_of, measurements, selection, ratios)
    got = [
        (f"{f.subject.kind}:{f.subject.id}", f.severity.value, f.message) for f in report.findings
    ]
    expected = case["expect"] or []
    unmatched = list(got)
    for want in expected:
        hit = next(
            (
                g
                for g in unmatched
                if g[0] == want["subject"]
                and g[1] == want.get("severity", g[1])
                and want.get("message", "") in g[2]
            ),
            None,
        )
        assert hit is not None, f"expected {want}, got {got}"
        unmatched.remove(hit)
    assert not unmatched, f"unexpected findings: {unmatched}"


def test_every_rule_has_two_fail_cases_and_a_pass_case() -> None:
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for code, case in ALL:
        by_rule.setdefault(code, []).append(case)
    for rule in all_rules():
        cases = by_rule.get(rule.code, [])
        fails = [c for c in cases if c["expect"]]
        passes = [c for c in cases if not c["expect"]]
        assert len(fails) >= 2 and len(passes) >= 1, (
            f"{rule.code}: {len(fails)} fail, {len(passes)} pass"
        )
