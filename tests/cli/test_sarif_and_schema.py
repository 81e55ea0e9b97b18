"""SARIF as code hosts read it, and a JSON Schema that says what the strategy file allows."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from lineofsight.checks.docs import DOCS_URL
from lineofsight.cli.app import app
from lineofsight.domain.periods import PeriodError, parse_period
from lineofsight.spec.schema import PERIOD_PATTERN, json_schema
from tests.cli.test_check import PROBLEMS
from tests.conftest import invoke

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "src" / "lineofsight" / "examples"
VALID = ROOT / "tests" / "fixtures" / "specs" / "valid"


def _sarif_from(cwd: Path, file: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(
        app, ["check", file, "--as-of", "2026-11-22", "--format", "sarif"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("where", ["repository root", "a sub-folder", "outside the repository"])
def test_sarif_locations_are_relative_to_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "strategy" / "docs").mkdir(parents=True)
    (repo / "strategy" / "main strategy.yaml").write_text(PROBLEMS)
    cwd = {
        "repository root": repo,
        "a sub-folder": repo / "strategy" / "docs",
        "outside the repository": tmp_path,
    }[where]
    file = os.path.relpath(repo / "strategy" / "main strategy.yaml", cwd)
    run = _sarif_from(cwd, file, monkeypatch)["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
    locations = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert locations
    for location in locations:
        assert location["artifactLocation"] == {
            "uri": "strategy/main%20strategy.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        assert location["region"]["startLine"] >= 1


def test_sarif_without_a_repository_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "strategy.yaml").write_text(PROBLEMS)
    run = _sarif_from(tmp_path, "strategy.yaml", monkeypatch)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "strategy.yaml", "uriBaseId": "%SRCROOT%"}


def test_every_sarif_rule_has_help_and_a_help_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "strategy.yaml").write_text(PROBLEMS)
    driver = _sarif_from(tmp_path, "strategy.yaml", monkeypatch)["runs"][0]["tool"]["driver"]
    docs = (ROOT / "docs" / "checks.md").read_text()
    assert len(driver["rules"]) == 22
    for rule in driver["rules"]:
        assert rule["help"]["text"].startswith(rule["shortDescription"]["text"])
        assert "Why it matters" in rule["help"]["text"]
        assert "**Bad:**" in rule["help"]["markdown"] and "```yaml" in rule["help"]["markdown"]
        uri = rule["helpUri"]
        anchor = uri.split("#", 1)[1]
        assert uri.startswith(DOCS_URL + "#")
        # The anchor is the rule's heading in docs/checks.md, as a Markdown renderer makes it.
        assert f"## {rule['id']} {rule['name']}" in docs
        assert anchor == f"{rule['id'].lower()}-{rule['name']}"


# ---------------------------------------------------------------- JSON Schema

SCHEMA = json_schema()


def _errors(document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [error.message for error in validator.iter_errors(document)]


def test_the_schema_has_an_id_and_is_valid_2020_12() -> None:
    assert SCHEMA["$id"].startswith("urn:lineofsight:")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_los_schema_prints_the_same_schema() -> None:
    result = invoke(["schema"])
    assert json.loads(result.stdout) == SCHEMA


GOOD_FILES = [
    *sorted(EXAMPLES.glob("*/strategy.yaml")),
    *sorted(VALID.glob("*.yaml")),
]


@pytest.mark.parametrize("path", GOOD_FILES, ids=[p.parent.name + "/" + p.name for p in GOOD_FILES])
def test_good_files_validate(path: Path) -> None:
    # JSON has no dates: as an editor's YAML server reads the file (YAML 1.2), dates are text.
    document = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
    assert _errors(document) == []


def _with_kpi(**fields: Any) -> dict[str, Any]:
    base = json.loads(json.dumps(yaml.safe_load((VALID / "minimal.yaml").read_text()), default=str))
    document = copy.deepcopy(base)
    kpi = {"id": "k", "name": "K", "unit": document["organization"]["units"][0]["id"]}
    kpi.update({"frequency": "monthly", "direction": "increase"})
    kpi.update(fields)
    document.setdefault("kpis", []).append(kpi)
    return document


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"direction": "range"}, "'range' is a required property"),
        ({"range": {"low": 1, "high": 2}}, "should not be valid"),
        (
            {"formula": "a + b", "ratio": {"numerator": "n", "denominator": "d"}},
            "should not be valid",
        ),
        ({"tolerance": 0.1, "tolerance_abs": 2}, "should not be valid"),
        ({"baseline": {"period": "2026-Q5", "value": 1}}, "'2026-Q5'"),
        ({"targets": {"2026-13": 5}}, "does not match"),
        ({"target": {"value": 5, "by": "2027-12-31"}, "targets": {"Q3-2026": 5}}, "does not match"),
    ],
)
def test_bad_kpis_fail(fields: dict[str, Any], why: str) -> None:
    errors = _errors(_with_kpi(**fields))
    assert errors, f"{fields} validated"
    assert any(why in message for message in errors), errors


@pytest.mark.parametrize(
    "fields",
    [
        {"direction": "range", "range": {"low": 1, "high": 2}},
        {"formula": "a + b"},
        {"tolerance_abs": 2},
        {"baseline": {"period": 2025, "value": 1}, "targets": {"FY2027-Q1": 3, "2026-W05": 2}},
    ],
)
def test_good_kpis_pass(fields: dict[str, Any]) -> None:
    assert _errors(_with_kpi(**fields)) == []


PERIODS = [
    "2026", "2026-Q3", "2026-q3", "2026-07", "2026-W05", "2026-w52", "2026-07-15", "FY2027",
    "fy2027-Q1", "2026-Q5", "2026-13", "2026-W60", "2026-07-32", "FY27", "Q3-2026", "2026-7",
    "2026-00", "2026-Q0", "20260", "2026-07-1",
]  # fmt: skip


@pytest.mark.parametrize("text", PERIODS)
def test_the_period_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    try:
        parse_period(text)
        parsed = True
    except PeriodError:
        parsed = False
    assert (re.match(PERIOD_PATTERN, text) is not None) == parsed


@pytest.mark.parametrize("where", ["workspace", "its data folder", "outside it"])
def test_sarif_of_the_store_locates_the_strategy_file_from_any_folder(
    los: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # The findings on the store name the file relative to its workspace: SARIF's location
    # (its base's URI joined with its own) is the file itself, whichever folder `los` ran in.
    from urllib.parse import unquote, urlparse

    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    cwd = {"workspace": workdir / "ws", "its data folder": workdir / "ws" / "data"}
    monkeypatch.chdir(cwd.get(where, workdir.parent))
    result = los("check", "--as-of", "2026-11-22", "--format", "sarif")
    run = json.loads(result.stdout)["runs"][0]
    bases = {name: base["uri"] for name, base in run["originalUriBaseIds"].items()}
    located = set()
    for r in run["results"]:
        for location in r.get("locations", ()):
            artifact = location["physicalLocation"]["artifactLocation"]
            uri = bases[artifact["uriBaseId"]] + artifact["uri"]
            located.add(Path(unquote(urlparse(uri).path)))
    assert located == {(workdir / "ws" / "strategy.yaml").resolve()}


UNLOADABLE = """\
version: 1
organization:
  name: Broken
  units: [{id: co, name: Co, level: company}]
objectives:
  - {id: grow, title: Grow, unit: co}
  - {id: grow, title: Grow again, unit: co}
kpis:
  - id: a
    name: A
    unit: co
    frequency: monthly
    direction: increase
    supports: [{objective: grwo}]
    formula: b + 1
  - id: b
    name: B
    unit: co
    frequency: monthly
    direction: increase
    formula: a * 2
"""


def test_a_file_that_does_not_load_gives_its_problems_as_sarif_and_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A code host shows a file's load problems (a duplicate id, an unknown objective, a
    cycle) as it shows findings: SARIF results and JSON entries at file and line; exit 2."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "strategy.yaml").write_text(UNLOADABLE, encoding="utf-8")
    monkeypatch.chdir(repo)
    text = invoke(["check", "strategy.yaml"])
    assert text.exit_code == 2 and text.stdout == ""
    assert "error: strategy.yaml: " in text.stderr
    expected = {
        (7, "duplicate id 'grow'"),
        (14, "unknown objective 'grwo'"),
        (15, "cycle"),
    }

    sarif = invoke(["check", "strategy.yaml", "--format", "sarif"])
    assert sarif.exit_code == 2, sarif.output
    run = json.loads(sarif.stdout)["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["file-problem"]
    found = set()
    for result in run["results"]:
        assert result["level"] == "error" and result["ruleId"] == "file-problem"
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "strategy.yaml", "uriBaseId": "%SRCROOT%"}
        found.add((physical["region"]["startLine"], result["message"]["text"]))
    for line, fragment in expected:
        assert any(at == line and fragment in message for at, message in found), (line, found)

    assert invoke(["check", "strategy.yaml", "-o", "out.sarif"]).exit_code == 2
    assert json.loads((repo / "out.sarif").read_text())["runs"][0]["results"] == run["results"]

    written = invoke(["check", "strategy.yaml", "--format", "json", "-o", "out.json"])
    assert written.exit_code == 2
    data = json.loads((repo / "out.json").read_text())
    assert data["error"].startswith("strategy.yaml: ")
    entries = {(p["file"], p["line"], p["message"]) for p in data["problems"]}
    assert {(line, message) for _, line, message in entries} == found
    assert {file for file, _, _ in entries} == {"strategy.yaml"}
