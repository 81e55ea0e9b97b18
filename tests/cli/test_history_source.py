"""`los history` says where each change came from (the strategy file, the web app and who
approved it) and gives the same moment, in UTC with its offset, as `Workspace.history`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from lineofsight.api import Workspace
from lineofsight.services.export import stored_organization
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
