"""`los history` says where each change came from (the strategy file, the web app and who
approved it) and gives the same moment, in UTC with its offset, as `Workspace.history`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from lineofsight.api import Workspace
from lineofsight.services.export import stored_organization
from lineofsight.services.init import STARTER
from lineofsight.services.strategy_edit import Edit, item_plain, save_edit
from lineofsight.store.database import Store
from tests.conftest import Los
from tests.services.test_strategy_edit import STRATEGY


def test_history_shows_the_source_and_utc_times(los: Los, workdir: Path, db_url: str) -> None:
    (workdir / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    assert los("apply", "strategy.yaml").exit_code == 0
    store = Store(db_url)
    try:
        item = item_plain(stored_organization(store), "kpi", "revenue")
        assert item is not None
        save_edit(store, Edit("kpi", "revenue", {**item, "name": "Net revenue"}), actor="ed")
        table = Workspace(store).history("revenue").frame
    finally:
        store.close()

    text = los("history", "revenue")
    assert text.exit_code == 0, text.output
    added, changed = text.output.strip().splitlines()
    assert "kpi revenue: added  (from " in added and added.endswith("strategy.yaml)"), added
    assert changed.endswith("kpi revenue: name: Revenue -> Net revenue  (from the web app (ed))"), (
        changed
    )
    assert " UTC  ed  " in changed

    rows = json.loads(los("history", "revenue", "--format", "json").stdout)
    times = [dt.datetime.fromisoformat(r["changed_at"]) for r in rows]
    assert all(t.utcoffset() == dt.timedelta(0) for t in times), rows
    assert times == table["changed_at"].to_list()
    assert text.output.count(times[-1].strftime("%Y-%m-%d %H:%M UTC")) >= 1


def test_history_names_the_strategy_file_as_the_findings_do(
    los: Los, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied from the workspace, from below it or from outside it, by a relative or an
    absolute path: the history names the file relative to the workspace, the same each time,
    and never by the folder apply ran from."""
    assert los("init", "ws").exit_code == 0
    plans = workdir / "ws" / "plans"
    plans.mkdir()
    edits = ["Revenue one", "Revenue two", "Revenue three"]
    for where, given, name in (
        (workdir, str(plans / "strategy.yaml"), edits[0]),
        (workdir / "ws", "plans/strategy.yaml", edits[1]),
        (plans, "strategy.yaml", edits[2]),
    ):
        (plans / "strategy.yaml").write_text(
            STARTER.replace("name: Revenue\n", f"name: {name}\n"), encoding="utf-8"
        )
        monkeypatch.chdir(where)
        assert los("apply", given).exit_code == 0
    monkeypatch.chdir(workdir)
    shown = los("history", "revenue").output.strip().splitlines()[-3:]
    assert all(line.endswith("(from plans/strategy.yaml)") for line in shown), shown
    rows = json.loads(los("history", "revenue", "--format", "json").stdout)[-3:]
    assert {r["source"] for r in rows} == {"plans/strategy.yaml"}, rows
