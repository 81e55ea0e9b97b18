"""The whole check on a generated organisation with defects of every kind, against the
findings recorded before the check was rewritten for speed (tests/fixtures/check_findings/).

To record them again after a deliberate change of a rule:
    python -m tests.checks.test_findings_differential
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from lineofsight.checks.runner import run_checks
from tests.checks.chaos import chaos

EXPECTED = Path(__file__).parents[1] / "fixtures" / "check_findings" / "chaos.json"
DAYS = (dt.date(2026, 11, 22), dt.date(2026, 12, 5))


def _findings(folder: Path, with_data: bool) -> dict[str, list[list[Any]]]:
    org, measured = chaos(folder)
    found = {}
    for day in DAYS:
        report = run_checks(org, day, measured if with_data else None)
        found[str(day)] = [
            [
                f.code,
                f.severity.value,
                f.subject.kind.value,
                f.subject.id,
                f.message,
                f.location.line if f.location else 0,
            ]
            for f in report.findings
        ]
    return found


@pytest.mark.parametrize("with_data", [True, False], ids=["with-data", "file-only"])
def test_findings_are_those_recorded(tmp_path: Path, with_data: bool) -> None:
    expected = json.loads(EXPECTED.read_text())["with-data" if with_data else "file-only"]
    found = _findings(tmp_path, with_data)
    for day, rows in expected.items():
        assert found[day] == rows, day


def test_the_recorded_findings_cover_every_rule() -> None:
    expected = json.loads(EXPECTED.read_text())
    codes = {row[0] for rows in expected["with-data"].values() for row in rows}
    assert len(codes) == 21, sorted(codes)


def _dump(recorded: dict[str, dict[str, list[list[Any]]]]) -> str:
    """JSON with one finding a line, for readable diffs."""
    parts = []
    for kind, days in recorded.items():
        blocks = []
        for day, rows in days.items():
            lines = ",\n".join("    " + json.dumps(row) for row in rows)
            blocks.append(f"  {json.dumps(day)}: [\n{lines}\n  ]")
        parts.append(f"{json.dumps(kind)}: {{\n" + ",\n".join(blocks) + "\n}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        recorded = {
            "with-data": _findings(Path(folder), True),
            "file-only": _findings(Path(folder), False),
        }
    EXPECTED.write_text(_dump(recorded))
    print({k: {d: len(v) for d, v in r.items()} for k, r in recorded.items()}, file=sys.stderr)
