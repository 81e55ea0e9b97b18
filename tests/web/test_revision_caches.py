"""What the web app keeps per store revision follows writes of actions too: the home page's
attention list (a red KPI without an action) and the alignment findings (AC01), on SQLite and
PostgreSQL, with the app's kept parts made before the write; the parts that show no action
stay kept across such writes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts, actions
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.checkin import record_measurement
from lineofsight.services.commentary import write_comment
from lineofsight.services.measurements import load_file
from lineofsight.services.scorecards import ScorecardCache
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from lineofsight.web.pagedata import snapshot
from tests.services.test_attention_rules import STRATEGY, VALUES
from tests.web.conftest import PASSWORD, log_in


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "s.yaml").write_text(STRATEGY)
    (tmp_path / "v.csv").write_text(VALUES)
    found = Store(db_url)
    found.arrow_sqlite = False  # beside the app in one process
    try:
        apply_file(found, tmp_path / "s.yaml")
        load_file(found, tmp_path / "v.csv")
        accounts.add_user(found, "otto", PASSWORD, (Grant("admin"),), person_id="otto", actor="t")
        yield found
    finally:
        found.close()


def _section(page: str, heading: str) -> str:
    """The home page's attention group under `heading` (empty when there is none)."""
    found = re.search(rf"{heading}.*?</(ul|ol)>", page, re.S)
    return found.group(0) if found else ""


def test_a_new_action_shows_on_the_kept_pages(store: Store, db_url: str) -> None:
    app = create_app(db_url, secret_key="revision secret")
    try:
        with TestClient(app, follow_redirects=False) as client:
            log_in(client, "otto")
            home = client.get("/", params={"period": "2026-03"})
            assert home.status_code == 200
            assert "Red long" in _section(home.text, "Red without an action")
            # AC01: Red long has been red for two periods without an action.
            findings = client.get("/alignment", params={"period": "2026-03", "rule": "AC01"})
            assert "3 findings in all, 1 matches the filters" in findings.text
            assert "KPI &#39;red_long&#39; has been red" in findings.text
            # Drawn again with nothing written: the kept parts are used.
            assert client.get("/", params={"period": "2026-03"}).text == home.text
            actions.create_action(
                store, "otto", subject_type="kpi", subject_id="red_long", title="Fix it"
            )
            after = client.get("/", params={"period": "2026-03"}).text
            assert "Red long" not in _section(after, "Red without an action")
            findings = client.get("/alignment", params={"period": "2026-03"})
            assert "2 findings in all" in findings.text and "AC01" not in findings.text
    finally:
        app.state.store.close()


def test_the_pages_kept_parts_stay_after_an_action_and_go_after_a_value(store: Store) -> None:
    # The indexed scorecard that every kept part of a page is keyed by: a comment or an action
    # (which only the attention list and the findings show) leaves it, a new value does not.
    cache = ScorecardCache(store)
    day = dt.date(2026, 4, 20)
    first = snapshot(cache, day)
    assert snapshot(cache, day) is first
    actions.create_action(store, "t", subject_type="kpi", subject_id="red_now", title="Fix it")
    write_comment(
        store,
        "t",
        subject_type="kpi",
        subject_id="red_now",
        period="2026-03",
        analysis="Fell by half",
        recommendation="Call the customers",
    )
    assert snapshot(cache, day) is first
    record_measurement(store, kpi_id="red_now", unit_id=None, period="2026-03", value=99, actor="t")
    after = snapshot(cache, day)
    assert after is not first and after.version != first.version
    row = after.kpi_row("red_now", "team")
    assert row is not None and row.actual == 99


def test_the_kpi_and_objective_panels_show_an_action_or_comment_written_since_the_last_visit(
    store: Store, db_url: str
) -> None:
    # The panels look for a subject's rows only when the store has some for it, which the app
    # reads once per store revision: written outside the app, they show at the next visit.
    app = create_app(db_url, secret_key="revision secret")
    period = {"period": "2026-03"}
    try:
        with TestClient(app, follow_redirects=False) as client:
            log_in(client, "otto")
            for path in ("/kpis/red_now", "/objectives/near"):
                page = client.get(path, params=period).text
                assert "No action is recorded" in page and "No commentary for 2026-03" in page
            actions.create_action(
                store, "otto", subject_type="kpi", subject_id="red_now", title="Call them"
            )
            write_comment(
                store,
                "otto",
                subject_type="objective",
                subject_id="near",
                period="2026-03",
                analysis="Behind plan",
                recommendation="Hire",
            )
            kpi = client.get("/kpis/red_now", params=period).text
            assert "Call them" in kpi and "No action is recorded" not in kpi
            assert "No commentary for 2026-03" in kpi
            objective = client.get("/objectives/near", params=period).text
            assert "Behind plan" in objective and "No commentary for 2026-03" not in objective
            assert "No action is recorded" in objective
            # A comment of another period is not this one's.
            other = client.get("/objectives/near", params={"period": "2026-02"}).text
            assert "No commentary for 2026-02" in other and "Behind plan" not in other
    finally:
        app.state.store.close()


def test_findings_show_the_strategy_file_by_name_never_its_path_on_the_server(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    app = create_app(db_url, secret_key="revision secret")
    try:
        with TestClient(app, follow_redirects=False) as client:
            log_in(client, "otto")
            page = client.get("/alignment", params={"period": "2026-03", "rule": "AC01"})
            assert page.status_code == 200
            assert re.search(r">s\.yaml:\d+<", page.text), page.text
            assert str(tmp_path) not in page.text
    finally:
        app.state.store.close()


def _kpis_reversed(strategy: str) -> str:
    """The strategy with its KPIs in the opposite order, nothing else changed."""
    head, kpis = strategy.split("kpis:\n")
    blocks = ["  - {id:" + b for b in kpis.split("  - {id:")[1:]]
    return head + "kpis:\n" + "".join(reversed(blocks))


def test_an_apply_that_only_reorders_kpis_shows_the_new_order_on_the_kept_pages(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    app = create_app(db_url, secret_key="revision secret")
    try:
        with TestClient(app, follow_redirects=False) as client:
            token = accounts.create_token(store, "otto", actor="t")
            auth = {"Authorization": f"Bearer {token}"}

            def order() -> list[str]:
                answer = client.get("/api/v1/status", params={"as_of": "2026-04-20"}, headers=auth)
                assert answer.status_code == 200, answer.text
                return list(dict.fromkeys(row["id"] for row in answer.json()["kpis"]))

            before = order()
            assert before[0] == "red_now"
            (tmp_path / "s.yaml").write_text(_kpis_reversed(STRATEGY))
            plan = apply_file(store, tmp_path / "s.yaml").plan
            assert not plan.empty  # a new order is a change of the definitions
            assert order() == list(reversed(before))
    finally:
        app.state.store.close()
