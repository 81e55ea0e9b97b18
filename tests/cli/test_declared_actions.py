"""Actions declared in the strategy file: checked with file and line, brought in by `los
apply` (with history and audit), written back by `los export`, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lineofsight.domain.actions import Milestone
from lineofsight.services import actions as action_service
from lineofsight.services.audit import read_audit
from lineofsight.store.database import Store
from tests.conftest import Los

BASE = """\
version: 1
organization:
  name: Acme
  units:
    - {id: acme, name: Acme, level: company}
  people:
    - {id: ceo, name: Casey CEO, unit: acme}
    - {id: ann, name: Ann Analyst, unit: acme}
objectives:
  - {id: grow, title: Grow revenue, level: strategic, unit: acme, owner: ceo}
kpis:
  - {id: revenue, name: Revenue, unit: acme, owner: ann, frequency: monthly,
     direction: increase, supports: [{objective: grow}]}
"""

ACTIONS = """\
actions:
  - id: call_customers
    kpi: revenue
    title: Call the ten largest customers
    owner: ann
    due: 2026-05-31
    milestones:
      - {title: List them, due: 2026-04-15}
      - {title: Book the calls, done: true}
  - {id: second_shop, objective: grow, title: Open a second shop, status: dropped}
"""


def _write(workdir: Path, text: str, name: str = "strategy.yaml") -> Path:
    path = workdir / name
    path.write_text(text, encoding="utf-8")
    return path


def test_declared_actions_are_applied_exported_and_applied_back(
    los: Los, workdir: Path, db_url: str
) -> None:
    strategy = _write(workdir, BASE + ACTIONS)
    first = los("apply", str(strategy))
    assert first.exit_code == 0, first.output
    assert "+ action call_customers: Call the ten largest customers" in first.output
    assert "+ action second_shop: Open a second shop" in first.output
    store = Store(db_url)
    try:
        found = {a.key: a for a in action_service.list_actions(store)}
        call = found["call_customers"]
        assert (call.subject, call.owner, call.due, call.status) == (
            ("kpi", "revenue"),
            "ann",
            dt.date(2026, 5, 31),
            "open",
        )
        assert call.milestones == (
            Milestone("List them", dt.date(2026, 4, 15), False),
            Milestone("Book the calls", None, True),
        )
        assert call.declared and found["second_shop"].status == "dropped"
        # People close actions in the app; the file, which gives no status, leaves it so.
        action_service.update_action(store, "ann", call.id, status="done")
        made_in_app = action_service.create_action(
            store, "ceo", subject_type="objective", subject_id="grow", title="Hire a COO"
        )
        again = los("apply", str(strategy))
        assert again.exit_code == 0 and "No changes" in again.output, again.output
        assert action_service.get_action(store, call.id).status == "done"  # type: ignore[union-attr]

        exported = los("export", str(workdir / "back.yaml"))
        assert exported.exit_code == 0, exported.output
        text = (workdir / "back.yaml").read_text()
        assert "- id: call_customers" in text and "status: done" in text
        assert f"- id: {made_in_app.key}" in text and "title: Hire a COO" in text
        back = los("apply", str(workdir / "back.yaml"))
        assert back.exit_code == 0 and "No changes" in back.output, back.output

        # A file that drops an action it declared removes it; one made in the app stays.
        changed = BASE + ACTIONS.split("  - {id: second_shop")[0].replace(
            "title: Call the ten largest customers", "title: Call the twelve largest customers"
        )
        result = los("apply", str(_write(workdir, changed)))
        assert result.exit_code == 0, result.output
        assert "~ action call_customers: title: " in result.output
        assert "- action second_shop" in result.output
        keys = {a.key for a in action_service.list_actions(store)}
        assert keys == {"call_customers", made_in_app.key}
        log = read_audit(store, subject=f"action:{call.id}")
        assert [e.action for e in log][:2] == ["action.update", "action.update"]
        # Without an actions: section the stored actions stay as they are.
        assert "No changes" in los("apply", str(_write(workdir, BASE))).output
        assert len(action_service.list_actions(store)) == 2
    finally:
        store.close()


def test_bad_declared_actions_are_listed_with_their_lines_and_nothing_is_applied(
    los: Los, workdir: Path, db_url: str
) -> None:
    bad = BASE + (
        "actions:\n"
        "  - {id: a1, kpi: nope, title: Unknown KPI}\n"
        "  - {id: a1, objective: grow, title: Same id}\n"
        "  - {id: a3, kpi: revenue, objective: grow, title: Two subjects}\n"
        "  - {id: a4, kpi: revenue, title: Ghost owner, owner: ghost}\n"
        "  - {id: a5, kpi: revenue, title: Bad date, due: 2026-02-30}\n"
        "  - {id: a6, kpi: revenue, title: Bad status, status: maybe}\n"
        "  - {id: a7, kpi: revenue, title: '', colour: red}\n"
    )
    result = los("apply", str(_write(workdir, bad)))
    assert result.exit_code == 2, result.output
    out = result.output
    assert "strategy.yaml:15: action a1: kpi: unknown kpi 'nope'" in out
    assert "strategy.yaml:16: duplicate action id 'a1'" in out
    assert "strategy.yaml:17:" in out and "give kpi or objective (one of them)" in out
    assert "strategy.yaml:18: action a4: owner: unknown person 'ghost'" in out
    assert "strategy.yaml:19:" in out and "2026-02-30" in out
    assert "strategy.yaml:20:" in out and "maybe" in out
    assert "strategy.yaml:21:" in out and "colour" in out
    assert "Traceback" not in out
    # Nothing of the file was applied: not even its valid parts.
    assert los("export").exit_code == 2
