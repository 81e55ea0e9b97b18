"""The owner's page names each box by its KPI, unit and period: a form sent after the list of
due values changed (a colleague entered a value, a period ended) stores each value on its own
KPI and period, or nothing when a line it names is no longer offered. On SQLite and
PostgreSQL, through the in-process client."""

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

TWO = STRATEGY + "".join(
    f"  - {{id: {kpi}, name: {name}, unit: sales, owner: alice, frequency: weekly,\n"
    "     direction: increase, aggregation: sum, supports: [{objective: sell_more}],\n"
    "     target: {value: 50, by: 2026-12-31}}\n"
    for kpi, name in (("calls", "Sales calls"), ("visits", "Visits"))
)
# Saturday 9 May 2026: weeks 14 to 18 of both KPIs have no value and may be entered.
DAY = dt.date(2026, 5, 9)


@pytest.fixture(scope="module", autouse=True)
def _two_weekly_kpis(web_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder: Path = tmp_path_factory.mktemp("two")
    (folder / "strategy.yaml").write_text(TWO, encoding="utf-8")
    rows = "".join(f"{k},2026-W{w:02d},40\n" for k in ("calls", "visits") for w in range(1, 14))
    (folder / "m.csv").write_text("kpi,period,value\n" + rows, encoding="utf-8")
    store = Store(web_url)
    try:
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "m.csv")
    finally:
        store.close()


@pytest.fixture
def on_9_may(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module in (pagekit, pages_entry, pages_entry_due):
        monkeypatch.setattr(module, "today", lambda: DAY)
    yield


def _load(web_url: str, folder: Path, rows: str) -> None:
    path = folder / "more.csv"
    path.write_text("kpi,period,value\n" + rows, encoding="utf-8")
    store = Store(web_url)
    try:
        load_file(store, path)
    finally:
        store.close()


def _stored(web_url: str, kpi: str) -> dict[str, float]:
    store = Store(web_url)
    try:
        with store.reading() as conn:
            return {r["period"]: r["value"] for r in read_measurements(conn, kpi)}
    finally:
        store.close()


def _token(page: str) -> str:
    found = CSRF.search(page)
    assert found
    return found.group(1)


def test_each_box_names_its_kpi_unit_and_period(client: TestClient, on_9_may: None) -> None:
    log_in(client, "alice")
    page = client.get("/checkin").text
    assert 'name="value:calls:sales:2026-W18"' in page
    assert 'name="period:visits:sales:2026-W14" value="2026-W14"' in page


def test_a_value_stays_on_its_kpi_when_the_list_changed_meanwhile(
    client: TestClient, web_url: str, on_9_may: None, tmp_path: Path
) -> None:
    log_in(client, "alice")
    page = client.get("/checkin").text
    # Meanwhile a colleague loads calls for week 14: the page sent has one line more.
    _load(web_url, tmp_path, "calls,2026-W14,44\n")
    sent = {
        "csrf_token": _token(page),
        "period:calls:sales:2026-W18": "2026-W18",
        "value:calls:sales:2026-W18": "99",
        "period:visits:sales:2026-W15": "2026-W15",
        "value:visits:sales:2026-W15": "7",
    }
    answer = client.post("/checkin", data=sent)
    assert answer.status_code == 303, answer.text
    calls, visits = _stored(web_url, "calls"), _stored(web_url, "visits")
    assert calls["2026-W18"] == 99 and visits["2026-W15"] == 7
    assert "2026-W18" not in visits and "2026-W15" not in calls


def test_a_line_no_longer_offered_is_named_and_nothing_is_stored(
    client: TestClient, web_url: str, on_9_may: None, tmp_path: Path
) -> None:
    log_in(client, "alice")
    page = client.get("/checkin").text
    _load(web_url, tmp_path, "visits,2026-W16,12\n")  # entered elsewhere meanwhile
    before = (_stored(web_url, "calls"), _stored(web_url, "visits"))
    sent = {
        "csrf_token": _token(page),
        "value:visits:sales:2026-W17": "31",
        "value:visits:sales:2026-W16": "13",
    }
    answer = client.post("/checkin", data=sent)
    assert answer.status_code == 409
    assert "No longer awaited: visits (unit sales) 2026-W16" in answer.text
    assert "nothing was saved" in answer.text
    assert 'value="31"' in answer.text, "what was typed for a line still offered comes back"
    assert (_stored(web_url, "calls"), _stored(web_url, "visits")) == before


def test_a_period_typed_that_is_not_the_lines_own_is_refused(
    client: TestClient, web_url: str, on_9_may: None
) -> None:
    log_in(client, "alice")
    page = client.get("/checkin").text
    before = _stored(web_url, "visits")
    sent = {
        "csrf_token": _token(page),
        "period:visits:sales:2026-W18": "2026-W12",
        "value:visits:sales:2026-W18": "5",
    }
    answer = client.post("/checkin", data=sent)
    assert answer.status_code == 422
    assert re.search(r'id="period_\d+-error">This box is for 2026-W18', answer.text)
    assert _stored(web_url, "visits") == before, "week 12 kept its value"


def test_values_that_look_like_a_slip_are_saved_with_a_note_beside_each(
    client: TestClient, web_url: str, on_9_may: None
) -> None:
    # Every value of the page at once: saved as typed, the page comes back with a note
    # beside the one that is ten times the KPI's usual values, to correct or leave.
    log_in(client, "alice")
    page = client.get("/checkin").text
    sent = {
        "csrf_token": _token(page),
        "value:visits:sales:2026-W17": "400",
        "value:visits:sales:2026-W18": "41",
    }
    answer = client.post("/checkin", data=sent)
    assert answer.status_code == 200, answer.text
    assert "Saved 2 values. 1 of them looks unusual, saved as typed" in answer.text
    notes = re.findall(
        r'<p class="warning" id="value_(\d+)-warning">Check: ([^<]*)</p>', answer.text
    )
    assert len(notes) == 1, notes
    assert notes[0][1].startswith("400 is 10 times the usual size of the last 12 values here")
    assert re.search(rf'id="value_{notes[0][0]}" name="value:visits:sales:2026-W17"', answer.text)
    assert _stored(web_url, "visits")["2026-W17"] == 400
    assert _stored(web_url, "visits")["2026-W18"] == 41


def test_the_kpi_check_in_form_notes_a_value_that_looks_like_a_slip(
    client: TestClient, web_url: str, on_9_may: None
) -> None:
    log_in(client, "alice")
    token = _token(client.get("/kpis/calls/checkin").text)
    form = {"csrf_token": token, "period": "2026-W16", "value": "4"}
    answer = client.post("/kpis/calls/checkin", data=form)
    assert answer.status_code == 200, answer.text
    assert "Saved the value for 2026-W16, as typed; it looks unusual" in answer.text
    assert '<p class="warning" id="value-warning">Check: 4 is 1/10 of the usual size' in answer.text
    assert _stored(web_url, "calls")["2026-W16"] == 4
    # The page shows the value just saved as the last one, not the one before the save: a
    # slip typed for the latest period stored (then put back as it was).
    latest, before = max(_stored(web_url, "calls").items())
    slip = client.post("/kpis/calls/checkin", data={**form, "period": latest, "value": "3"})
    assert slip.status_code == 200 and "it looks unusual" in slip.text, slip.text
    assert f'<dt>Last value</dt><dd>3 <span class="hint">({latest})</span>' in slip.text
    back = {**form, "period": latest, "value": f"{before:g}"}
    assert client.post("/kpis/calls/checkin", data=back).status_code in (200, 303)
    assert _stored(web_url, "calls")[latest] == before
    usual = client.post("/kpis/calls/checkin", data={**form, "period": "2026-W15", "value": "42"})
    assert usual.status_code == 303, "an ordinary value goes to the KPI's page as before"
