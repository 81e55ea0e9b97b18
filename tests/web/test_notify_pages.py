"""The notification pages: a person's own settings, the sent page for administrators only (what
went out, to whom, what failed and why, what may have been sent), and sending again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts, notify, notify_admin
from lineofsight.services.notify_settings import person_preferences
from lineofsight.services.unsubscribe import make_token
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.notify_org import NOW, PASSWORD, SECRET, build
from tests.notify_servers import SmtpSink
from tests.web.site import csrf_from


def make_app(url: str, folder: Path, port: int, login: str = "") -> Iterator[object]:
    build(url, folder, port, login=login).close()
    application = create_app(url, secret_key=SECRET)
    yield application
    application.state.store.close()


@pytest.fixture
def app(db_url: str, tmp_path: Path, smtp: SmtpSink) -> Iterator[object]:
    yield from make_app(db_url, tmp_path / "org", smtp.port)


@pytest.fixture
def refusing_app(
    db_url: str, tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    """The app whose SMTP settings ask for a login the test server does not offer: every
    send fails, with the server's reason."""
    monkeypatch.setenv("LOS_TEST_SMTP_PASSWORD", "pw-not-for-pages")
    login = ", username: los, password: env:LOS_TEST_SMTP_PASSWORD"
    yield from make_app(db_url, tmp_path / "org", smtp.port, login)


def store_of(app: object) -> Store:
    return app.state.store  # type: ignore[attr-defined, no-any-return]


def login(app: object, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    token = csrf_from(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return client


def test_the_sent_page_shows_administrators_what_failed_and_why(refusing_app: object) -> None:
    app = refusing_app
    report = notify.send_due(store_of(app), NOW, secret=SECRET)
    assert report.outcomes and {o.state for o in report.outcomes} == {"retry"}
    admin = login(app, "admin")
    page = admin.get("/notifications/sent")
    assert page.status_code == 200
    assert "claire@example.com" in page.text
    assert "Net Promoter Score turned red (2026-10)" in page.text
    assert "SMTP server 127.0.0.1" in page.text  # why it failed
    assert "pw-not-for-pages" not in page.text
    assert login(app, "claire").get("/notifications/sent").status_code == 403
    anonymous = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    assert anonymous.get("/notifications/sent").status_code in (302, 303)


def crash_one_send(store: Store) -> str:
    """The key of a message sent whose record the sending process did not write (it stopped
    between the send and its record): past its lease it may have been sent."""
    crash: list[str] = []

    def die(key: str) -> None:
        crash.append(key)
        raise KeyboardInterrupt  # the process stops between the send and its record

    sender = Store(store.url)
    sender.arrow_sqlite = False  # one SQLite library per process, as the app's own store
    try:
        with pytest.raises(KeyboardInterrupt):
            notify.send_due(sender, NOW, secret=SECRET, after_send=die)
    finally:
        sender.close()
    assert len(crash) == 1
    return crash[0]


def test_an_administrator_sends_again_what_may_have_been_sent(app: object) -> None:
    from lineofsight.store import notifications as stored

    store = store_of(app)
    crash = [crash_one_send(store)]
    later = NOW.replace(year=2027)
    rows = {r["key"]: r for r in notify_admin.outbox(store, later)}
    row = rows[crash[0]]
    assert row["shown_state"] == "may have been sent"
    # Counted by the database: within its lease the row is sending, after it uncertain.
    during, after = notify_admin.counts(store, NOW), notify_admin.counts(store, later)
    assert during["sending"] == 1 and "may have been sent" not in during
    assert after["may have been sent"] == 1 and "sending" not in after
    assert sum(during.values()) == sum(after.values()) == len(rows)
    admin = login(app, "admin")
    page = admin.get("/notifications/sent?state=may have been sent")
    assert page.status_code == 200 and "Send again" in page.text
    refused = admin.post(f"/notifications/sent/{row['id']}/resend")
    assert refused.status_code == 403  # no CSRF token
    sent = admin.post(
        f"/notifications/sent/{row['id']}/resend", data={"csrf_token": csrf_from(page.text)}
    )
    assert sent.status_code == 303
    with store.reading() as conn:
        state = {r.key: r.state for r in stored.read_outbox(conn)}[crash[0]]
    assert state == "retry"
    again = admin.post(
        f"/notifications/sent/{row['id']}/resend", data={"csrf_token": csrf_from(page.text)}
    )
    assert again.status_code == 409  # only failed or uncertain messages
    assert f"Notification {row['id']} is &#39;retry&#39;" in again.text
    missing = admin.post(
        f"/notifications/sent/{row['id'] + 1000}/resend", data={"csrf_token": csrf_from(page.text)}
    )
    assert missing.status_code == 404  # no such message: not a conflict
    assert f"No notification {row['id'] + 1000}" in missing.text
    with store.reading() as conn:
        assert {r.key: r.state for r in stored.read_outbox(conn)}[crash[0]] == "retry"


def test_the_sent_page_refuses_a_state_it_does_not_know(refusing_app: object) -> None:
    app = refusing_app
    notify.send_due(store_of(app), NOW, secret=SECRET)
    admin = login(app, "admin")
    bogus = admin.get("/notifications/sent?state=bogus")
    assert bogus.status_code == 422
    assert "State: &#39;bogus&#39; is not a state of a message" in bogus.text
    assert "&#39;may have been sent&#39;" in bogus.text  # the states it knows are named
    retry = admin.get("/notifications/sent?state=retry")
    assert retry.status_code == 200 and "Net Promoter Score turned red (2026-10)" in retry.text
    sent = admin.get("/notifications/sent?state=sent")
    assert sent.status_code == 200 and "Net Promoter Score turned red" not in sent.text
    assert admin.get("/notifications/sent?state=").status_code == 200  # empty: every state


def test_a_person_changes_their_own_settings(app: object) -> None:
    sam = login(app, "sam")
    page = sam.get("/notifications/settings")
    assert page.status_code == 200
    assert 'name="digest" value="1" checked' in page.text
    token = csrf_from(page.text)
    saved = sam.post(
        "/notifications/settings",
        data={"csrf_token": token, "email": "1", "webhook": "1", "digest_day": "friday"},
    )
    assert saved.status_code == 200 and 'id="saved"' in saved.text
    prefs = person_preferences(store_of(app), "agent")
    assert prefs.email and not prefs.digest and prefs.digest_day == "friday"
    bad = sam.post("/notifications/settings", data={"csrf_token": token, "digest_day": "someday"})
    assert bad.status_code == 422 and "is not a weekday" in bad.text
    assert person_preferences(store_of(app), "agent").digest_day == "friday"  # unchanged
    planned = notify.plan(store_of(app), NOW)  # a Thursday: Sam's Friday digest waits
    assert not [n for n in planned if n.recipient == "agent" and n.kind == "digest"]
    assert [n for n in planned if n.recipient == "agent" and n.kind == "turned_red"]


def test_a_digest_unsubscribe_link_stops_only_the_digest(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    token = make_token(SECRET, "agent", "digest")
    assert "the weekly digest" in client.get(f"/unsubscribe/{token}").text
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    prefs = person_preferences(store_of(app), "agent")
    assert prefs.email and not prefs.digest
    other_key = make_token("another key", "agent", "email")
    assert client.post(f"/unsubscribe/{other_key}").status_code == 404
    assert person_preferences(store_of(app), "agent").email


def bearer(app: object, username: str) -> dict[str, str]:
    token = accounts.create_token(store_of(app), username, actor="tests")
    return {"Authorization": f"Bearer {token}"}


def test_the_api_gives_administrators_the_outbox_and_the_jobs(refusing_app: object) -> None:
    app = refusing_app
    store = store_of(app)
    notify.send_due(store, NOW, secret=SECRET)
    client = TestClient(app)  # type: ignore[arg-type]
    admin = bearer(app, "admin")
    answer = client.get("/api/v1/notifications", headers=admin)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    shown = notify_admin.outbox(store, dt.datetime.now(dt.UTC))
    assert [m["id"] for m in found["notifications"]] == [m["id"] for m in shown]
    assert found["counts"] == {"retry": len(shown)}
    to_claire = [m for m in found["notifications"] if m["address"] == "claire@example.com"]
    nps = next(m for m in to_claire if "Net Promoter Score turned red" in m["subject"])
    assert nps["state"] == "retry"
    assert "SMTP server 127.0.0.1" in nps["last_error"]  # why it failed
    assert "pw-not-for-pages" not in answer.text
    # Times in ISO 8601 (UTC), as /api/v1/jobs gives them; the page shows them to the minute.
    created = dt.datetime.fromisoformat(nps["created_at"])
    assert created.utcoffset() == dt.timedelta(0) and nps["created_at"].endswith("+00:00")
    assert dt.datetime.fromisoformat(nps["next_attempt_at"]) > created
    only = client.get("/api/v1/notifications?state=sent", headers=admin).json()
    assert only["notifications"] == []
    bogus = client.get("/api/v1/notifications?state=bogus", headers=admin)
    assert bogus.status_code == 422 and "may have been sent" in bogus.text
    # Not resendable while it waits for its retry; a message that does not exist: 404.
    again = client.post(f"/api/v1/notifications/{nps['id']}/resend", headers=admin)
    assert again.status_code == 409 and "'retry'" in again.json()["error"]["message"]
    missing = client.post(f"/api/v1/notifications/{nps['id'] + 1000}/resend", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"notification {nps['id'] + 1000} not found"
    jobs = client.get("/api/v1/jobs", headers=admin)
    assert jobs.status_code == 200, jobs.text
    keys = [j["key"] for j in jobs.json()["jobs"]]
    assert any(k.startswith("notify:") for k in keys), keys
    for path in ("/api/v1/notifications", "/api/v1/jobs"):
        refused = client.get(path, headers=bearer(app, "claire"))
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == (
            "the jobs and the notifications are for administrators of the whole organisation"
        )
        assert client.get(path).status_code == 401


def test_the_api_sends_again_what_may_have_been_sent(app: object) -> None:
    from lineofsight.services import audit
    from lineofsight.store import notifications as stored

    store = store_of(app)
    key = crash_one_send(store)  # its lease ended long before today: it may have been sent
    client = TestClient(app)  # type: ignore[arg-type]
    admin = bearer(app, "admin")
    listed = client.get("/api/v1/notifications?state=may have been sent", headers=admin).json()
    assert [m["key"] for m in listed["notifications"]] == [key]
    row = listed["notifications"][0]
    assert row["resendable"] is True
    sent = client.post(f"/api/v1/notifications/{row['id']}/resend", headers=admin)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"id": row["id"], "state": "queued", "was": "may have been sent"}
    with store.reading() as conn:
        assert {r.key: r.state for r in stored.read_outbox(conn)}[key] == "retry"
    entries = audit.read_audit(store, subject=str(row["id"]), limit=5)
    assert [(e.actor, e.action) for e in entries] == [("admin", "notification.resend")]
