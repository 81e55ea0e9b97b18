"""What notifications are due now, and why: built from the attention lists, never a second way.

"Turned red", "overdue" and "reminder before a check-in is due" are the attention items of
kinds turned_red, overdue and due_soon, told to the item's owner and (per settings) the lead of
its unit; "a new action is yours" (action_new) is told to the action's owner alone, by email,
once each time it is given to them (its key's period is when);
the digest is the person's whole attention list. Each notification has a key
(kind, recipient, item, period or digest week): the outbox sends a key once, ever.

Nothing leaks: a person hears only about items in the units their accounts may read
(services/permissions.py); a person without an account only about the items they own and
those of the units the strategy file makes them lead (their attention list). A chat
channel belongs to a unit and hears only about that unit's subtree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineofsight.domain.accounts import Account
from lineofsight.domain.notifications import WEEKDAYS, NotificationSettings, PersonPreferences
from lineofsight.domain.text import plural
from lineofsight.services.attention import AttentionItem, attention_board
from lineofsight.services.notify_render import (
    Fragments,
    alert_email,
    digest_email,
    item_line,
    webhook_body,
)
from lineofsight.services.notify_settings import preferences_of, read_settings
from lineofsight.services.permissions import UnitTree, readable_units
from lineofsight.store.accounts import read_accounts
from lineofsight.store.attention_reads import Responsibilities, read_responsibilities
from lineofsight.store.database import Store, idle

ALERTS = ("turned_red", "overdue", "due_soon")
# Told to the item's owner alone, by email (not to the unit's lead nor its chat channel).
OWNER_ALERTS = ("action_new",)


@dataclass(frozen=True)
class Notification:
    """One message due now: to whom, about what, and why."""

    key: str
    kind: str  # turned_red | overdue | due_soon | digest
    channel: str  # email | webhook
    recipient: str  # a person id, or a webhook id
    address: str | None
    item: str | None
    period: str | None
    reason: str
    subject: str
    payload: dict[str, Any] = field(compare=False, repr=False)

    def plain(self) -> dict[str, Any]:
        """For `los notify --format json` (no message bodies)."""
        return {
            "key": self.key,
            "kind": self.kind,
            "channel": self.channel,
            "recipient": self.recipient,
            "address": self.address,
            "item": self.item,
            "period": self.period,
            "subject": self.subject,
            "reason": self.reason,
        }

    def row(self, now: dt.datetime) -> dict[str, Any]:
        """The outbox row that queues it."""
        return {
            **{k: v for k, v in self.plain().items() if k != "kind"},
            "kind": self.kind,
            "payload": json.dumps(self.payload, sort_keys=True),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_due(day: dt.date, weekday: str) -> bool:
    """Whether a weekly digest for `weekday` is due on `day`: on that day or later in the same
    ISO week, so that a sender that did not run on the day still sends it (once: its key is
    the week)."""
    return day.weekday() >= WEEKDAYS.index(weekday)


def reminder_due(due: dt.date | None, today: dt.date, reminder_days: Iterable[int]) -> int | None:
    """The reminder (days before `due`) to send today of a value not yet due: the latest one
    whose day has come, so that one a sender did not run on (the server down) goes on the
    next run; sent once all the same, as a notification's key names the reminder. None:
    no reminder's day has come yet, or the value is due (then overdue, not reminded)."""
    if due is None or due <= today:
        return None
    left = (due - today).days
    passed = [days for days in reminder_days if days >= left]
    return min(passed) if passed else None


def item_ref(item: AttentionItem) -> str:
    unit = f"@{item.unit}" if item.unit else ""
    return f"{item.item_type}:{item.item_id}{unit}"


@dataclass
class Audience:
    """Who may hear about what: the people, their accounts' units and their choices."""

    settings: NotificationSettings
    preferences: dict[str, PersonPreferences]
    accounts: dict[str, list[Account]]
    people: dict[str, Person]
    tree: UnitTree
    leads: dict[str, str]  # unit -> its lead
    _readers: dict[str, Callable[[AttentionItem], bool]] = field(default_factory=dict)
    # The units each lead leads (`leads` turned round once, not searched once a person).
    _led: dict[str, list[str]] | None = None

    def prefs(self, person_id: str | None) -> PersonPreferences:
        if person_id is None:
            return PersonPreferences()
        return self.preferences.get(person_id, PersonPreferences())

    def may_read(self, person_id: str) -> Callable[[AttentionItem], bool]:
        """Whether this person may hear about an item (their accounts' read rights)."""
        known = self._readers.get(person_id)
        if known is None:
            known = self._readers[person_id] = self._reader(person_id)
        return known

    def _led_by(self) -> dict[str, list[str]]:
        if self._led is None:
            led: dict[str, list[str]] = {}
            for unit, lead in self.leads.items():
                led.setdefault(lead, []).append(unit)
            self._led = led
        return self._led

    def _reader(self, person_id: str) -> Callable[[AttentionItem], bool]:
        accounts = self.accounts.get(person_id, [])
        if not accounts:
            # Without an account, what the strategy file makes theirs: the items they own and
            # those of the units they lead (the lead's copy, their attention list, `los inbox`).
            led: set[str] = set()
            for unit in self._led_by().get(person_id, ()):
                led |= self.tree.subtree(unit)
            return lambda item: item.owner == person_id or item.unit in led
        units: set[str] = set()
        for account in accounts:
            readable = readable_units(account, self.tree)
            if readable is None:
                return lambda item: True
            units |= readable
        return lambda item: item.unit in units


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str | None


def audience(
    store: Store, resp: Responsibilities | None = None, *, only_enabled: bool = True
) -> Audience | None:
    """Everything the plan needs besides the attention lists; None when notifications are
    off (and `only_enabled`). Read as frames (`resp`, the attention lists' own reads), not as
    the whole model: the organisation may hold 100,000 KPIs."""
    with store.reading() as conn:
        settings = read_settings(conn)
        if only_enabled and not settings.enabled:
            return None
        prefs = preferences_of(conn, settings)
        by_person: dict[str, list[Account]] = {}
        for account in read_accounts(conn):
            if account.person_id is not None:
                by_person.setdefault(account.person_id, []).append(account)
    resp = resp if resp is not None else read_responsibilities(store)
    people = {
        pid: Person(pid, name, email)
        for pid, name, email in resp.people.select("id", "name", "email").iter_rows()
    }
    units = resp.units.select("id", "parent_id", "lead_id").rows()
    return Audience(
        settings=settings,
        preferences=prefs,
        accounts=by_person,
        people=people,
        tree=UnitTree({unit: parent for unit, parent, _ in units}),
        leads={unit: lead for unit, _, lead in units if lead},
    )


def unreached_leads(store: Store) -> list[str]:
    """The unit leads who get no lead's copy by email, each with why (no `email:` in the
    strategy file, or emails turned off): what `los notify --dry-run` says beside its list, so
    that an item nobody hears of is not a silent gap. Empty when leads are not copied (or no
    email is sent at all: no `smtp:`)."""
    resp = read_responsibilities(store)
    people = audience(store, resp)
    if people is None or not people.settings.copy_unit_leads or people.settings.smtp is None:
        return []
    names = dict(resp.units.select("id", "name").iter_rows())
    found = []
    for unit, lead in people.leads.items():
        person = people.people.get(lead)
        if person is None:
            continue
        if not person.email:
            why = "has no email in the strategy file"
        elif not people.prefs(lead).email:
            why = "has turned emails off"
        else:
            continue
        found.append(f"{person.name} ({lead}, lead of {names.get(unit) or unit}) {why}: not copied")
    return found


def person_notifications(
    people: Audience,
    person: Person,
    items: Iterable[AttentionItem],
    today: dt.date,
    cache: Fragments | None = None,
) -> list[Notification]:
    """The emails due today for one person, from their attention list. `cache`: the items
    rendered for the digests of the people before (an item is on many people's lists)."""
    prefs = people.prefs(person.id)
    if not person.email or not prefs.email:
        return []
    settings = people.settings
    reads = people.may_read(person.id)
    visible = [item for item in items if reads(item)]
    found: list[Notification] = []
    for item in visible:
        copy = item.owner != person.id
        if item.kind in OWNER_ALERTS and not copy:
            found += _alert(people, person, item, today, copy)
            continue
        if item.kind not in ALERTS:
            continue
        leads_it = item.unit is not None and people.leads.get(item.unit) == person.id
        if copy and not (settings.copy_unit_leads and leads_it):
            continue
        found += _alert(people, person, item, today, copy)
    weekday = prefs.digest_day or settings.digest_weekday
    if prefs.digest and visible and digest_due(today, weekday):
        week = iso_week(today)
        email = digest_email(
            visible, person_name=person.name, week=week, base_url=settings.base_url, cache=cache
        )
        count = plural(len(visible), "item")
        found.append(
            Notification(
                key=f"digest|{person.id}||{week}",
                kind="digest",
                channel="email",
                recipient=person.id,
                address=person.email,
                item=None,
                period=week,
                reason=f"weekly digest ({weekday}): {count} on the attention list",
                subject=email.subject,
                payload={**email.plain(), "person": person.id, "unsubscribe": "digest"},
            )
        )
    return found


def _alert(
    people: Audience, person: Person, item: AttentionItem, today: dt.date, copy: bool
) -> list[Notification]:
    settings = people.settings
    days: int | None = None
    period = item.period or ""
    if item.kind == "due_soon":
        reminder = reminder_due(item.due, today, settings.reminder_days)
        if reminder is None or item.due is None:
            return []
        days = (item.due - today).days
        period = f"{period}:{reminder}d"
    elif item.kind == "overdue":
        period = f"{period}:{today.isoformat()}"  # daily while overdue
    elif item.kind == "action_new" and item.given_at is not None:
        # Once each time the action is given to them (passed on to another and back: again).
        period = item.given_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    email = alert_email(
        item.kind,
        item,
        person_name=person.name,
        base_url=settings.base_url,
        copy=copy,
        days=days,
    )
    role = "unit lead" if copy else "owner"
    return [
        Notification(
            key=f"{item.kind}|{person.id}|{item_ref(item)}|{period}",
            kind=item.kind,
            channel="email",
            recipient=person.id,
            address=person.email,
            item=item_ref(item),
            period=period or None,
            reason=f"{role}: {item.reason}",
            subject=email.subject,
            payload={**email.plain(), "person": person.id, "unsubscribe": "email"},
        )
    ]


def webhook_notifications(
    people: Audience, items_for: Callable[[str | None], Sequence[AttentionItem]], today: dt.date
) -> list[Notification]:
    """The chat messages due today: each channel hears its unit's alerts."""
    found: list[Notification] = []
    for hook in people.settings.webhooks:
        for item in items_for(hook.unit):
            if item.kind not in ALERTS or item.unit is None:
                continue
            if hook.unit is not None and not people.tree.within(item.unit, hook.unit):
                continue
            if not people.prefs(item.owner).webhook:
                continue
            period = item.period or ""
            if item.kind == "due_soon":
                reminder = reminder_due(item.due, today, people.settings.reminder_days)
                if reminder is None:
                    continue
                period = f"{period}:{reminder}d"
            elif item.kind == "overdue":
                period = f"{period}:{today.isoformat()}"
            body = webhook_body(hook.kind, item.kind, item, base_url=people.settings.base_url)
            found.append(
                Notification(
                    key=f"{item.kind}|webhook:{hook.id}|{item_ref(item)}|{period}",
                    kind=item.kind,
                    channel="webhook",
                    recipient=hook.id,
                    address=None,
                    item=item_ref(item),
                    period=period or None,
                    reason=f"{hook.kind.value} channel of {hook.unit or 'the organisation'}: "
                    f"{item.reason}",
                    subject=item_line(item),
                    payload={"webhook": hook.id, "body": body},
                )
            )
    return found


def candidates(store: Store, today: dt.date) -> list[Notification]:
    """Every notification due today, whether the outbox has it already or not: one board of
    the whole organisation's attention items, cut per person and per channel."""
    resp = read_responsibilities(store)
    people = audience(store, resp)
    if people is None:
        return []
    # The board reads through ADBC's own SQLite: no SQLAlchemy connection may stay open on
    # the file meanwhile, nor after it when the outbox is written (see store.database.idle).
    idle(store)
    board = attention_board(store, today, resp=resp)
    idle(store)
    found: list[Notification] = []
    # Emails only with an SMTP server to send them through (a file may set webhooks alone).
    emailed = people.people.values() if people.settings.smtp is not None else ()
    cache: Fragments = {}  # each item rendered once for every digest that lists it
    for person in emailed:
        if not person.email or not people.prefs(person.id).email:
            continue
        found += person_notifications(people, person, board.for_person(person.id), today, cache)
    if people.settings.webhooks:

        def unit_items(unit: str | None) -> list[AttentionItem]:
            return board.items if unit is None else board.for_unit(unit)

        found += webhook_notifications(people, unit_items, today)
    unique: dict[str, Notification] = {}
    for notification in found:
        unique.setdefault(notification.key, notification)
    return list(unique.values())


def by_key(notifications: Iterable[Notification]) -> Mapping[str, Notification]:
    return {n.key: n for n in notifications}
