"""Sending a review's briefing book to its attendees `lead_days` before the review.

A scheduled job (`brief:send`, services/jobs.py) runs daily: for each unit's cadence whose
next review is within its lead days, it builds the book once and queues one email per
attendee in the notifications outbox (services/notify.py sends them). The key
`brief|PERSON|UNIT|REVIEW-DAY` makes each attendee's email go out once per review, however
often the job runs. An attendee whose email is off, who has no address, or whose accounts may
not read the unit, gets none. With the pdf extra installed, the email carries the book's PDF
(made once per review and kept in each attendee's outbox row, so that a retry or a resend
sends the same book); without it, or for a book larger than MAX_PDF_BYTES, only its link.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
from dataclasses import dataclass

from lineofsight.domain.reviews import ReviewCadence, next_review, review_period
from lineofsight.domain.text import plural
from lineofsight.extras import missing
from lineofsight.services.brief import BriefingBook, build_book
from lineofsight.services.brief_html import cover_lines, kpi_sentence, summary_items
from lineofsight.services.evaluate import load_organization
from lineofsight.services.notify_plan import Notification
from lineofsight.services.notify_render import PREFIX, UNSUBSCRIBE, app_url
from lineofsight.services.notify_settings import preferences_of, read_settings
from lineofsight.services.permissions import UnitTree, readable_units
from lineofsight.services.review_settings import read_cadences
from lineofsight.store import notifications as outbox
from lineofsight.store.accounts import read_accounts
from lineofsight.store.database import Store

MAX_LINES = 50  # red KPIs listed in the email; the book has them all
# A larger PDF is not attached (mail servers commonly refuse messages past 10-25 MB once
# encoded); the email links to it instead.
MAX_PDF_BYTES = 8 * 1024 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BriefRun:
    """What one run queued: (unit, review day, person) per email."""

    queued: list[tuple[str, dt.date, str]]
    due: list[tuple[str, dt.date]]  # the reviews whose book was due today

    def line(self) -> str:
        due, queued = len(self.due), len(self.queued)
        return (
            f"{plural(due, 'review')} due within their lead days; {plural(queued, 'email')} queued"
        )


def due_reviews(
    cadences: tuple[ReviewCadence, ...], today: dt.date
) -> list[tuple[ReviewCadence, dt.date]]:
    """The reviews whose book goes out today or went out on a day a run missed (within the
    lead days before the review, up to the review day itself)."""
    found = []
    for c in cadences:
        day = next_review(c, today)
        if (day - today).days <= c.lead_days:
            found.append((c, day))
    return found


def pdf_attachment(book: BriefingBook) -> dict[str, str] | None:
    """The book's PDF as an outbox attachment (file name, type, base64 data); None without
    the pdf extra, or when the PDF is too large to mail."""
    if missing("pdf"):
        return None
    from lineofsight.services.brief_pdf import book_pdf

    data = book_pdf(book)
    if len(data) > MAX_PDF_BYTES:
        log.info(
            "the book of %s for %s is %d bytes: linked, not attached",
            book.unit,
            book.period,
            len(data),
        )
        return None
    return {
        "filename": f"briefing-book-{book.unit}-{book.period}.pdf",
        "content_type": "application/pdf",
        "data": base64.b64encode(data).decode("ascii"),
    }


def book_email(
    book: BriefingBook,
    person_name: str,
    day: dt.date,
    base_url: str | None,
    *,
    attached: str | None = None,
) -> tuple[str, str, str]:
    """Subject, text and HTML of the email that carries the book (the link to its PDF, and
    the name of the attached PDF when there is one)."""
    path = f"/units/{book.unit}/brief"
    # The review's book of its period (each KPI at its latest period with a value or due),
    # not the report of the period that `?period=` alone asks for.
    query = f"?period={book.period}&review=true"
    page, pdf = app_url(base_url, path + query), app_url(base_url, path + ".pdf" + query)
    subject = f"{PREFIX} Briefing book: {book.unit_name}, {book.period} (review on {day})"
    lines = [f"Hello {person_name},", "", f"The review of {book.unit_name} is on {day}."]
    lines += [*cover_lines(book), " · ".join(summary_items(book)), ""]
    reds = [f"- {k.name} ({k.unit_name}): {kpi_sentence(k)}" for k in book.reds[:MAX_LINES]]
    if len(book.reds) > MAX_LINES:
        reds.append(f"- … and {len(book.reds) - MAX_LINES} more in the book")
    lines += reds or [book.no_reds_sentence]
    lines += ["", f"The book: {page}", f"As PDF: {pdf}"]
    if attached:
        lines.append(f"The PDF is attached ({attached}).")
    lines += ["", "--", f"Unsubscribe: {UNSUBSCRIBE}"]
    e = html.escape
    body = (
        f"<p>Hello {e(person_name)},</p><p>The review of <strong>{e(book.unit_name)}</strong> "
        f"is on {day}.</p>"
        + "".join(f"<p>{e(line)}</p>" for line in cover_lines(book))
        + f"<p><strong>{e(' · '.join(summary_items(book)))}</strong></p>"
        + (
            "<ul>" + "".join(f"<li>{e(r[2:])}</li>" for r in reds) + "</ul>"
            if reds
            else f"<p>{e(book.no_reds_sentence)}</p>"
        )
        + f'<p><a href="{e(page)}">Open the briefing book</a> · <a href="{e(pdf)}">PDF</a></p>'
        + (f"<p>The PDF is attached ({e(attached)}).</p>" if attached else "")
        + f'<hr><p style="color:#666;font-size:small"><a href="{UNSUBSCRIBE}">Unsubscribe</a></p>'
    )
    page_html = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{e(subject)}</title></head>'
        f"<body>{body}</body></html>"
    )
    return subject, "\n".join(lines) + "\n", page_html


def queue_books(store: Store, now: dt.datetime) -> BriefRun:
    """Queue the books due today in the outbox, each attendee's once per review."""
    today = now.astimezone(dt.UTC).date()
    with store.reading() as conn:
        settings = read_settings(conn)
        cadences = read_cadences(conn)
        prefs = preferences_of(conn, settings)
        accounts = list(read_accounts(conn))
    due = due_reviews(cadences, today)
    if not due or not settings.enabled or settings.smtp is None:
        return BriefRun([], [(c.unit, d) for c, d in due])
    org = load_organization(store)
    tree = UnitTree.of(org)
    people = {p.id: p for p in org.people}
    rows = []
    for cadence, day in due:
        period = review_period(cadence, day, org.calendar).label
        wanted = []
        for pid in cadence.attendees:
            person = people.get(pid)
            if person is None or not person.email or not prefs.get(pid, _ON).email:
                continue
            mine = [a for a in accounts if a.person_id == pid]
            if mine and not any(_reads(a, tree, cadence.unit) for a in mine):
                continue
            wanted.append(person)
        keys = {p.id: f"brief|{p.id}|{cadence.unit}|{day.isoformat()}" for p in wanted}
        with store.reading() as conn:
            known = outbox.known_keys(conn, keys.values())
        wanted = [p for p in wanted if keys[p.id] not in known]
        if not wanted:
            continue
        book = build_book(store, cadence.unit, period=period, review=True, now=now)
        attachment = pdf_attachment(book)
        attached = attachment["filename"] if attachment else None
        for person in wanted:
            subject, text, page = book_email(
                book, person.name, day, settings.base_url, attached=attached
            )
            rows.append(
                Notification(
                    key=keys[person.id],
                    kind="brief",
                    channel="email",
                    recipient=person.id,
                    address=person.email,
                    item=f"unit:{cadence.unit}",
                    period=period,
                    reason=f"attendee of the review of {book.unit_name} on {day} "
                    f"({plural(cadence.lead_days, 'day')} ahead)",
                    subject=subject,
                    payload={
                        "subject": subject,
                        "text": text,
                        "html": page,
                        "person": person.id,
                        "unsubscribe": "email",
                        **({"attachments": [attachment]} if attachment else {}),
                    },
                )
            )
    if not rows:
        return BriefRun([], [(c.unit, d) for c, d in due])
    with store.transaction() as conn:
        added = outbox.insert_new(conn, [n.row(now) for n in rows])
    queued = [
        (n.item.removeprefix("unit:") if n.item else "", _day(n.key), n.recipient)
        for n in rows
        if n.key in added
    ]
    return BriefRun(queued, [(c.unit, d) for c, d in due])


def _day(key: str) -> dt.date:
    return dt.date.fromisoformat(key.rsplit("|", 1)[1])


def _reads(account: object, tree: UnitTree, unit: str) -> bool:
    readable = readable_units(account, tree)  # type: ignore[arg-type]
    return readable is None or unit in readable


class _On:
    email = True


_ON = _On()
