"""The check-in forms: one KPI's (target, last value and due date beside the box; every
problem at once; a period still running refused) and an owner's page of every value due,
saved in one transaction. On SQLite and PostgreSQL, through the in-process client."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from lineofsight.domain.periods import next_period, parse_period
from lineofsight.store.database import Store
from lineofsight.store.measurements import latest_value, read_measurements
from lineofsight.web import pagekit, pages_entry, pages_entry_due
from tests.web.conftest import CSRF, log_in


def _token(page: str) -> str:
    found = CSRF.search(page)
    assert found, page
    return found.group(1)


def _running_month() -> str:
    return dt.date.today().strftime("%Y-%m")


def _stored(web_url: str, kpi: str, unit: str) -> dict[str, object] | None:
    store = Store(web_url)
    try:
        with store.reading() as conn:
            return latest_value(conn, kpi, unit)
    finally:
        store.close()


def test_the_form_shows_the_target_the_last_value_and_the_due_date(client: TestClient) -> None:
    log_in(client, "alice")
    page = client.get("/kpis/revenue/checkin?period=2026-06").text
    facts = page[page.index('id="checkin-facts"') : page.index("</dl>")]
    # Glide from 100 (end of 2025-12) to 200 on 2026-12-31, day-weighted: 181 of 365 days.
    assert "Target for 2026-06" in facts and "149.6" in facts
    assert "135" in facts and "(2026-03)" in facts, "the latest stored value and its period"
    assert "2026-07-30" in facts, "due 30 days after 2026-06 ends (the calendar's default)"


def test_a_decimal_comma_is_refused_not_read_as_a_bigger_number(
    client: TestClient, web_url: str
) -> None:
    before = _stored(web_url, "revenue", "sales")
    log_in(client, "alice")
    token = _token(client.get("/kpis/revenue/checkin").text)
    for typed, hint in (
        ("2,5", "a decimal comma: write 2.5"),
        ("1,500", "1.5 or 1500 for 1,500"),
        ("1,234.5", ""),
    ):
        answer = client.post(
            "/kpis/revenue/checkin",
            data={"period": "2026-05", "value": typed, "note": "", "csrf_token": token},
        )
        assert answer.status_code == 422, typed
        assert f"&#39;{typed}&#39; is not a number" in answer.text
        assert hint in answer.text
    # The page of every value due reads its boxes the same way.
    due = client.get("/checkin").text
    name = next(n for n in re.findall(r'name="(value:revenue:[^"]+)"', due))
    answer = client.post("/checkin", data={name: "2,5", "csrf_token": _token(due)})
    assert answer.status_code == 422
    assert "&#39;2,5&#39; is not a number (a decimal comma: write 2.5)" in answer.text
    assert _stored(web_url, "revenue", "sales") == before


def test_every_problem_is_shown_at_once_and_nothing_is_stored(
    client: TestClient, web_url: str
) -> None:
    before = _stored(web_url, "revenue", "sales")
    log_in(client, "alice")
    token = _token(client.get("/kpis/revenue/checkin").text)
    answer = client.post(
        "/kpis/revenue/checkin",
        data={"period": "2026-13", "value": "lots", "note": "", "csrf_token": token},
    )
    assert answer.status_code == 422
    assert 'id="period-error"' in answer.text and 'id="value-error"' in answer.text
    assert "&#39;lots&#39; is not a number" in answer.text
    assert "2 problems: nothing was saved." in answer.text
    # A value beyond the bounds and a wrong period: both, from the service's own checks.
    answer = client.post(
        "/kpis/conversion/checkin",
        data={"period": "2026-13", "numerator": "5", "denominator": "-2", "csrf_token": token},
    )
    assert answer.status_code == 422
    assert 'id="period-error"' in answer.text and 'id="denominator-error"' in answer.text
    assert _stored(web_url, "revenue", "sales") == before
    # A numerator over a zero denominator: refused beside its box, not stored as no value.
    conversion = _stored(web_url, "conversion", "sales")
    answer = client.post(
        "/kpis/conversion/checkin",
        data={"period": "2026-04", "numerator": "890", "denominator": "0", "csrf_token": token},
    )
    assert answer.status_code == 422
    error = re.search(r'id="denominator-error">([^<]*)<', answer.text)
    assert error and "0 under the numerator 890 makes no ratio" in error.group(1), answer.text
    assert _stored(web_url, "conversion", "sales") == conversion


def test_a_period_that_has_not_ended_is_refused_with_a_clear_message(
    client: TestClient, web_url: str
) -> None:
    log_in(client, "alice")
    token = _token(client.get("/kpis/revenue/checkin").text)
    month = _running_month()
    answer = client.post(
        "/kpis/revenue/checkin", data={"period": month, "value": "150", "csrf_token": token}
    )
    assert answer.status_code == 422
    error = re.search(r'id="period-error">([^<]*)<', answer.text)
    assert error, answer.text
    assert f"{month} has not ended yet" in error.group(1)
    assert "a value is entered once its period is over" in error.group(1)
    stored = _stored(web_url, "revenue", "sales")
    assert stored is None or stored["period"] != month


def test_the_due_page_lists_the_owners_kpis_and_saves_them_together(
    client: TestClient, web_url: str
) -> None:
    log_in(client, "alice")
    page = client.get("/checkin").text
    # Alice owns revenue, conversion (a ratio) and xss; Bob's defects is not hers.
    assert 'id="due-revenue"' in page and 'id="due-conversion"' in page
    assert 'id="due-defects"' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    lines = dict(re.findall(r'id="due-([a-z_]+)".*?name="period:([^"]+)"', page, re.S))
    periods = dict(re.findall(r'name="period:([^"]+)" value="([^"]*)"', page))
    rev, conv = lines["revenue"], lines["conversion"]
    box = re.search(rf'id="period_(\d+)" name="period:{conv}"', page)
    assert box, "each box is named by its KPI, unit and period"
    at = box.group(1)
    assert 'for="numerator_' + at + '"' in page and 'for="value_' + at + '"' not in page
    token = _token(page)
    before = (_stored(web_url, "revenue", "sales"), _stored(web_url, "conversion", "sales"))
    bad = {
        "csrf_token": token,
        f"period:{rev}": periods[rev],
        f"value:{rev}": "170",
        f"period:{conv}": _running_month(),
        f"numerator:{conv}": "40",
        f"denominator:{conv}": "x",
    }
    answer = client.post("/checkin", data=bad)
    assert answer.status_code == 422
    assert f'id="period_{at}-error"' in answer.text, "the running month, with the bad number"
    assert f'id="denominator_{at}-error"' in answer.text
    assert 'value="170"' in answer.text, "what was typed comes back"
    after = (_stored(web_url, "revenue", "sales"), _stored(web_url, "conversion", "sales"))
    assert after == before, "one transaction: the good value was not stored either"

    good = {**bad, f"period:{conv}": periods[conv], f"denominator:{conv}": "1000"}
    answer = client.post("/checkin", data=good)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/checkin?saved=2"
    revenue = _stored(web_url, "revenue", "sales")
    conversion = _stored(web_url, "conversion", "sales")
    assert revenue is not None and revenue["period"] == periods[rev] and revenue["value"] == 170
    assert conversion is not None and conversion["numerator"] == 40
    page = client.get(answer.headers["location"]).text
    assert "Saved 2 values." in page
    # Its next period, once ended, is awaited (not due yet) and may be entered early.
    following = next_period(parse_period(periods[rev]))
    if following.end <= dt.date.today():
        assert f"awaited for {following.label}, not due yet" in page
    else:
        assert 'id="due-revenue"' not in page, "no longer due"


def test_the_due_page_needs_a_person_and_an_empty_form_saves_nothing(
    client: TestClient,
) -> None:
    log_in(client, "viewer")
    page = client.get("/checkin")
    assert page.status_code == 200 and "not linked to a person" in page.text
    log_in(client, "bob")
    page = client.get("/checkin").text
    answer = client.post("/checkin", data={"csrf_token": _token(page)})
    assert answer.status_code == 422 and "Type at least one value" in answer.text
    assert client.post("/checkin", data={}).status_code == 403, "no CSRF token"


def _stored_at(web_url: str, kpi: str, unit: str, period: str) -> list[object]:
    """Every stored value of a KPI for one period at one unit (none: an empty list)."""
    from lineofsight.store.measurements import read_measurements

    store = Store(web_url)
    try:
        with store.reading() as conn:
            rows = read_measurements(conn, kpi)
    finally:
        store.close()
    return [row["value"] for row in rows if row["unit_id"] == unit and row["period"] == period]


def test_a_check_in_for_an_unknown_unit_is_refused_not_saved_at_the_kpis_unit(
    client: TestClient, web_url: str
) -> None:
    # A forged form, or one whose unit was removed while it was open: never the KPI's own.
    log_in(client, "admin")
    token = _token(client.get("/kpis/revenue/checkin").text)
    before = _stored_at(web_url, "revenue", "sales", "2026-05")
    answer = client.post(
        "/kpis/revenue/checkin",
        data={"period": "2026-05", "value": "777", "unit": "nowhere", "csrf_token": token},
    )
    # The same answer as for the form of that unit (and as for a unit outside a scope).
    assert answer.status_code == 404, answer.text
    assert "No unit &#39;nowhere&#39;" in answer.text
    assert _stored_at(web_url, "revenue", "sales", "2026-05") == before
    assert 777 not in before
    # The form itself is not offered for a unit that does not exist.
    page = client.get("/kpis/revenue/checkin?unit=nowhere")
    assert page.status_code == 404 and "No unit &#39;nowhere&#39;" in page.text


def test_an_awaited_value_is_listed_with_its_due_date_and_may_be_entered_early(
    client: TestClient, web_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10 May: March (due 30 April) has Revenue's value; April has ended and is awaited until
    # 30 May. The scorecard shows March, and the page still lists April, not "nothing due".
    day = dt.date(2026, 5, 10)
    for module in (pagekit, pages_entry, pages_entry_due):
        monkeypatch.setattr(module, "today", lambda: day)
    log_in(client, "alice")
    page = client.get("/checkin").text
    assert "Nothing is" not in page
    line = page[page.index('id="due-revenue"') :].split("</fieldset>")[0]
    assert "2026-05-30" in line and "awaited for 2026-04, not due yet" in line
    index = re.search(r'name="period:([^"]+)" value="2026-04"', line)
    assert index, line
    saved = client.post(
        "/checkin",
        data={
            "csrf_token": _token(page),
            f"period:{index.group(1)}": "2026-04",
            f"value:{index.group(1)}": "151",
        },
    )
    assert saved.status_code == 303, saved.text
    store = Store(web_url)
    try:
        with store.reading() as conn:
            values = {
                r["period"]: r["value"]
                for r in read_measurements(conn, "revenue")
                if r["unit_id"] == "sales"
            }
    finally:
        store.close()
    assert values["2026-04"] == 151
    assert 'id="due-revenue"' not in client.get("/checkin").text, "May has not ended"


def test_a_kpi_page_for_an_unknown_unit_answers_404_not_the_kpis_own_unit(
    client: TestClient,
) -> None:
    """The page resolves `?unit=` as the check-in does: a unit that does not exist is said,
    never replaced by the KPI's own unit (whose numbers would pass for the unit's)."""
    log_in(client, "admin")
    page = client.get("/kpis/revenue?unit=nowhere")
    assert page.status_code == 404, page.text[:300]
    assert "No unit &#39;nowhere&#39;" in page.text
    assert client.get("/kpis/revenue?unit=sales").status_code == 200
    assert client.get("/kpis/revenue").status_code == 200
