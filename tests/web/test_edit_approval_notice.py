"""Approvers hear of a change waiting for them: an editor's change, kept for approval in the
browser, queues one email to each person who may approve it (the unit's lead, an admin with a
person), with a link to the waiting change; the ordinary sender sends it to a real SMTP server
once. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts, notify
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.store import notifications as outbox
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.notify_servers import SmtpSink, start_smtp
from tests.web.conftest import PASSWORD, STRATEGY, log_in
from tests.web.formparse import form_values

BASE = "https://los.example.com"


def _with_notifications(port: int) -> str:
    """The web tests' strategy with email addresses and notifications on."""
    text = STRATEGY
    for person, email in (
        ("ceo", "casey@example.com"),
        ("alice", "alice@example.com"),
        ("bob", "bob@example.com"),
    ):
        text = re.sub(rf"(\{{id: {person}, [^}}]*)\}}", rf"\1, email: {email}}}", text, count=1)
    assert text.count("@example.com") == 3
    return text + (
        "notifications:\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, "
        "from_address: los@example.com}\n"
        f"  base_url: {BASE}\n"
    )


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    controller = start_smtp(sink)
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def store(
    web_url: str, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    folder: Path = tmp_path_factory.mktemp("approval-notice")
    (folder / "strategy.yaml").write_text(_with_notifications(smtp.port), encoding="utf-8")
    opened = Store(web_url)
    opened.arrow_sqlite = False  # beside the app in one process (tests/web/site.side_store)
    apply_file(opened, folder / "strategy.yaml")
    # An organisation-wide admin who is a person (Casey), beside the tests' admin who is not.
    accounts.add_user(opened, "casey", PASSWORD, (Grant("admin"),), person_id="ceo", actor="t")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def app(store: Store, web_url: str) -> Iterator[object]:
    application = create_app(web_url, secret_key="notice secret")
    yield application
    application.state.store.close()


def _rows(store: Store, change_id: int) -> dict[str, object]:
    with store.reading() as conn:
        return {
            r.recipient: r
            for r in outbox.read_outbox(conn, limit=1000)
            if r.item == f"change:{change_id}"
        }


def _send_for_approval(client: TestClient, path: str, **changes: str) -> int:
    form = form_values(client.get(path).text, "edit-form")
    preview = client.post(path, data={**form, **changes})
    assert "Send for approval" in preview.text, preview.text
    sent = client.post(path, data={**form_values(preview.text, "save-form"), "op": "save"})
    assert sent.status_code == 303, sent.text
    found = re.fullmatch(r"/edit/pending/(\d+)", sent.headers["location"])
    assert found, sent.headers["location"]
    return int(found.group(1))


def test_the_approvers_are_emailed_a_link_to_the_waiting_change(
    app: object, store: Store, smtp: SmtpSink
) -> None:
    with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
        log_in(client, "admin")
        setting = form_values(client.get("/admin/users").text, "approval-form")
        assert client.post("/admin/approval", data={**setting, "require_approval": "on"})
        log_in(client, "editor")
        change_id = _send_for_approval(client, "/edit/kpi/conversion", unit_of_measure="percent")

    # A Sales KPI: Alice leads Sales, Casey is an admin of everything; Bob leads Operations
    # and the tests' admin is no person: neither hears of it; nor does the editor.
    rows = _rows(store, change_id)
    assert set(rows) == {"alice", "ceo"}
    alice = rows["alice"]
    assert alice.kind == "approval" and alice.channel == "email"  # type: ignore[attr-defined]
    assert alice.address == "alice@example.com"  # type: ignore[attr-defined]
    assert alice.key == f"approval|alice|change:{change_id}|"  # type: ignore[attr-defined]
    assert "KPI conversion" in alice.subject  # type: ignore[attr-defined]

    start = len(smtp.messages)  # the server is the module's, on both databases
    report = notify.send_due(store, dt.datetime.now(dt.UTC), secret="notice secret")
    mine = [o for o in report.outcomes if o.kind == "approval"]
    assert sorted(o.recipient for o in mine) == ["alice", "ceo"]
    assert all(o.state == "sent" for o in mine), mine
    received = [
        m for m in smtp.messages[start:] if "waits for your approval" in str(m.message["Subject"])
    ]
    assert sorted(r for m in received for r in m.recipients) == [
        "alice@example.com",
        "casey@example.com",
    ]
    text = received[0].text
    assert f"{BASE}/edit/pending/{change_id}" in text
    assert 'kpi conversion: unit_of_measure: (none) -> "percent"' in text
    assert "editor asks to change the strategy" in text
    assert f'href="{BASE}/edit/pending/{change_id}"' in received[0].html
    # Sent once: another run sends nothing more about it.
    again = notify.send_due(store, dt.datetime.now(dt.UTC), secret="notice secret")
    assert not [o for o in again.outcomes if o.kind == "approval"]

    # The link leads Alice to the change, where she may approve it.
    with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
        log_in(client, "alice")
        page = client.get(f"/edit/pending/{change_id}")
        assert page.status_code == 200 and 'id="approve-form"' in page.text


def test_a_change_to_another_unit_reaches_its_own_lead_and_an_opt_out_is_kept(
    app: object, store: Store
) -> None:
    from lineofsight.domain.notifications import PersonPreferences
    from lineofsight.services import edit_approval
    from lineofsight.services.notify_settings import set_person_preferences

    # Its own setting: the tests of this file may run apart, on other workers.
    edit_approval.set_require_approval(store, True, actor="t")
    set_person_preferences(store, "bob", PersonPreferences(email=False), changed_by="bob")
    with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
        log_in(client, "editor")
        change_id = _send_for_approval(client, "/edit/kpi/defects", unit_of_measure="count")
    # Bob leads Operations but turned emails off: only Casey is told.
    assert set(_rows(store, change_id)) == {"ceo"}


def test_who_asked_is_emailed_once_when_the_change_is_approved_or_rejected(
    app: object, store: Store, smtp: SmtpSink
) -> None:
    from lineofsight.services import edit_approval

    # An editor who is a person (Alice, with an email address) asks; Casey decides.
    accounts.add_user(store, "ed", PASSWORD, (Grant("editor"),), person_id="alice", actor="t")
    edit_approval.set_require_approval(store, True, actor="t")
    decided: dict[str, int] = {}
    with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
        for state, value in (("approved", "EUR"), ("rejected", "USD")):
            log_in(client, "ed")
            change_id = _send_for_approval(client, "/edit/kpi/revenue", unit_of_measure=value)
            assert "alice" not in _rows(store, change_id)  # not told of her own request
            log_in(client, "casey")
            waiting = f"/edit/pending/{change_id}"
            page = client.get(waiting).text
            if state == "approved":
                done = client.post(waiting + "/approve", data=form_values(page, "approve-form"))
            else:
                form = {**form_values(page, "reject-form"), "reason": "we report in euros"}
                done = client.post(waiting + "/reject", data=form)
            assert done.status_code == 303, done.text
            decided[state] = change_id

    start = len(smtp.messages)
    for change_id in decided.values():
        row = _rows(store, change_id)["alice"]
        assert row.kind == "approval_decision" and row.address == "alice@example.com"  # type: ignore[attr-defined]
        assert row.key == f"approval_decision|alice|change:{change_id}|"  # type: ignore[attr-defined]
    report = notify.send_due(store, dt.datetime.now(dt.UTC), secret="notice secret")
    mine = [o for o in report.outcomes if o.kind == "approval_decision"]
    assert [o.recipient for o in mine] == ["alice", "alice"]
    assert all(o.state == "sent" for o in mine), mine
    received = {
        str(m.message["Subject"]): m
        for m in smtp.messages[start:]
        if "Your change" in str(m.message["Subject"])
    }
    approved = received["[Line of Sight] Your change to KPI revenue was approved"]
    assert approved.recipients == ["alice@example.com"]
    assert "casey approved your change to KPI revenue: it is saved." in approved.text
    assert f"{BASE}/edit/pending/{decided['approved']}" in approved.text
    assert f'href="{BASE}/edit/pending/{decided["approved"]}"' in approved.html
    rejected = received["[Line of Sight] Your change to KPI revenue was rejected"]
    assert "casey rejected your change to KPI revenue: we report in euros" in rejected.text
    assert f"{BASE}/edit/pending/{decided['rejected']}" in rejected.text
    # Once: another run sends nothing more about them.
    again = notify.send_due(store, dt.datetime.now(dt.UTC), secret="notice secret")
    assert not [o for o in again.outcomes if o.kind == "approval_decision"]
