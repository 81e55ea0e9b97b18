"""Check findings as text for people, JSON for programs and SARIF 2.1.0 for code hosts."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from json.encoder import encode_basestring as _string  # the text of json.dumps(ensure_ascii=False)
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lineofsight import __version__
from lineofsight.checks.base import CheckReport, Finding, Severity
from lineofsight.domain.text import plural
from lineofsight.errors import Problem

COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def report_json(report: CheckReport) -> str:
    """The report as indented JSON: the text `json.dumps(..., indent=2)` makes of it.

    Each finding's lines are written from a template (its fields are always the same): the
    indenting encoder is pure Python and took longer than the rules of a large store."""
    data = {
        "as_of": report.as_of.isoformat(),
        "findings": [],
        "summary": {s.value: report.count(s) for s in Severity},
        "rules_run": report.rules_run,
        "skipped_rules": report.skipped,
        "suppressed": report.suppressed,
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if not report.findings:
        return text
    # `"findings": []` is the second key, after a date: its first occurrence is the key's.
    listed = ",\n".join(map(_finding_json, report.findings))
    return text.replace('"findings": []', f'"findings": [\n{listed}\n  ]', 1)


def _finding_json(f: Finding) -> str:
    """One finding of `report_json`, as `json.dumps` indents `finding_plain(f)` there."""
    at = f.location
    file = "null" if at is None else _string(at.file)
    line = int.__repr__(at.line) if at is not None and at.line else "null"
    return (
        f'    {{\n      "code": {_string(f.code)},\n      "name": {_string(f.name)},\n'
        f'      "severity": {_string(f.severity.value)},\n      "subject": {{\n'
        f'        "kind": {_string(f.subject.kind.value)},\n'
        f'        "id": {_string(f.subject.id)}\n      }},\n'
        f'      "message": {_string(f.message)},\n      "location": {{\n'
        f'        "file": {file},\n        "line": {line}\n      }}\n    }}'
    )


def report_sarif(report: CheckReport, cwd: Path) -> str:
    """SARIF 2.1.0 as code hosts read it: each location relative to `%SRCROOT%`, the root of
    the git repository that holds the checked files (else `cwd`), whatever folder `los` ran in;
    each rule with its help and a link to its section of the rule reference. `cwd`: the
    folder the findings' file names are relative to (the workspace's, on the store)."""
    # Imported here: the rules' modules (and Polars) are loaded for SARIF only, not to print
    # a kept report as text or JSON.
    from lineofsight.checks.docs import DOCS_URL, rule_help_uri, rule_markdown, rule_text
    from lineofsight.checks.registry import all_rules

    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    root = source_root([f.location.file for f in report.findings if f.location is not None], cwd)
    driver = {
        **_tool(DOCS_URL),
        "rules": [
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary()},
                "fullDescription": {"text": " ".join((rule.__doc__ or "").split())},
                "help": {"text": rule_text(rule), "markdown": "\n".join(rule_markdown(rule))},
                "helpUri": rule_help_uri(rule),
                "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
            }
            for rule in rules
        ],
    }
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "partialFingerprints": {
                "lineOfSightSubject/v1": f"{f.code}:{f.subject.kind}:{f.subject.id}"
            },
            "properties": {"subject": {"kind": f.subject.kind.value, "id": f.subject.id}},
        }
        if f.location is not None:
            physical: dict[str, Any] = {"artifactLocation": _artifact(f.location.file, root, cwd)}
            if f.location.line:
                physical["region"] = {"startLine": f.location.line}
            result["locations"] = [{"physicalLocation": physical}]
        else:
            # Not in the strategy file (changed in the web app since): the item alone.
            kind, item_id = f.subject.kind.value, f.subject.id
            logical = {"name": item_id, "fullyQualifiedName": f"{kind}:{item_id}", "kind": kind}
            result["locations"] = [{"logicalLocations": [logical]}]
            changed = report.changed.get((kind, item_id))
            if changed is not None:
                result["properties"]["changed"] = changed
        results.append(result)
    return _sarif(driver, results, root, {"asOf": report.as_of.isoformat()})


# The rule id of a problem that keeps a strategy file from loading (an unknown id, a cycle, a
# duplicate id, a bad value): not one of the alignment rules, which run on a file that loads.
FILE_PROBLEM = "file-problem"


def problems_sarif(problems: Sequence[Problem], cwd: Path) -> str:
    """SARIF 2.1.0 of a strategy file that does not load: each problem a result of error level
    at its file and line, so that a code host shows them as it shows findings."""
    from lineofsight.checks.docs import DOCS_URL

    root = source_root([p.file for p in problems], cwd)
    driver = {
        **_tool(DOCS_URL),
        "rules": [
            {
                "id": FILE_PROBLEM,
                "name": "StrategyFileProblem",
                "shortDescription": {"text": "The strategy file does not load"},
                "fullDescription": {
                    "text": "A problem that keeps the strategy file from loading; the alignment "
                    "rules run once the file loads."
                },
                "defaultConfiguration": {"level": "error"},
            }
        ],
    }
    results = []
    for problem in problems:
        physical: dict[str, Any] = {"artifactLocation": _artifact(problem.file, root, cwd)}
        if problem.line:
            physical["region"] = {"startLine": problem.line}
        results.append(
            {
                "ruleId": FILE_PROBLEM,
                "ruleIndex": 0,
                "level": "error",
                "message": {"text": problem.message},
                "locations": [{"physicalLocation": physical}],
            }
        )
    return _sarif(driver, results, root, {"loaded": False})


def problems_json(summary: str, problems: Sequence[Problem]) -> str:
    """JSON of a strategy file that does not load: the summary and each problem with its file
    and line (null when it has none)."""
    data = {
        "error": summary,
        "problems": [
            {"file": p.file, "line": p.line or None, "message": p.message} for p in problems
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _tool(docs_url: str) -> dict[str, str]:
    return {"name": "Line of Sight", "version": __version__, "informationUri": docs_url}


def _sarif(
    driver: dict[str, Any], results: list[dict[str, Any]], root: Path, properties: dict[str, Any]
) -> str:
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
                "results": results,
                "properties": properties,
            }
        ],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


SRCROOT = "%SRCROOT%"


def source_root(files: Sequence[str], cwd: Path) -> Path:
    """The root of the git repository holding the first checked file, else `cwd`."""
    for file in files[:1]:
        start = (cwd / file).resolve().parent
        for folder in (start, *start.parents):
            if (folder / ".git").exists():
                return folder
    return cwd.resolve()


def _artifact(file: str, root: Path, cwd: Path) -> dict[str, str]:
    """A file as SARIF locates it: relative to `%SRCROOT%`, or an absolute URI outside it."""
    path = (cwd / file).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        return {"uri": path.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}


def report_text(report: CheckReport, source: str) -> list[str]:
    """Rich-markup lines: findings grouped by rule, most serious rules first."""
    lines = []
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[f.code].append(f)
    order = sorted(groups, key=lambda code: (min(f.severity.rank for f in groups[code]), code))
    for code in order:
        items = groups[code]
        first = items[0]
        worst = min((f.severity for f in items), key=lambda s: s.rank)
        lines.append(
            f"[bold]{code} {first.name}[/] [{COLOUR[worst]}]{worst.value}[/] ({len(items)})"
        )
        for f in items:
            where = f"{f.location}: " if f.location else _changed(f, report)
            tag = f"[{COLOUR[f.severity]}]{f.severity.value}[/] " if f.severity is not worst else ""
            lines.append(f"  {_escape(where)}{tag}{_escape(f.message)}")
        lines.append("")
    counts = ", ".join(_counted(report.count(s), s) for s in Severity)
    total = len(report.findings)
    lines.append(
        f"{plural(total, 'finding')} in {_escape(source)} as of "
        f"{report.as_of}: {counts}"
        + (f"; {report.suppressed} suppressed" if report.suppressed else "")
    )
    if report.skipped:
        lines.append(
            f"Skipped {', '.join(report.skipped)}: they need measurements; run `los check` "
            "without a file to check the store."
        )
    return lines


def _changed(f: Finding, report: CheckReport) -> str:
    """The item of a finding with no place in the strategy file, and how it changed since."""
    kind, item_id = f.subject.kind.value, f.subject.id
    changed = report.changed.get((kind, item_id))
    return f"{kind} {item_id} ({changed}): " if changed is not None else ""


def _counted(n: int, severity: Severity) -> str:
    # "info" is a mass noun: 0 info, 1 info, 2 info.
    return plural(n, severity.value, None if severity is not Severity.INFO else "info")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
