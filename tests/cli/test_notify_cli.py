"""`los notify` through its runner and as a process: the dry run says what would be sent and
why; a sender killed between a send and its record sends nothing twice after a restart; the
settings are checked with file and line; a secret is never stored or shown."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from lineofsight.services import notify, notify_admin
from lineofsight.store import notifications as stored
from lineofsight.store.database import Store
from lineofsight.store.notification_tables import notification_outbox
from tests.conftest import Los
from tests.notify_org import NOW, SECRET, build, strategy_text
from tests.notify_servers import Received, SmtpSink

AS_OF = NOW.date().isoformat()


class Opened:
    """Opens the store for each use and closes it after, so that no connection of the test
    stays open on an SQLite file while a command in this process reads it through ADBC."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> Store:
        self.store = Store(self.url)
        return self.store

    def __exit__(self, *_: object) -> None:
        self.store.close()


@pytest.fixture
def store(db_url: str, workdir: Path, smtp: SmtpSink) -> Opened:
    build(db_url, workdir, smtp.port).close()
    return Opened(db_url)


def test_dry_run_says_what_and_why_and_sends_nothing(
    los: Los, store: Opened, smtp: SmtpSink
) -> None:
    result = los("notify", "--dry-run", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "Would send" in result.output
    assert "email to agent <sam@example.com>: turned_red kpi:nps@cs" in result.output
    assert "subject: [Line of Sight] Net Promoter Score turned red (2026-10)" in result.output
    assert "why: owner: turned red in 2026-10: 20 against a target of 50" in result.output
    assert "email to cs_head <claire@example.com>: turned_red kpi:nps@cs" in result.output
    assert "why: unit lead: turned red in 2026-10" in result.output
    assert smtp.messages == []
    with store as opened, opened.reading() as conn:
        assert stored.read_outbox(conn) == []
    as_json = los("notify", "--dry-run", "--as-of", AS_OF, "--format", "json")
    data = json.loads(as_json.stdout)
    kinds = {(n["recipient"], n["kind"], n["item"]) for n in data["would_send"]}
    assert ("agent", "turned_red", "kpi:nps@cs") in kinds
    assert ("cfo", "turned_red", "kpi:margin@fin") in kinds
    assert all(n["recipient"] != "quiet" for n in data["would_send"])  # opted out
    assert data["would_retry"] == []


def test_send_reports_each_message_then_nothing_is_left(
    los: Los, store: Opened, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_SECRET_KEY", SECRET)
    sent = los("notify", "--as-of", AS_OF)
    assert sent.exit_code == 0, sent.output
    assert f"Sent {len(smtp.messages)}, retrying 0, failed 0." in sent.output
    assert "sent: email to agent: [Line of Sight] Net Promoter Score turned red" in sent.output
    again = los("notify", "--dry-run", "--as-of", AS_OF)
    assert again.output.strip() == "Nothing to send now."


def test_sends_that_failed_exit_1_and_a_run_with_nothing_due_exits_0(
    los: Los, store: Opened, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_SECRET_KEY", SECRET)
    smtp.refuse = 10_000  # every message is put back for a retry
    refused = los("notify", "--as-of", AS_OF)
    assert refused.exit_code == 1, refused.output
    assert "Sent 0, retrying " in refused.output and "retrying 0" not in refused.output
    as_json = los("notify", "--as-of", AS_OF, "--format", "json")
    assert as_json.exit_code == 0, "none due: the retries wait for their back-off"
    waiting = json.loads(as_json.stdout)
    assert waiting["outcomes"] == []
    # Not "nothing to send": the messages put back wait, and when the first is due is said.
    assert waiting["waiting"] == refused.output.count("retry: ") > 0
    assert waiting["next_retry_at"].endswith("+00:00")
    later = (NOW + dt.timedelta(days=1)).date().isoformat()
    _pass_back_off(store)  # --as-of is what messages are about: their clock is the real one
    smtp.refuse = 1  # one send fails again, the others go
    again = los("notify", "--as-of", later, "--format", "json")
    assert again.exit_code == 1, again.output
    report = json.loads(again.stdout)
    assert report["retry"] == 1 and report["sent"] >= 1 and report["failed"] == 0
    last = los("notify", "--as-of", later)
    assert last.exit_code == 0, last.output
    assert last.output.startswith("Sent 0, retrying 0, failed 0."), "its retry is not due yet"
    assert "1 message waits for its retry (the next at " in last.output
    assert "UTC): `los notify` (or the scheduler) sends it then." in last.output


def _pass_back_off(store: Opened) -> None:
    """Every retry due now, as if its back-off had passed (without waiting for it)."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with store as opened, opened.transaction() as conn:
        conn.execute(
            update(notification_outbox)
            .where(notification_outbox.c.state == "retry")
            .values(next_attempt_at=past)
        )


def test_a_message_about_a_past_day_is_recorded_as_sent_when_it_was(
    los: Los, store: Opened, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_SECRET_KEY", SECRET)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sent = los("notify", "--as-of", AS_OF)
    assert sent.exit_code == 0, sent.output
    after = dt.datetime.now(dt.UTC)
    with store as opened:
        rows = notify_admin.outbox(opened, dt.datetime.now(dt.UTC), limit=100)
    assert rows and len(smtp.messages) == len([r for r in rows if r["channel"] == "email"])
    for row in rows:
        for field in ("sent_at", "created_at"):  # shown to the minute, in UTC
            moment = dt.datetime.strptime(row[field], "%Y-%m-%d %H:%M UTC")
            assert before.replace(second=0) <= moment.replace(tzinfo=dt.UTC) <= after, row
    # The email's Date header says the same moment the outbox records.
    first = min(dt.datetime.strptime(r["sent_at"], "%Y-%m-%d %H:%M UTC") for r in rows)
    dated = parsedate_to_datetime(smtp.messages[0].message["Date"])
    assert abs(dated - first.replace(tzinfo=dt.UTC)) < dt.timedelta(minutes=2)
    # What they are about is still the day asked for: the red KPI of 5 November.
    assert any("Net Promoter Score turned red" in r["subject"] for r in rows)


def test_without_a_notifications_section_it_says_they_are_off(
    los: Los, store: Opened, smtp: SmtpSink, workdir: Path
) -> None:
    path = workdir / "strategy.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    del spec["notifications"]
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    assert los("apply", "strategy.yaml").exit_code == 0
    for args in (("--dry-run",), ()):
        result = los("notify", *args, "--as-of", AS_OF)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == (
            "Notifications are off: the strategy file has no `notifications:` section."
        )
    assert smtp.messages == []


def test_the_scheduled_sender_runs_once_until_it_is_due_again(
    los: Los, store: Opened, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_SECRET_KEY", SECRET)
    listed = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    assert [(j["key"], j["schedule"]) for j in listed] == [
        ("notify:send", "hourly"),
        ("scorecard:keep", "daily"),  # the scorecard keeper of a store with KPIs
    ]
    ran = los("notify", "--due")
    assert ran.exit_code == 0, ran.output
    sent = len(smtp.messages)
    assert sent > 0
    assert f"ran notify:send: {sent} queued; sent {sent}, retrying 0, failed 0" in ran.stdout
    again = los("notify", "--due")
    assert again.stdout.strip() == "Nothing is due."
    assert len(smtp.messages) == sent


def test_sending_email_needs_the_apps_secret_key(
    los: Los, store: Opened, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOS_SECRET_KEY", raising=False)
    result = los("notify", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "set LOS_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output
    assert smtp.messages == []


def test_killed_between_send_and_record_sends_no_duplicate(
    db_url: str, store: Opened, smtp: SmtpSink
) -> None:
    command = [sys.executable, "-m", "lineofsight", "notify", "--as-of", AS_OF, "--db", db_url]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "LOS_SECRET_KEY": SECRET,
        "LOS_DATABASE_URL": "",
    }
    process: list[subprocess.Popen[bytes]] = []

    def kill_the_sender(_message: Received) -> None:
        # The server has the message and has not answered yet: the sender dies before it
        # could record the send.
        if len(smtp.messages) == 1:
            process[0].send_signal(signal.SIGKILL)

    smtp.on_message = kill_the_sender
    process.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
    assert process[0].wait(timeout=300) == -signal.SIGKILL
    assert len(smtp.messages) == 1
    first_key = str(smtp.messages[0].message["X-LineOfSight-Key"])
    smtp.on_message = None

    restarted = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    keys = [str(r.message["X-LineOfSight-Key"]) for r in smtp.messages]
    assert len(keys) == len(set(keys))  # no duplicate
    assert keys.count(first_key) == 1 and len(keys) > 1  # the others went out
    with store as opened, opened.reading() as conn:
        rows = {r.key: r for r in stored.read_outbox(conn)}
    assert rows[first_key].state == "sending"
    # After its lease the row may have been sent: shown so, and never sent by itself.
    # (The sender's clock is the real one; --as-of only said what the messages are about.)
    later = dt.datetime.now(dt.UTC) + notify.LEASE + dt.timedelta(days=1)
    with store as opened:
        report = notify.send_due(opened, later, secret=SECRET, as_of=NOW.date())
        assert report.uncertain == 1
        keys = [str(r.message["X-LineOfSight-Key"]) for r in smtp.messages]
        assert keys.count(first_key) == 1
        shown = {r["key"]: r for r in notify_admin.outbox(opened, later)}
        assert shown[first_key]["shown_state"] == "may have been sent"
        assert shown[first_key]["resendable"]
        # An admin decides to send it again: then, and only then, it goes out a second time.
        assert notify_admin.resend(opened, shown[first_key]["id"], later, actor="admin")
        notify.send_due(opened, later, secret=SECRET, as_of=NOW.date())
    assert [str(r.message["X-LineOfSight-Key"]) for r in smtp.messages].count(first_key) == 2


def test_settings_are_checked_with_file_and_line(los: Los, workdir: Path) -> None:
    text = strategy_text(2525).replace(
        "from_address: los@example.com}",
        "from_address: los@example.com, username: u, password: hunter2-plain}",
    )
    text += (
        "  digest_day: someday\n  webhooks:\n    - {id: x, kind: irc, url: https://hook}\n"
        "    - {id: y, kind: slack, url: env:HOOK, unit: nowhere}\n"
    )
    (workdir / "bad.yaml").write_text(text, encoding="utf-8")
    result = los("apply", "bad.yaml")
    assert result.exit_code == 2
    lines = text.splitlines()
    smtp_line = next(i for i, line in enumerate(lines, 1) if "smtp:" in line)
    assert f"bad.yaml:{smtp_line}: " in result.stderr
    assert "never in the file" in result.stderr
    assert "hunter2-plain" not in result.stderr  # not even a wrong secret is shown back
    assert "digest_day" in result.stderr and "'someday'" in result.stderr
    assert "kind" in result.stderr and "'irc'" in result.stderr
    assert "https://hook" not in result.stderr  # a webhook URL is a secret too
    hook_line = len(lines)
    assert f"bad.yaml:{hook_line}: webhook: unit: unknown unit 'nowhere'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("host", "security", "refused"),
    [
        ("smtp.example.com", "none", True),
        ("10.0.0.7", "none", True),
        ("smtp.example.com", "starttls", False),
        ("smtp.example.com", "tls", False),
        ("localhost", "none", False),
        ("127.0.0.1", "none", False),
        ("::1", "none", False),
    ],
)
def test_a_password_is_never_sent_unencrypted_over_a_network(
    los: Los, workdir: Path, host: str, security: str, refused: bool
) -> None:
    """A login over `security: none` would send the password as it is: refused with file,
    line and reason, unless the server is on this machine."""
    text = strategy_text(2525).replace("host: 127.0.0.1", f"host: '{host}'")
    text = text.replace(
        "from_address: los@example.com}",
        f"from_address: los@example.com, username: u, password: env:X, security: {security}}}",
    )
    (workdir / "login.yaml").write_text(text, encoding="utf-8")
    result = los("apply", "login.yaml")
    if refused:
        assert result.exit_code == 2, result.output
        smtp_line = next(i for i, line in enumerate(text.splitlines(), 1) if "smtp:" in line)
        assert f"login.yaml:{smtp_line}: " in result.stderr
        assert f"would send the password to {host} unencrypted" in result.stderr
        assert "Traceback" not in result.output
    else:
        assert result.exit_code == 0, result.output


def test_settings_round_trip_and_the_store_keeps_no_secret(
    los: Los, workdir: Path, smtp: SmtpSink, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_TEST_SMTP_PASSWORD", "s3cret-value-never-stored")
    login = ", username: los, password: env:LOS_TEST_SMTP_PASSWORD, security: none"
    store = build(db_url, workdir, smtp.port, login=login)
    store.close()
    exported = los("export")
    assert exported.exit_code == 0, exported.output
    assert "password: env:LOS_TEST_SMTP_PASSWORD" in exported.stdout
    people = yaml.safe_load(exported.stdout)["organization"]["people"]
    assert next(p for p in people if p["id"] == "quiet")["notifications"] == {"email": False}
    (workdir / "again.yaml").write_text(exported.stdout, encoding="utf-8")
    assert "No changes" in los("apply", "again.yaml").output
    history = los("history", "-n", "50")
    assert "notifications" in history.output
    assert "s3cret-value-never-stored" not in history.output
    path = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite") else None
    if path is not None:
        assert b"s3cret-value-never-stored" not in path.read_bytes()


def test_the_scheduled_sender_exits_1_when_sends_failed_as_los_notify_does(
    los: Los, store: Opened, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_SECRET_KEY", SECRET)
    smtp.refuse = 10_000  # every message is put back for a retry
    ran = los("notify", "--due")
    assert ran.exit_code == 1, ran.output
    assert "FAILED notify:send: " in ran.output
    assert "sent 0, retrying " in ran.output and "retrying 0" not in ran.output
    assert "Traceback" not in ran.output
    listed = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    (sender,) = [j for j in listed if j["key"] == "notify:send"]
    assert sender["attempts"] == 1 and "retrying" in sender["last_error"]
    # Why: the server's answer, in the run's line and the job's error alike.
    assert "answered 451 4.3.0 try again later" in ran.output
    assert "answered 451 4.3.0 try again later" in sender["last_error"]


def test_dry_run_names_the_unit_leads_it_cannot_copy(
    los: Los, store: Opened, workdir: Path
) -> None:
    path = workdir / "strategy.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(", email: claire@example.com", ""), encoding="utf-8")
    assert los("apply", "strategy.yaml").exit_code == 0
    result = los("notify", "--dry-run", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "cs_head <" not in result.output
    assert (
        "Unit leads not copied:\n"
        "  Claire Dubois (cs_head, lead of Customer Service) has no email in the strategy "
        "file: not copied"
    ) in result.output
    as_json = json.loads(los("notify", "--dry-run", "--as-of", AS_OF, "--format", "json").stdout)
    assert as_json["not_copied"] == [
        "Claire Dubois (cs_head, lead of Customer Service) has no email in the strategy file: "
        "not copied"
    ]
