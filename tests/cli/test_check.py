"""`los check` on a strategy file and on the store, in text, JSON and SARIF."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from lineofsight.checks.base import Finding, Severity, Subject, SubjectKind, finding_plain
from lineofsight.checks.runner import CheckReport
from lineofsight.cli.render_checks import report_json
from lineofsight.domain.model import Location
from tests.conftest import Los, invoke

EXAMPLES = Path(__file__).parents[2] / "src" / "lineofsight" / "examples"

PROBLEMS = """\
version: 1
organization:
  name: Checked
  units:
    - {id: co, name: Co, level: company}
  people:
    - {id: ann, name: Ann, unit: co}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co, owner: ann, deadline: 2027-12-31}
kpis:
  - {id: revenue, name: Revenue, unit: co, owner: ann, frequency: monthly, direction: increase,
     supports: [grow], target: {value: 100, by: 2027-12-31}}
  - {id: cost, name: Cost, unit: co, owner: ann, frequency: monthly, direction: increase,
     type: leading, contributes_to: [{kpi: revenue, effect: negative}],
     target: {value: 5, by: 2027-12-31}}
  - {id: orphan, name: Orphan, unit: co, owner: ghost, frequency: monthly, direction: increase,
     target: {value: 5, by: 2027-12-31}}
"""


def run(*args: str):  # type: ignore[no-untyped-def]
    return invoke(list(args), catch_exceptions=False)


def _file(tmp_path: Path, text: str = PROBLEMS) -> Path:
    path = tmp_path / "strategy.yaml"
    path.write_text(text)
    return path


def test_text_output_groups_by_rule_with_locations(tmp_path: Path) -> None:
    result = run("check", str(_file(tmp_path)), "--as-of", "2026-11-22")
    assert result.exit_code == 1, result.output  # CF01 and OW01 (unknown owner) are errors
    out = result.output
    assert "CF01 direction-conflict error (1)" in out
    assert f"{tmp_path}/strategy.yaml:13: KPI 'cost' is to increase" in out
    assert "OW01 missing-owner error (1)" in out
    assert "AL01 kpi-without-objective warning (1)" in out
    assert "3 findings in" in out and "2 errors, 1 warning, 0 info" in out
    assert "Skipped AC01, DA01, DA02, SM03" in out


def test_json_output_has_the_spec_shape(tmp_path: Path) -> None:
    result = run("check", str(_file(tmp_path)), "--as-of", "2026-11-22", "--format", "json")
    data = json.loads(result.output)
    assert data["as_of"] == "2026-11-22"
    finding = next(f for f in data["findings"] if f["code"] == "AL01")
    assert finding == {
        "code": "AL01",
        "name": "kpi-without-objective",
        "severity": "warning",
        "subject": {"kind": "kpi", "id": "orphan"},
        "message": "KPI 'orphan' supports no objective, contributes to no KPI and feeds no formula",
        "location": {"file": str(tmp_path / "strategy.yaml"), "line": 16},
    }
    assert data["summary"] == {"error": 2, "warning": 1, "info": 0}


def test_sarif_output(tmp_path: Path) -> None:
    result = run("check", str(_file(tmp_path)), "--as-of", "2026-11-22", "--format", "sarif")
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0"
    run0 = sarif["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    assert len(rules) == 22 and rules[0]["id"] == "AC01"
    levels = {r["ruleId"]: r["level"] for r in run0["results"]}
    assert levels == {"CF01": "error", "OW01": "error", "AL01": "warning"}
    for r in run0["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1


def test_select_ignore_and_options_on_the_command_line(tmp_path: Path) -> None:
    path = str(_file(tmp_path))
    only = run("check", path, "--select", "AL01,OW02", "--format", "json")
    assert {f["code"] for f in json.loads(only.output)["findings"]} == {"AL01"}
    assert only.exit_code == 0
    skipped = run("check", path, "--ignore", "CF01", "--ignore", "OW01", "--format", "json")
    assert {f["code"] for f in json.loads(skipped.output)["findings"]} == {"AL01"}
    tight = run("check", path, "--select", "OW02", "--option", "OW02.max=1", "--format", "json")
    assert [f["message"] for f in json.loads(tight.output)["findings"]] == [
        "'ann' owns 2 KPIs, more than 1"
    ]


def test_file_settings_and_item_suppression(tmp_path: Path) -> None:
    text = (
        PROBLEMS.replace(
            "target: {value: 5, by: 2027-12-31}}\n", "target: {value: 5, by: 2027-12-31}}\n", 1
        )
        + "checks: {ignore: [CF01], options: {OW02: {max: 1}}}\n"
    )
    text = text.replace("owner: ghost,", "owner: ghost, lint: {ignore: [AL01]},")
    result = run("check", str(_file(tmp_path, text)), "--format", "json")
    data = json.loads(result.output)
    assert {f["code"] for f in data["findings"]} == {"OW01", "OW02"}
    assert data["suppressed"] == 1


def test_bad_settings_are_usage_errors(tmp_path: Path) -> None:
    path = str(_file(tmp_path))
    result = run("check", path, "--select", "ZZ99")
    assert result.exit_code == 2
    assert "--select: unknown rule ZZ99" in result.output
    assert "error: bad check settings: --select: unknown rule ZZ99" in result.output
    # Several bad codes: said in one order every time (sorted), the summary saying how many.
    for given in ("ZZ99,YY98", "YY98,ZZ99"):
        result = run("check", path, "--select", given, "--ignore", "XX1")
        assert result.exit_code == 2
        summary = result.output.splitlines()[0]
        assert "--select: unknown rule YY98" in summary and "(and 2 more)" in summary, summary
        said = [line for line in result.output.splitlines() if ": unknown rule" in line][1:]
        assert [line.split("unknown rule ")[1].split()[0] for line in said] == [
            "YY98",
            "ZZ99",
            "XX1",
        ]
    result = run("check", path, "--option", "OW02.max=lots")
    assert result.exit_code == 2
    assert "OW02.max must be a whole number, got 'lots'" in result.output
    result = run("check", path, "--option", "OW02.limit=3")
    assert "OW02 has no option 'limit' (options: max)" in result.output
    result = run("check", path, "--as-of", "22/11/2026")
    assert result.exit_code == 2 and "expected a date YYYY-MM-DD" in result.output


def test_bad_strategy_file_exits_2(tmp_path: Path) -> None:
    result = run("check", str(_file(tmp_path, "version: 1\norganization: {}\n")))
    assert result.exit_code == 2
    assert "organization.name: required key is missing" in result.output


def test_store_check_uses_measurements(los: Los, workdir: Path) -> None:
    assert los("init", "ws", "--example", "globalhealth").exit_code == 0
    result = los("check", "--as-of", "2026-11-22", "--format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 0
    stale = [f for f in data["findings"] if f["code"] == "DA01"]
    assert [f["subject"]["id"] for f in stale] == ["hand_hygiene_pct"]
    assert stale[0]["location"]["line"] > 0
    assert data["skipped_rules"] == []


def test_a_ratio_stored_over_a_zero_denominator_is_an_error_naming_kpi_unit_and_period(
    los: Los, workdir: Path
) -> None:
    # Refused at every input now; a store written before may hold one: said, never dropped.
    from sqlalchemy import text

    from lineofsight.store.database import Store

    assert los("init", "ws", "--example", "globalhealth").exit_code == 0
    rows = workdir / "ratio.csv"
    rows.write_text("kpi,period,numerator,denominator\nreadmission_rate,2026-03,890,41200\n")
    assert los("load", str(rows)).exit_code == 0
    assert los.db_url is not None
    store = Store(los.db_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE measurements SET denominator = 0, value = NULL "
                    "WHERE kpi_id = 'readmission_rate' AND period = '2026-03' "
                    "AND unit_id = 'globalhealth'"
                )
            )
    finally:
        store.close()
    result = los("check", "--as-of", "2026-11-22", "--format", "json", "--select", "DA02")
    found = [(f["severity"], f["message"]) for f in json.loads(result.output)["findings"]]
    assert found == [
        (
            "error",
            "KPI 'readmission_rate' has a stored value at unit 'globalhealth' for 2026-03 that "
            "makes no ratio: the denominator 0 under the numerator 890 makes no ratio (give 0 "
            "and 0 for a period with nothing to count); it counts as no value until that "
            "period is loaded again or deleted",
        )
    ]
    store = Store(los.db_url)
    try:
        with store.reading() as conn:
            kept = conn.execute(
                text(
                    "SELECT numerator, denominator FROM measurements WHERE kpi_id = "
                    "'readmission_rate' AND period = '2026-03' AND unit_id = 'globalhealth'"
                )
            ).all()
    finally:
        store.close()
    assert [tuple(row) for row in kept] == [(890.0, 0.0)], "the value is kept"


def test_examples_show_their_planted_findings(tmp_path: Path) -> None:
    expected = {
        "techinnovate": {
            ("AL01", "social_followers"),
            ("AL02", "partner_ecosystem"),
            ("OW02", "claire_dubois"),
            ("AL06", "dev_relations"),
        },
        "globalhealth": {("OW03", "emergency"), ("AL06", "patient_transport")},
        "manufacturing": {
            ("AL02", "second_source_castings"),
            ("AL03", "reduce_maintenance_backlog"),
            ("AL03", "maintenance_backlog_hours"),
            ("CF02", "ccc"),
        },
    }
    for name, findings in expected.items():
        result = run(
            "check",
            str(EXAMPLES / name / "strategy.yaml"),
            "--as-of",
            "2026-11-22",
            "--format",
            "json",
        )
        got = {(f["code"], f["subject"]["id"]) for f in json.loads(result.output)["findings"]}
        assert got == findings, name


def test_json_report_is_the_text_json_dumps_makes() -> None:
    """The findings' lines are written from a template: the text must be that of indenting
    the whole report with `json.dumps`, whatever the findings hold."""
    findings = [
        Finding("AL01", "kpi-without-objective", Severity.ERROR, Subject(SubjectKind.KPI, "r"),
                'KPI "revenue" \\ has no objective\nat all', Location("/x/strategy.yaml", 12)),
        Finding("OW02", "person-overload", Severity.WARNING, Subject(SubjectKind.PERSON, "zoë"),
                "Zoë — owns 9 KPIs\t(€, 数)", Location("dir/ä b.yaml", 0)),
        Finding("SM02", "objective-without-deadline", Severity.INFO,
                Subject(SubjectKind.OBJECTIVE, "o\u2028"), "control \x01 char", None),
    ]  # fmt: skip
    for shown in ([], findings):
        report = CheckReport(dt.date(2026, 11, 22), list(shown), ["AL01", "OW02"], ["DA01"], 3)
        expected = {
            "as_of": "2026-11-22",
            "findings": [finding_plain(f) for f in shown],
            "summary": {s.value: report.count(s) for s in Severity},
            "rules_run": ["AL01", "OW02"],
            "skipped_rules": ["DA01"],
            "suppressed": 3,
        }
        assert report_json(report) == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def test_store_findings_show_the_file_relative_to_its_workspace_from_any_folder(
    los: Los, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = los("check", "--select", "AL01")
    assert "strategy.yaml:617: KPI 'social_followers' supports no objective" in result.output
    assert str(workdir) not in result.output
    data = json.loads(los("check", "--select", "AL01", "--format", "json").stdout)
    assert {f["location"]["file"] for f in data["findings"]} == {"strategy.yaml"}


def _line_of(path: Path, item_id: str) -> int:
    """The line of the file where the item `item_id` is defined."""
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if f"id: {item_id}" in line)


def test_findings_name_the_file_only_where_it_is_true_after_a_change_in_the_web_app(
    los: Los, workdir: Path
) -> None:
    from lineofsight.services.export import stored_organization
    from lineofsight.services.strategy_edit import Edit, item_plain, save_edit
    from lineofsight.store.database import Store

    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    file = workdir / "ws" / "strategy.yaml"
    store = Store(los.db_url)
    try:
        item = item_plain(stored_organization(store), "kpi", "social_followers")
        assert item is not None
        edit = Edit("kpi", "social_followers", {**item, "name": "Followers"})
        save_edit(store, edit, actor="ed", source="the web app (ed, approved by ada)")
    finally:
        store.close()
    today = dt.datetime.now(dt.UTC).date()
    args = ("check", "--as-of", "2026-11-22", "--select", "AL01,AL02")
    text = los(*args).output
    assert "the web app (" not in text.replace(f"changed in the web app by ed on {today}", "")
    assert (
        f"kpi social_followers (changed in the web app by ed on {today}): KPI 'social_followers'"
        in text
    )
    unchanged = f"strategy.yaml:{_line_of(file, 'partner_ecosystem')}: no KPI measures"
    assert unchanged in text
    data = json.loads(los(*args, "--format", "json").stdout)
    where = {f["subject"]["id"]: f["location"] for f in data["findings"]}
    assert where == {
        "social_followers": {"file": None, "line": None},
        "partner_ecosystem": {"file": "strategy.yaml", "line": _line_of(file, "partner_ecosystem")},
    }
    sarif = json.loads(los(*args, "--format", "sarif").stdout)["runs"][0]["results"]
    located = {r["properties"]["subject"]["id"]: r["locations"] for r in sarif}
    assert located["social_followers"] == [
        {
            "logicalLocations": [
                {"name": "social_followers", "fullyQualifiedName": "kpi:social_followers",
                 "kind": "kpi"}
            ]
        }
    ]  # fmt: skip
    assert "physicalLocation" in located["partner_ecosystem"][0]
    # Once the file is no longer what was applied, its lines are not named (the file is);
    # as it was again, they are.
    applied = file.read_bytes()
    file.write_bytes(b"# a line more\n" + applied)
    data = json.loads(los(*args, "--format", "json").stdout)
    where = {f["subject"]["id"]: f["location"] for f in data["findings"]}
    assert where["partner_ecosystem"] == {"file": "strategy.yaml", "line": None}
    assert "strategy.yaml: no KPI measures" in los(*args).output
    file.write_bytes(applied)
    data = json.loads(los(*args, "--format", "json").stdout)
    where = {f["subject"]["id"]: f["location"] for f in data["findings"]}
    assert where["partner_ecosystem"]["line"] == _line_of(file, "partner_ecosystem")
    # An apply of the file puts every item back at its line.
    assert los("apply", str(file), "--force").exit_code == 0
    data = json.loads(los(*args, "--format", "json").stdout)
    where = {f["subject"]["id"]: f["location"] for f in data["findings"]}
    assert where["social_followers"] == {"file": "strategy.yaml", "line": 617}
