"""Both check-in pages offer the same periods: every value of a KPI that is overdue or awaited,
one box per period on the owner's page, the oldest first on the KPI's own form. A weekly KPI
has several weeks awaited at once (30 days of reporting lag), each of which may be entered.
On SQLite and PostgreSQL, through the in-process client."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements
from lineofsight.web import pagekit, pages_entry, pages_entry_due
from tests.web.conftest import CSRF, STRATEGY, log_in

WEEKLY = STRATEGY + (
    "  - {id: calls, name: Sales calls, unit: sales, owner: alice, frequency: weekly,\n"
    "     direction: increase, aggregation: sum, supports: [{objective: sell_more}],\n"
    "     target: {value: 50, by: 2026-12-31}}\n"
)
# Saturday 9 May 2026: week 14 (to 5 April) was due on 5 May and has no value (overdue);
# weeks 15 to 18 have ended and are not due yet (awaited); week 19 ends tomorrow.
DAY = dt.date(2026, 5, 9)
OPEN_WEEKS = ["2026-W14", "2026-W15", "2026-W16", "2026-W17", "2026-W18"]


@pytest.fixture(scope="module", autouse=True)
def _weekly_kpi(web_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder: Path = tmp_path_factory.mktemp("weekly")
    (folder / "strategy.yaml").write_text(WEEKLY, encoding="utf-8")
    rows = "".join(f"calls,2026-W{week:02d},40\n" for week in range(1, 14))
    (folder / "calls.csv").write_text("kpi,period,value\n" + rows, encoding="utf-8")
    store = Store(web_url)
    try:
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "calls.csv")
    finally:
        store.close()


@pytest.fixture
def on_9_may(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module in (pagekit, pages_entry, pages_entry_due):
        monkeypatch.setattr(module, "today", lambda: DAY)
    yield


def _offered(page: str, kpi: str) -> list[str]:
    """The periods the owner's page offers for one KPI, in order."""
    found = re.search(rf'id="due-{kpi}".*?</fieldset>', page, re.S)
    return re.findall(r'name="period:[^"]+" value="([^"]+)"', found.group(0)) if found else []


def _form(client: TestClient, kpi: str) -> tuple[str, list[str]]:
    """The KPI's own check-in form: the period in its box and the missing periods it lists."""
    page = client.get(f"/kpis/{kpi}/checkin")
    assert page.status_code == 200, page.text[:300]
    box = re.search(r'id="period" name="period" value="([^"]*)"', page.text)
    missing = re.search(r'id="checkin-open">(.*?)</p>', page.text, re.S)
    assert box, page.text
    listed = re.findall(r">(\d{4}-[^<]+)</a>", missing.group(1)) if missing else []
    return box.group(1), listed


def test_every_missing_week_is_offered_on_both_pages_and_may_be_entered(
    client: TestClient, web_url: str, on_9_may: None
) -> None:
    log_in(client, "alice")
    page = client.get("/checkin").text
    assert _offered(page, "calls") == OPEN_WEEKS
    week14 = page[page.index('id="due-calls-2026-W14"') :].split("</fieldset>")[0]
    assert "overdue for 2026-W14" in week14.split('class="due-period"')[0]
    assert "awaited for 2026-W15, not due yet" in page
    assert _offered(page, "revenue") == ["2026-04"], "March is in; April is awaited"
    assert _form(client, "calls") == ("2026-W14", OPEN_WEEKS)
    assert _form(client, "revenue") == ("2026-04", ["2026-04"])

    # Two weeks entered at once from the owner's page.
    boxes = dict(
        (period, index)
        for index, period in re.findall(r'name="period:([^"]+)" value="([^"]+)"', page)
    )
    token = CSRF.search(page)
    assert token
    sent = {
        "csrf_token": token.group(1),
        f"period:{boxes['2026-W14']}": "2026-W14",
        f"value:{boxes['2026-W14']}": "41",
        f"period:{boxes['2026-W15']}": "2026-W15",
        f"value:{boxes['2026-W15']}": "43",
    }
    answer = client.post("/checkin", data=sent)
    assert answer.status_code == 303, answer.text
    store = Store(web_url)
    try:
        with store.reading() as conn:
            stored = {r["period"]: r["value"] for r in read_measurements(conn, "calls")}
    finally:
        store.close()
    assert stored["2026-W14"] == 41 and stored["2026-W15"] == 43

    # The scorecard now shows week 15: weeks 16 to 18 are still awaited, on both pages.
    page = client.get("/checkin").text
    assert _offered(page, "calls") == OPEN_WEEKS[2:]
    assert _form(client, "calls") == ("2026-W16", OPEN_WEEKS[2:])
