"""AC02 (action overdue) points at the action's line when the strategy file declares it:
checking the file, and checking the store while the file is the one applied, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Los

ACTIONS = """\
actions:
  - id: call_customers
    kpi: nps
    title: Call the ten largest customers
    owner: ethan_park
    due: 2026-10-31
  - {id: call_more, kpi: nps, title: Call more, owner: ethan_park, due: 2026-10-31}
"""


def _lines(los: Los, *argv: str) -> dict[str, int | None]:
    result = los("check", *argv, "--select", "AC02", "--as-of", "2026-12-05", "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)["findings"]
    return {f["message"].split("'")[1]: f["location"]["line"] for f in found}


def test_an_overdue_action_is_found_at_its_own_line(los: Los, workdir: Path) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    strategy = workdir / "ws" / "strategy.yaml"
    before = strategy.read_text().count("\n")
    strategy.write_text(strategy.read_text() + ACTIONS)
    first, second = before + 2, before + 7  # `- id: call_customers`, `- {id: call_more, ...}`
    assert strategy.read_text().splitlines()[second - 1].startswith("  - {id: call_more")
    expected = {"call_customers": first, "call_more": second}
    assert _lines(los, str(strategy)) == expected
    assert los("apply", str(strategy)).exit_code == 0
    assert _lines(los) == expected, "the store's check: the file applied, at the actions' lines"
    # Once the file changed, its lines are no longer the store's: the file alone is named.
    strategy.write_text(strategy.read_text() + "# edited\n")
    assert set(_lines(los).values()) <= {0, None}
