"""Notifications, sent exactly once: `plan` says what is due now and why, `send_due` sends it.

Each notification's key goes into the outbox first. A sender takes a row with a conditional
UPDATE and commits "sending" before it sends, and records "sent" after. A row found "sending"
after its lease ran out (the sender died between the send and the record) is never sent again
by itself: it may have gone out, so it waits for an admin's decision (the sent page). A send
that failed (SMTP refused, a webhook's 5xx, a timeout) is tried again later with back-off,
its reason kept. So a restart, a retry or two app servers on one store never send a key twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineofsight.display import utc_minute
from lineofsight.domain.notifications import NotificationSettings
from lineofsight.domain.text import plural
from lineofsight.gcpause import paused_gc
from lineofsight.services.attention import AttentionItem
from lineofsight.services.notify_plan import Audience, Notification, audience, candidates, iso_week
from lineofsight.services.notify_render import (
    UNSUBSCRIBE,
    Email,
    Fragments,
    app_url,
    digest_email,
    digest_fragments,
)
from lineofsight.services.notify_settings import read_settings
from lineofsight.services.notify_transport import (
    Attachment,
    SendFailure,
    build_email,
    post_webhook,
    send_email,
)
from lineofsight.services.unsubscribe import make_token, secret_key
from lineofsight.store import notifications as stored
from lineofsight.store.database import Store

# Waits before the 2nd, 3rd... attempt; after the last the message is marked failed.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# How long a sender may hold a row; a row still "sending" after it may have been sent.
LEASE = dt.timedelta(minutes=10)
BATCH = 200

__all__ = [
    "Notification",
    "NotifyReport",
    "Outcome",
    "plan",
    "prepare_digests",
    "render_digest",
    "render_digests",
    "send_due",
]


@dataclass(frozen=True)
class Outcome:
    """What became of one outbox row in this run."""

    key: str
    kind: str
    channel: str
    recipient: str
    subject: str
    state: str  # sent | retry | failed
    error: str | None = None
    next_attempt_at: dt.datetime | None = None

    def plain(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "channel": self.channel,
            "recipient": self.recipient,
            "subject": self.subject,
            "state": self.state,
            "error": self.error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


@dataclass
class NotifyReport:
    """What a run queued and what became of every row it tried to send."""

    queued: list[Notification] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    # Rows "sending" past their lease: they may have been sent; an admin decides.
    uncertain: int = 0
    # Rows put back for a retry by an earlier run whose next attempt is still to come: not
    # sent by this run, and not nothing to send either.
    waiting: int = 0
    next_retry: dt.datetime | None = None

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    @property
    def failed(self) -> bool:
        """Whether a send failed (put back for a retry, or given up): `los notify` and the
        scheduled sender (`los notify --due`) both fail the run then, so that a cron job or
        a script hears of it."""
        return bool(self.count("retry") or self.count("failed"))

    def line(self) -> str:
        """The run in one line."""
        # Rows queued before this run (briefing books queued by brief:send, retries) are
        # sent too: counted apart, so that queued and earlier add up to what was tried.
        ours = {n.key for n in self.queued}
        earlier = sum(1 for o in self.outcomes if o.key not in ours)
        before = f" (and {earlier} queued before)" if earlier else ""
        line = (
            f"{len(self.queued)} queued{before}; sent {self.count('sent')}, "
            f"retrying {self.count('retry')}, failed {self.count('failed')}"
        )
        if self.waiting:
            line += f"; {self.wait_text()}"
        if self.uncertain:
            line += f"; {self.uncertain} may have been sent (see the sent page)"
        # Why sends failed, so that the log and `los notify` say it (the transport's errors
        # never carry the password or a webhook's URL).
        reasons = list(dict.fromkeys(o.error for o in self.outcomes if o.error))
        if reasons:
            others = f" (and {plural(len(reasons) - 1, 'other reason')})" if reasons[1:] else ""
            line += f"; {reasons[0]}{others}"
        return line

    def wait_text(self) -> str:
        """The messages that wait for their retry, and when the first is due."""
        waits = "waits for its retry" if self.waiting == 1 else "wait for their retry"
        when = f" (the next at {utc_minute(self.next_retry)})" if self.next_retry else ""
        return f"{plural(self.waiting, 'message')} {waits}{when}"

    def plain(self) -> dict[str, Any]:
        return {
            "queued": [n.plain() for n in self.queued],
            "outcomes": [o.plain() for o in self.outcomes],
            "sent": self.count("sent"),
            "retry": self.count("retry"),
            "failed": self.count("failed"),
            "may_have_been_sent": self.uncertain,
            "waiting": self.waiting,
            "next_retry_at": _utc_text(self.next_retry),
        }


def _utc_text(moment: dt.datetime | None) -> str | None:
    """A moment of the store (UTC, naive from SQLite) in ISO 8601 with its offset."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


def _utc(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def plan(store: Store, now: dt.datetime, as_of: dt.date | None = None) -> list[Notification]:
    """The notifications due at `now` (about the day `as_of`, default now's) that the outbox
    does not hold yet, with their reasons."""
    found = candidates(store, as_of or _utc(now).date())
    with store.reading() as conn:
        known = stored.known_keys(conn, [n.key for n in found])
    return [n for n in found if n.key not in known]


def retries_due(store: Store, now: dt.datetime) -> list[dict[str, Any]]:
    """Outbox rows waiting for another attempt at `now` (for `--dry-run`)."""
    with store.reading() as conn:
        rows = stored.sendable(conn, _utc(now), BATCH)
    return [
        {
            "key": r.key,
            "kind": r.kind,
            "channel": r.channel,
            "recipient": r.recipient,
            "subject": r.subject,
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in rows
        if r.state == "retry"
    ]


def send_due(
    store: Store,
    now: dt.datetime,
    *,
    secret: str | None = None,
    after_send: Callable[[str], None] | None = None,
    as_of: dt.date | None = None,
) -> NotifyReport:
    """Queue what `plan` finds and send every row due, each key once.

    `now` is when they are sent (their record, leases, retries); `as_of` the day their
    content is about (default now's): a message about 3 November sent today says it was
    sent today.
    `secret`: the app's secret key that signs unsubscribe links (default LOS_SECRET_KEY).
    `after_send(key)` runs between a send and its record (tests crash there).
    """
    now = _utc(now)
    report = NotifyReport()
    found = plan(store, now, as_of)
    if found:
        with store.transaction() as conn:
            added = stored.insert_new(conn, [n.row(now) for n in found])
        # Another sender may have queued some of these keys first: report only ours.
        report.queued = [n for n in found if n.key in added]
    with store.reading() as conn:
        settings = read_settings(conn)
        rows = stored.sendable(conn, now, BATCH)
        report.uncertain = stored.count_lapsed(conn, now)
        report.waiting, report.next_retry = stored.waiting_retries(conn, now)
    token = secrets.token_hex(16)  # this sender's name on the rows it takes
    key: str | None = None
    for row in rows:
        if row.channel == "email" and key is None:
            key = secret_key(secret)  # only needed, and only asked for, to sign an email
        with store.transaction() as conn:
            if not stored.claim(
                conn, row.id, row.state, row.attempts, lease_until=now + LEASE, token=token
            ):
                continue  # another sender took it
        error = _send(settings, row, key)
        if error is None and after_send is not None:
            after_send(row.key)
        report.outcomes.append(_record(store, row, token, now, error))
    return report


def _send(settings: NotificationSettings, row: Any, key: str | None) -> str | None:
    """Send one row; None when the server took it, else the reason it failed."""
    payload = json.loads(row.payload)
    try:
        if row.channel == "email":
            if settings.smtp is None:
                raise SendFailure("no smtp: settings in the strategy file's notifications")
            assert key is not None
            token = make_token(key, payload["person"], payload["unsubscribe"])
            link = app_url(settings.base_url, f"/unsubscribe/{token}")
            message = build_email(
                settings.smtp,
                to=row.address,
                subject=payload["subject"],
                text=payload["text"].replace(UNSUBSCRIBE, link),
                html=payload["html"].replace(UNSUBSCRIBE, link),
                unsubscribe_url=link,
                key=row.key,
                attachments=[
                    Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
                    for a in payload.get("attachments", ())
                ],
            )
            send_email(settings.smtp, message)
        else:
            hook = next((h for h in settings.webhooks if h.id == payload["webhook"]), None)
            if hook is None:
                raise SendFailure(f"webhook {payload['webhook']} is no longer in the settings")
            post_webhook(hook.id, hook.url, payload["body"])
    except SendFailure as exc:
        return str(exc)
    return None


def _record(store: Store, row: Any, token: str, now: dt.datetime, error: str | None) -> Outcome:
    attempts = row.attempts + 1
    values: dict[str, Any]
    if error is None:
        values = {"state": "sent", "sent_at": now, "lease_until": None, "last_error": None}
    elif attempts >= MAX_ATTEMPTS:
        values = {"state": "failed", "lease_until": None, "last_error": error}
    else:
        values = {
            "state": "retry",
            "lease_until": None,
            "last_error": error,
            "next_attempt_at": now + BACKOFF[attempts - 1],
        }
    with store.transaction() as conn:
        stored.finish(conn, row.id, token, values)
    return Outcome(
        row.key,
        row.kind,
        row.channel,
        row.recipient,
        row.subject,
        values["state"],
        error,
        values.get("next_attempt_at"),
    )


_DIGESTS: weakref.WeakKeyDictionary[Store, Audience | None] = weakref.WeakKeyDictionary()


def render_digest(
    store: Store,
    person: str,
    items: Sequence[AttentionItem],
    *,
    now: dt.datetime | None = None,
    cache: Fragments | None = None,
) -> Email | None:
    """The digest email of one person's attention list as `send_due` would render it (only
    the items the person may read), without sending it; None when the person has no email
    address or opted out of emails or digests. Rendered whether or not the strategy file
    turns notifications on (the benchmark's store has none). What it reads of the store
    besides the lists (people, accounts, choices) is read once per store object: for
    rendering every digest at once, not for a long-running process."""
    people = _digest_audience(store)
    found = people.people.get(person) if people is not None else None
    if people is None or found is None or not found.email:
        return None
    prefs = people.prefs(person)
    if not (prefs.email and prefs.digest):
        return None
    reads = people.may_read(person)
    day = _utc(now or dt.datetime.now(dt.UTC)).date()
    return digest_email(
        [item for item in items if reads(item)],
        person_name=found.name,
        week=iso_week(day),
        base_url=people.settings.base_url,
        cache=cache,
    )


def _digest_audience(store: Store) -> Audience | None:
    if store not in _DIGESTS:
        _DIGESTS[store] = audience(store, only_enabled=False)
    return _DIGESTS[store]


def prepare_digests(store: Store, items: Iterable[AttentionItem]) -> Fragments:
    """What rendering digests that list these items can do before the lists are complete
    (e.g. while the forecast is made): each item's text and HTML, as `render_digests`' `cache`,
    and the store's people, accounts and choices read."""
    people = _digest_audience(store)
    cache: Fragments = {}
    if people is not None:
        with paused_gc():  # hundreds of thousands of strings, none in a cycle
            digest_fragments(items, people.settings.base_url, cache)
    return cache


def render_digests(
    store: Store,
    lists: Mapping[str, Sequence[AttentionItem]],
    *,
    now: dt.datetime | None = None,
    cache: Fragments | None = None,
) -> int:
    """Render (never send) the digest of every person in `lists` (person -> their attention
    list, e.g. `attention.attention_lists(store)`) who has items and gets digests; the number
    rendered. The benchmark of the attention lists times it. `cache`: items rendered already
    (`prepare_digests`)."""
    rendered = 0
    cache = {} if cache is None else cache
    with paused_gc():  # tens of thousands of emails and their parts, none in a cycle
        for person, items in lists.items():
            if items and render_digest(store, person, items, now=now, cache=cache) is not None:
                rendered += 1
    return rendered
