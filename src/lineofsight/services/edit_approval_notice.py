"""Telling approvers that a strategy change waits for them: one email per person who may
approve it, queued in the notifications outbox in the transaction that keeps the change; and
telling the person who asked for it when it is approved or rejected (`queue_decision_notice`),
in the transaction of the decision.

Who: every account that may decide the change (`edit_approval.may_decide`: an admin whose
roles cover what it reaches, or the lead of a unit that holds all of it) whose person has an
email address and has not turned emails off; never the person who asked. Nothing is queued
when the strategy file turns notifications off. `los notify` (or `los serve`'s scheduler)
sends the queued emails like every other notification, once per key.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lineofsight.domain import model as m
from lineofsight.domain.notifications import PersonPreferences
from lineofsight.services.notify_render import (
    PREFIX,
    _footer_html,
    _footer_text,
    _page,
    app_url,
)
from lineofsight.services.notify_settings import preferences_of, read_settings
from lineofsight.store import notifications as outbox
from lineofsight.store.accounts import read_accounts
from lineofsight.store.database import StoreConnection

if TYPE_CHECKING:
    from lineofsight.services.accounts import Account

KIND = "approval"
DECISION = "approval_decision"


def pending_path(change_id: int) -> str:
    """The page of a waiting change, where it is approved or rejected."""
    return f"/edit/pending/{change_id}"


def approvers(
    conn: StoreConnection,
    org: m.Organization,
    scopes: Sequence[str | None],
    requested_by: str,
    may_decide: Callable[[Account, tuple[str | None, ...], m.Organization], bool],
) -> list[m.Person]:
    """The people to tell, each once: the persons of accounts that may decide the change,
    not the one who asked, who have an email address."""
    people = {p.id: p for p in org.people}
    found: dict[str, m.Person] = {}
    asker = next((a for a in read_accounts(conn, username=requested_by)), None)
    for account in read_accounts(conn):
        if account.username == requested_by or account.person_id is None:
            continue
        if asker is not None and asker.person_id == account.person_id:
            continue  # the person who asked, through another account
        person = people.get(account.person_id)
        if person is None or not person.email or person.id in found:
            continue
        if may_decide(account, tuple(scopes), org):
            found[person.id] = person
    return list(found.values())


def queue_approval_notices(
    conn: StoreConnection,
    org: m.Organization,
    *,
    change_id: int,
    subject_of: str,
    summary: str,
    scopes: Sequence[str | None],
    requested_by: str,
    now: dt.datetime,
    may_decide: Callable[[Account, tuple[str | None, ...], m.Organization], bool],
) -> list[str]:
    """Queue the emails about a change waiting for approval; the person ids told."""
    settings = read_settings(conn)
    if not settings.enabled:
        return []
    prefs = preferences_of(conn, settings)
    rows: list[dict[str, Any]] = []
    told = []
    for person in approvers(conn, org, scopes, requested_by, may_decide):
        if not prefs.get(person.id, PersonPreferences()).email:
            continue
        email = _email(person.name, change_id, subject_of, summary, requested_by, settings.base_url)
        told.append(person.id)
        rows.append(
            {
                "key": f"{KIND}|{person.id}|change:{change_id}|",
                "kind": KIND,
                "channel": "email",
                "recipient": person.id,
                "address": person.email,
                "item": f"change:{change_id}",
                "period": None,
                "subject": email["subject"],
                "reason": f"approver: {requested_by} asks to change {subject_of}",
                "payload": json.dumps(
                    {**email, "person": person.id, "unsubscribe": "email"}, sort_keys=True
                ),
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    outbox.insert_new(conn, rows)
    return told


def _email(
    name: str,
    change_id: int,
    subject_of: str,
    summary: str,
    requested_by: str,
    base_url: str | None,
) -> dict[str, str]:
    """The email's subject, text and HTML (the unsubscribe link signed when it is sent)."""
    subject = f"{PREFIX} A change to {subject_of} waits for your approval"
    link = app_url(base_url, pending_path(change_id))
    text = (
        f"Hello {name},\n\n{requested_by} asks to change the strategy; the change waits until "
        f"an approver approves or rejects it:\n\n{summary}\n\nApprove or reject it: {link}\n\n"
        "You receive this because you may approve it.\n" + _footer_text(base_url)
    )
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in summary.splitlines())
    body = (
        f"<p>Hello {html.escape(name)},</p><p>{html.escape(requested_by)} asks to change the "
        f"strategy; the change waits until an approver approves or rejects it:</p><ul>{lines}"
        f'</ul><p><a href="{html.escape(link)}">Approve or reject it in Line of Sight</a></p>'
        "<p>You receive this because you may approve it.</p>" + _footer_html(base_url)
    )
    return {"subject": subject, "text": text, "html": _page(subject, body)}


def queue_decision_notice(
    conn: StoreConnection,
    org: m.Organization,
    *,
    change_id: int,
    subject_of: str,
    state: str,
    decided_by: str,
    reason: str | None,
    requested_by: str,
    now: dt.datetime,
) -> str | None:
    """Queue the email telling the person who asked for a change that it was approved or
    rejected (`state`), once per change; the person id told, None when no one is (the account
    has no person, the person no email address or emails off, notifications off)."""
    settings = read_settings(conn)
    if not settings.enabled:
        return None
    asker = next((a for a in read_accounts(conn, username=requested_by)), None)
    person = next((p for p in org.people if asker is not None and p.id == asker.person_id), None)
    if person is None or not person.email:
        return None
    if not preferences_of(conn, settings).get(person.id, PersonPreferences()).email:
        return None
    email = _decision_email(
        person.name, change_id, subject_of, state, decided_by, reason, settings.base_url
    )
    row = {
        "key": f"{DECISION}|{person.id}|change:{change_id}|",
        "kind": DECISION,
        "channel": "email",
        "recipient": person.id,
        "address": person.email,
        "item": f"change:{change_id}",
        "period": None,
        "subject": email["subject"],
        "reason": f"asked for it: {decided_by} {state} the change to {subject_of}",
        "payload": json.dumps(
            {**email, "person": person.id, "unsubscribe": "email"}, sort_keys=True
        ),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return person.id if outbox.insert_new(conn, [row]) else None


def _decision_email(
    name: str,
    change_id: int,
    subject_of: str,
    state: str,
    decided_by: str,
    reason: str | None,
    base_url: str | None,
) -> dict[str, str]:
    """The decision email's subject, text and HTML (the unsubscribe link signed when sent)."""
    subject = f"{PREFIX} Your change to {subject_of} was {state}"
    link = app_url(base_url, pending_path(change_id))
    if state == "approved":
        outcome = f"{decided_by} approved your change to {subject_of}: it is saved."
    else:
        outcome = f"{decided_by} rejected your change to {subject_of}" + (
            f": {reason}" if reason else "."
        )
    text = (
        f"Hello {name},\n\n{outcome}\n\nSee the change: {link}\n\n"
        "You receive this because you asked for the change.\n" + _footer_text(base_url)
    )
    body = (
        f"<p>Hello {html.escape(name)},</p><p>{html.escape(outcome)}</p>"
        f'<p><a href="{html.escape(link)}">See the change in Line of Sight</a></p>'
        "<p>You receive this because you asked for the change.</p>" + _footer_html(base_url)
    )
    return {"subject": subject, "text": text, "html": _page(subject, body)}
