"""Notifications end to end: a real SMTP server and a real HTTP receiver take what
`send_due` sends, on SQLite and PostgreSQL; each message is parsed and checked."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import notify, notify_admin, notify_plan
from lineofsight.services.notify_settings import person_preferences
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.notify_org import NOW, PASSWORD, SECRET, build
from tests.notify_servers import Received, SmtpSink, WebhookReceiver


@pytest.fixture
def store(db_url: str, tmp_path: Path, smtp: SmtpSink) -> Iterator[Store]:
    built = build(db_url, tmp_path / "org", smtp.port)
    yield built
    built.close()


def subject(received: Received) -> str:
    """The subject as written (a long one comes folded over lines)."""
    return " ".join(str(received.message["Subject"]).split())


def by_recipient(sink: SmtpSink) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for received in sink.messages:
        for to in received.recipients:
            found.setdefault(to, []).append(subject(received))
    return found


def login(app: object, username: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def test_owner_and_lead_get_the_red_kpi_by_email(store: Store, smtp: SmtpSink) -> None:
    report = notify.send_due(store, NOW, secret=SECRET)
    assert report.count("sent") == len(smtp.messages) > 0
    assert report.count("retry") == report.count("failed") == 0
    subjects = by_recipient(smtp)
    red = "[Line of Sight] Net Promoter Score turned red (2026-10)"
    assert red in subjects["sam@example.com"]  # the owner
    assert red in subjects["claire@example.com"]  # the lead of Customer Service
    assert "[Line of Sight] Gross margin turned red (2026-10)" in subjects["omar@example.com"]
    assert "quinn@example.com" not in subjects  # opted out in the strategy file
    message = next(
        r for r in smtp.messages if r.recipients == ["sam@example.com"] and subject(r) == red
    )
    assert message.message["From"] == "los@example.com"
    assert message.message["To"] == "sam@example.com"
    assert message.message.get_content_type() == "multipart/alternative"
    for body in (message.text, message.html):
        assert "Net Promoter Score" in body
        assert "20 against a target of 50" in body
    assert "http://testserver/kpis/nps?period=2026-10" in message.text
    assert 'href="http://testserver/kpis/nps?period=2026-10"' in message.html


def test_an_email_writes_a_kpis_value_with_its_unit_of_measure(
    store: Store, smtp: SmtpSink
) -> None:
    # As the pages and the attention list do: "17.5% (red)", not "17.5 (red)".
    notify.send_due(store, NOW, secret=SECRET)
    red = "[Line of Sight] Gross margin turned red (2026-10)"
    message = next(
        r for r in smtp.messages if r.recipients == ["omar@example.com"] and subject(r) == red
    )
    assert "Gross margin: 17.5% (red) in 2026-10" in message.text
    assert "17.5% against a target of 40%" in message.text
    assert "17.5% (red) in 2026-10" in message.html
    digest = next(
        r
        for r in smtp.messages
        if r.recipients == ["avery@example.com"] and "Your week" in subject(r)
    )
    assert "Gross margin: 17.5% (red) in 2026-10" in digest.text


def test_links_open_in_the_app_and_unsubscribe_works_without_login(
    db_url: str, store: Store, smtp: SmtpSink
) -> None:
    notify.send_due(store, NOW, secret=SECRET)
    red = next(
        r
        for r in smtp.messages
        if r.recipients == ["sam@example.com"] and "turned red" in subject(r)
    )
    app = create_app(db_url, secret_key=SECRET)
    try:
        link = next(w for w in red.text.split() if w.startswith("http://testserver/kpis/"))
        parts = urlsplit(link)
        page = login(app, "sam").get(f"{parts.path}?{parts.query}")
        assert page.status_code == 200
        assert "Net Promoter Score" in page.text
        unsubscribe = red.message["List-Unsubscribe"].strip("<>")
        # Mail clients read the header's URL as written (RFC 2369): never an encoded word.
        assert f"\nList-Unsubscribe: <{unsubscribe}>\r\n".encode() in red.raw
        assert unsubscribe in red.text and unsubscribe in red.html
        anonymous = TestClient(app)  # type: ignore[arg-type]
        path = urlsplit(unsubscribe).path
        confirm = anonymous.get(path)
        assert confirm.status_code == 200 and 'id="unsubscribe"' in confirm.text
        assert person_preferences(store, "agent").email  # a GET changes nothing
        done = anonymous.post(path)
        assert done.status_code == 200 and 'id="unsubscribed"' in done.text
        assert not person_preferences(store, "agent").email
        forged = anonymous.post(path[:-3] + "AAA")
        assert forged.status_code == 404
    finally:
        app.state.store.close()
    before = len(smtp.messages)
    notify.send_due(store, NOW + dt.timedelta(days=8), secret=SECRET)  # a new week, new items
    assert all("sam@example.com" not in r.recipients for r in smtp.messages[before:])


def test_nothing_leaks_to_other_units(store: Store, smtp: SmtpSink) -> None:
    notify.send_due(store, NOW, secret=SECRET)
    for received in smtp.messages:
        to = received.recipients[0]
        body = received.text + received.html
        if to in ("claire@example.com", "sam@example.com"):
            # Customer Service's people never read Finance's numbers.
            assert "Gross margin" not in body and "17.5" not in body, to
        if to == "omar@example.com":
            # No account: Omar hears only about what he owns.
            assert "Net Promoter Score" not in body and "Churn" not in body
    digests = [r for r in smtp.messages if "Your week 2026-W45" in subject(r)]
    ceo = next(r for r in digests if r.recipients == ["avery@example.com"])
    assert "Gross margin" in ceo.text and "Net Promoter Score" in ceo.text  # an admin reads all


def test_digest_is_the_attention_list_once_a_week(store: Store, smtp: SmtpSink) -> None:
    from lineofsight.services.attention import attention_for

    notify.send_due(store, NOW, secret=SECRET)
    digest = next(
        r
        for r in smtp.messages
        if r.recipients == ["sam@example.com"] and "Your week" in subject(r)
    )
    items = attention_for(store, person="agent", as_of=NOW.date())
    assert items
    for item in items:
        assert item.reason in digest.text
    count = len(smtp.messages)
    notify.send_due(store, NOW + dt.timedelta(days=1), secret=SECRET)  # same week
    assert not any("Your week" in subject(r) for r in smtp.messages[count:])


def test_reminders_before_due_then_daily_while_overdue(store: Store, smtp: SmtpSink) -> None:
    from lineofsight.store import notifications as stored

    # 2026-11's values are due 2026-12-10: reminders 7 and 1 days before, none between.
    days = {dt.date(2026, 12, d): d for d in (3, 4, 9, 10)}
    sent: dict[int, list[str]] = {}
    for day, number in days.items():
        before = len(smtp.messages)
        notify.send_due(store, dt.datetime.combine(day, dt.time(8), dt.UTC), secret=SECRET)
        sent[number] = [
            subject(r) for r in smtp.messages[before:] if r.recipients == ["sam@example.com"]
        ]
    assert (
        "[Line of Sight] Customer satisfaction: the value for 2026-11 is due in 7 days" in sent[3]
    )
    assert not any("is due" in s for s in sent[4])
    assert any("Customer satisfaction: the value for 2026-11 is due tomorrow" in s for s in sent[9])
    # On the day itself the value counts as overdue (SPEC section 3): the "overdue" email.
    assert any("Customer satisfaction: the value for 2026-11 is overdue" in s for s in sent[10])
    before = len(smtp.messages)
    for day in (11, 12):
        notify.send_due(store, dt.datetime(2026, 12, day, 8, tzinfo=dt.UTC), secret=SECRET)
    overdue = [
        r
        for r in smtp.messages[before:]
        if "Customer satisfaction: the value for 2026-11 is overdue" in subject(r)
        and r.recipients == ["sam@example.com"]
    ]
    assert len(overdue) == 2  # daily while overdue
    # The message and a chat line say the due day is past, not that it is still to come.
    assert "Customer satisfaction: the value for 2026-11 was due on 2026-12-10" in overdue[0].text
    assert "is due on" not in overdue[0].text
    with store.reading() as conn:
        keys = [r.key for r in stored.read_outbox(conn, limit=10_000)]
    assert len(keys) == len(set(keys)) == len(smtp.messages)


def test_a_reminder_whose_day_had_no_sender_run_goes_on_the_next_run_once(
    store: Store, smtp: SmtpSink
) -> None:
    # 2026-11's values are due 2026-12-10; no sender ran on the 3rd (the server was down):
    # the 7-day reminder goes on the 5th, once, and the 1-day one on the 9th as planned.
    def reminders(day: int) -> list[str]:
        before = len(smtp.messages)
        notify.send_due(store, dt.datetime(2026, 12, day, 8, tzinfo=dt.UTC), secret=SECRET)
        return [
            subject(r)
            for r in smtp.messages[before:]
            if r.recipients == ["sam@example.com"] and "Customer satisfaction" in subject(r)
        ]

    late = reminders(5)
    assert late == ["[Line of Sight] Customer satisfaction: the value for 2026-11 is due in 5 days"]
    assert reminders(6) == [] and reminders(8) == []
    assert reminders(9) == [
        "[Line of Sight] Customer satisfaction: the value for 2026-11 is due tomorrow"
    ]
    plan = notify_plan.candidates(store, dt.date(2026, 12, 7))
    keys = [n.key for n in plan if n.kind == "due_soon" and n.recipient == "agent"]
    assert keys and all(k.endswith(":7d") for k in keys), keys  # the 7-day reminder's key


def test_failed_send_is_retried_with_back_off(store: Store, smtp: SmtpSink) -> None:
    smtp.refuse = 1
    first = notify.send_due(store, NOW, secret=SECRET)
    failed = [o for o in first.outcomes if o.state == "retry"]
    assert len(failed) == 1
    assert failed[0].error is not None and "451" in failed[0].error
    assert failed[0].next_attempt_at == NOW + notify.BACKOFF[0]
    delivered = len(smtp.messages)
    early = notify.send_due(store, NOW + dt.timedelta(seconds=59), secret=SECRET)
    assert early.outcomes == [] and len(smtp.messages) == delivered
    later = notify.send_due(store, NOW + dt.timedelta(seconds=60), secret=SECRET)
    assert [(o.key, o.state) for o in later.outcomes] == [(failed[0].key, "sent")]
    # The retried row was queued by the first run: this run's line counts it apart, so that
    # what it queued and what it tried add up.
    assert later.line() == "0 queued (and 1 queued before); sent 1, retrying 0, failed 0"
    assert first.line().startswith(f"{len(first.queued)} queued; sent ")
    keys = [str(r.message["X-LineOfSight-Key"]) for r in smtp.messages]
    assert len(keys) == len(set(keys))


def test_a_send_that_keeps_failing_is_marked_failed_with_its_reason(
    store: Store, smtp: SmtpSink
) -> None:
    smtp.refuse = 10_000
    now = NOW
    states: list[str] = []
    for wait in (dt.timedelta(0), *notify.BACKOFF):
        now += wait
        report = notify.send_due(store, now, secret=SECRET)
        states = sorted({o.state for o in report.outcomes})
    assert states == ["failed"]
    rows = notify_admin.outbox(store, now)
    assert rows and all(r["shown_state"] == "failed" for r in rows)
    assert all(r["attempts"] == notify.MAX_ATTEMPTS for r in rows)
    assert all("451" in (r["last_error"] or "") for r in rows)
    assert smtp.messages == []


def test_two_senders_on_one_store_send_each_key_once(
    db_url: str, store: Store, smtp: SmtpSink
) -> None:
    barrier = threading.Barrier(2)
    reports: list[notify.NotifyReport] = []
    errors: list[BaseException] = []

    store.arrow_sqlite = False  # one SQLite library per process (see Store.arrow_sqlite)

    def sender() -> None:
        own = Store(db_url)
        own.arrow_sqlite = False
        try:
            barrier.wait(timeout=30)
            reports.append(notify.send_due(own, NOW, secret=SECRET))
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    keys = [str(r.message["X-LineOfSight-Key"]) for r in smtp.messages]
    assert len(keys) == len(set(keys)) > 0
    assert sum(r.count("sent") for r in reports) == len(keys)
    queued = [n.key for r in reports for n in r.queued]
    assert sorted(queued) == sorted(keys)  # each key queued by one sender
    assert notify.plan(store, NOW) == []


def test_webhooks_post_what_slack_and_teams_accept(
    db_url: str, tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = WebhookReceiver(statuses=[500]).start()
    monkeypatch.setenv("LOS_TEST_SLACK_URL", receiver.url + "/slack/T000/B000/secretpart")
    monkeypatch.setenv("LOS_TEST_TEAMS_URL", receiver.url + "/teams/secretpart")
    monkeypatch.setenv("LOS_TEST_FLOW_URL", receiver.url + "/workflows/secretpart")
    hooks = (
        "  webhooks:\n"
        "    - {id: cs_channel, kind: slack, url: env:LOS_TEST_SLACK_URL, unit: cs}\n"
        "    - {id: company, kind: teams, url: env:LOS_TEST_TEAMS_URL}\n"
        "    - {id: cs_flow, kind: teams_workflow, url: env:LOS_TEST_FLOW_URL, unit: cs}\n"
    )
    store = build(db_url, tmp_path / "org", smtp.port, webhooks=hooks)
    try:
        first = notify.send_due(store, NOW, secret=SECRET)
        retry = [o for o in first.outcomes if o.state == "retry"]
        assert len(retry) == 1 and retry[0].error is not None
        assert "HTTP 500" in retry[0].error and "secretpart" not in retry[0].error
        notify.send_due(store, NOW + notify.BACKOFF[0], secret=SECRET)
        pages = " ".join(str(r) for r in notify_admin.outbox(store, NOW))
        assert "secretpart" not in pages
    finally:
        store.close()
        receiver.stop()
    slack = [body for path, body in receiver.bodies if path.startswith("/slack/")]
    teams = [body for path, body in receiver.bodies if path.startswith("/teams/")]
    assert slack and teams
    for body in slack:
        assert set(body) == {"text"}
        assert "Gross margin" not in body["text"]  # the Customer Service channel
    nps = next(b for b in slack if "Net Promoter Score" in b["text"])
    assert "<http://testserver/kpis/nps?period=2026-10|Net Promoter Score>" in nps["text"]
    assert "20 (red)" in nps["text"]
    for body in teams:
        assert body["@type"] == "MessageCard"
        assert body["@context"] == "https://schema.org/extensions"
        assert body["summary"] and body["text"]
    assert any("Gross margin" in b["title"] for b in teams)  # the organisation's channel
    assert any("[Open it](http://testserver/kpis/nps?period=2026-10)" in b["text"] for b in teams)
    # A Workflows webhook takes a message whose attachment is an Adaptive Card.
    flows = [body for path, body in receiver.bodies if path.startswith("/workflows/")]
    assert flows
    for body in flows:
        assert body["type"] == "message"
        (attachment,) = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        assert all(block["type"] == "TextBlock" and block["text"] for block in card["body"])
        assert "Gross margin" not in json.dumps(card)  # the Customer Service channel
    nps_card = next(b for b in flows if "Net Promoter Score" in b["summary"])["attachments"][0]
    (open_it,) = nps_card["content"]["actions"]
    assert open_it == {
        "type": "Action.OpenUrl",
        "title": "Open it",
        "url": "http://testserver/kpis/nps?period=2026-10",
    }
    assert any("20 (red)" in block["text"] for block in nps_card["content"]["body"])


def test_render_digests_renders_what_send_due_sends_without_sending(
    store: Store, smtp: SmtpSink
) -> None:
    from lineofsight.services.attention import attention_lists

    lists = attention_lists(store, as_of=NOW.date())
    # Everyone with items and an address but Quinn (opted out of emails) gets a digest.
    expected = {p for p, items in lists.items() if items and p != "quiet"}
    assert notify.render_digests(store, lists, now=NOW) == len(expected) > 0
    assert smtp.messages == []
    assert notify.render_digest(store, "quiet", lists["quiet"], now=NOW) is None
    rendered = notify.render_digest(store, "agent", lists["agent"], now=NOW)
    assert rendered is not None
    notify.send_due(store, NOW, secret=SECRET)
    sent = next(
        r
        for r in smtp.messages
        if r.recipients == ["sam@example.com"] and "Your week" in subject(r)
    )
    assert subject(sent) == rendered.subject
    received = sent.text.replace("\r\n", "\n")  # SMTP's line ends
    assert received.split("\n--\n")[0] == rendered.text.split("\n--\n")[0]
    claire = notify.render_digest(store, "cs_head", lists["cs_head"], now=NOW)
    assert claire is not None and "Gross margin" not in claire.text


def test_a_lead_whose_role_cannot_read_the_unit_hears_nothing_of_it(
    store: Store, smtp: SmtpSink
) -> None:
    from lineofsight.services.accounts import Grant, change_user

    # Claire leads Customer Service, but her account may now read Finance only.
    change_user(store, "claire", grants=[Grant("viewer", "fin")], actor="tests")
    planned = notify.plan(store, NOW)
    claire = [n for n in planned if n.recipient == "cs_head"]
    assert not [n for n in claire if n.item and n.item.endswith("@cs")]
    notify.send_due(store, NOW, secret=SECRET)
    for received in smtp.messages:
        if received.recipients == ["claire@example.com"]:
            body = received.text + received.html
            assert "Net Promoter Score" not in body and "Churn" not in body
    # Omar owns Gross margin (no account): his alert, and no copy for anyone outside Finance.
    assert [n.recipient for n in planned if n.item == "kpi:margin@fin"] == ["cfo"]


def test_without_an_smtp_server_only_the_chat_channels_hear(
    store: Store, smtp: SmtpSink, tmp_path: Path
) -> None:
    from lineofsight.services.apply import apply_file
    from tests.notify_org import strategy_text

    hooks = "  webhooks:\n    - {id: team, kind: slack, url: env:LOS_TEST_NO_SUCH_HOOK}\n"
    text = strategy_text(smtp.port, webhooks=hooks)
    lines = [line for line in text.splitlines() if "smtp:" not in line]
    (tmp_path / "webhooks_only.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    apply_file(store, tmp_path / "webhooks_only.yaml")
    planned = notify.plan(store, NOW)
    assert planned and {n.channel for n in planned} == {"webhook"}
    report = notify.send_due(store, NOW)  # no secret needed: no email to sign
    assert {o.state for o in report.outcomes} == {"retry"}
    assert all("LOS_TEST_NO_SUCH_HOOK is not set" in (o.error or "") for o in report.outcomes)
    assert smtp.messages == []


def test_a_lead_without_an_account_gets_the_copy_and_the_digest_of_their_unit(
    store: Store, smtp: SmtpSink
) -> None:
    from lineofsight.services.accounts import remove_user
    from lineofsight.services.attention import attention_for

    # Claire leads Customer Service and has no web account: the strategy file makes its
    # items hers (her `los inbox`), so she hears of them as the lead she is.
    remove_user(store, "claire", actor="tests")
    notify.send_due(store, NOW, secret=SECRET)
    mine = [r for r in smtp.messages if r.recipients == ["claire@example.com"]]
    red = "Net Promoter Score turned red"
    assert any(red in subject(r) for r in mine), [subject(r) for r in mine]
    (digest,) = [r for r in mine if "Your week" in subject(r)]
    listed = attention_for(store, person="cs_head", as_of=NOW.date())
    assert listed and f"{len(listed)} item" in digest.text
    for item in listed:
        assert item.name in digest.text
    # Still nothing of another unit.
    assert all("Gross margin" not in r.text + r.html for r in mine)
