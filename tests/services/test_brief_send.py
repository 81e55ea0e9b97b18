"""Sending each review's briefing book to its attendees `lead_days` ahead: through the
notifications outbox, each attendee's email once per review however often the job runs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.services import brief_send, notify
from lineofsight.services.apply import apply_file
from lineofsight.services.brief_send import queue_books
from lineofsight.services.jobs import scheduled_jobs
from lineofsight.services.measurements import load_file
from lineofsight.store import notifications as outbox
from lineofsight.store.database import Store
from tests.notify_servers import SmtpSink
from tests.services.brief_org import MEASUREMENTS, STRATEGY, make_store


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = make_store(db_url, tmp_path)
    yield opened
    opened.close()


def _rows(store: Store) -> list[dict[str, object]]:
    with store.reading() as conn:
        return [dict(r._mapping) for r in outbox.read_outbox(conn, limit=100)]


def test_the_book_is_queued_once_for_each_attendee_within_the_lead_days(store: Store) -> None:
    # The review is on the 3rd of each month, lead_days 3: 1 July is two days ahead.
    early = queue_books(store, dt.datetime(2026, 6, 29, 9, tzinfo=dt.UTC))
    assert early.due == [] and early.queued == []
    assert _rows(store) == []

    run = queue_books(store, dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC))
    assert run.due == [("co", dt.date(2026, 7, 3))]
    # Oli has no email address: only the two attendees who have one.
    assert sorted(p for _, _, p in run.queued) == ["cara", "ceo"]
    rows = _rows(store)
    assert sorted(r["key"] for r in rows) == [
        "brief|cara|co|2026-07-03",
        "brief|ceo|co|2026-07-03",
    ]
    row = next(r for r in rows if r["recipient"] == "ceo")
    assert (row["kind"], row["channel"], row["address"], row["period"]) == (
        "brief",
        "email",
        "casey@example.com",
        "2026-06",
    )
    payload = json.loads(str(row["payload"]))
    assert payload["subject"] == (
        "[Line of Sight] Briefing book: Acme Company, 2026-06 (review on 2026-07-03)"
    )
    assert "Customer churn (Customer Service): 2026-06: 12.5%" in payload["text"]
    assert (
        "https://los.example.com/units/co/brief.pdf?period=2026-06&review=true" in payload["text"]
    )
    assert "Customer churn" in payload["html"]

    # Run again (and the next day, still within the lead days): nothing new.
    assert queue_books(store, dt.datetime(2026, 7, 1, 18, tzinfo=dt.UTC)).queued == []
    assert queue_books(store, dt.datetime(2026, 7, 2, 9, tzinfo=dt.UTC)).queued == []
    assert len(_rows(store)) == 2


def test_an_early_month_reviews_book_shows_each_kpi_at_its_latest_period(store: Store) -> None:
    # The review of 3 August looks back at July, whose values are not due until 30 August:
    # the book sent on 1 August shows each KPI at June, its latest month with a value, not
    # July's results awaiting their values; its links open that book, not July's report.
    queue_books(store, dt.datetime(2026, 8, 1, 9, tzinfo=dt.UTC))
    row = next(r for r in _rows(store) if r["recipient"] == "ceo")
    assert row["period"] == "2026-07"
    text = json.loads(str(row["payload"]))["text"]
    assert (
        "The review covers 2026-07 (2026-07-01 to 2026-07-31): each KPI is shown at its latest "
        "own period with a value or due by 2026-07-31 (2026-06: 3 results)." in text
    )
    assert "- Customer churn (Customer Service): 2026-06: 12.5%" in text
    assert "await" not in text
    assert "https://los.example.com/units/co/brief?period=2026-07&review=true" in text


def test_the_scheduler_lists_the_books_job_before_the_sender(store: Store) -> None:
    keys = [job.key for job in scheduled_jobs(store)]
    assert "brief:send" in keys and "notify:send" in keys
    # Due jobs run in key order: the books are queued before the sender's run.
    assert sorted(keys).index("brief:send") < sorted(keys).index("notify:send")


def _store_sending_to(url: str, folder: Path, sink: SmtpSink) -> Store:
    """The briefing organisation with its SMTP settings pointed at the test server."""
    text = STRATEGY.replace("host: localhost", f"host: 127.0.0.1, port: {sink.port}")
    assert text != STRATEGY
    (folder / "strategy.yaml").write_text(text, encoding="utf-8")
    (folder / "data.csv").write_text(MEASUREMENTS, encoding="utf-8")
    store = Store(url)
    apply_file(store, folder / "strategy.yaml")
    load_file(store, folder / "data.csv")
    return store


def test_the_book_email_carries_its_pdf(db_url: str, tmp_path: Path, smtp: SmtpSink) -> None:
    store = _store_sending_to(db_url, tmp_path, smtp)
    try:
        now = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
        assert len(queue_books(store, now).queued) == 2
        report = notify.send_due(store, now, secret="s" * 32)
        assert [o.state for o in report.outcomes if o.kind == "brief"] == ["sent", "sent"]
    finally:
        store.close()
    books = [r for r in smtp.messages if "Briefing book" in str(r.message["Subject"])]
    assert sorted(r.recipients[0] for r in books) == ["cara@example.com", "casey@example.com"]
    for received in books:
        (attachment,) = list(received.message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == "briefing-book-co-2026-06.pdf"
        pdf = attachment.get_content()
        assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
        assert "The PDF is attached (briefing-book-co-2026-06.pdf)." in received.text
        assert "Customer churn" in received.html  # the body is still there, beside it


def test_without_the_pdf_extra_the_email_links_to_the_pdf(
    db_url: str, tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(brief_send, "missing", lambda extra: ["reportlab"])
    store = _store_sending_to(db_url, tmp_path, smtp)
    try:
        now = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
        queue_books(store, now)
        report = notify.send_due(store, now, secret="s" * 32)
        assert [o.state for o in report.outcomes if o.kind == "brief"] == ["sent", "sent"]
    finally:
        store.close()
    books = [r for r in smtp.messages if "Briefing book" in str(r.message["Subject"])]
    assert len(books) == 2
    for received in books:
        assert list(received.message.iter_attachments()) == []
        assert (
            "https://los.example.com/units/co/brief.pdf?period=2026-06&review=true" in received.text
        )
        assert "attached" not in received.text
