"""Notification settings in the store: written by `los apply`, changed by people themselves.

The strategy file gives the settings and each person's defaults; a choice a person made in
the web app or with an unsubscribe link wins over the file (an unsubscribe must stick).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from lineofsight.domain.notifications import (
    WEEKDAYS,
    NotificationSettings,
    PersonPreferences,
    Smtp,
    SmtpSecurity,
    Webhook,
    WebhookKind,
)
from lineofsight.errors import UsageError
from lineofsight.store import notifications as stored
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.definitions import ChangeRecord


def settings_to_json(settings: NotificationSettings) -> str:
    """The settings as JSON text (secrets only as the env:NAME references the file gives)."""
    plain: dict[str, Any] = {
        "enabled": settings.enabled,
        "smtp": dataclasses.asdict(settings.smtp) if settings.smtp else None,
        "base_url": settings.base_url,
        "webhooks": [dataclasses.asdict(w) for w in settings.webhooks],
        "reminder_days": list(settings.reminder_days),
        "digest_weekday": settings.digest_weekday,
        "copy_unit_leads": settings.copy_unit_leads,
        "people": {pid: dataclasses.asdict(p) for pid, p in settings.people},
    }
    return json.dumps(plain, sort_keys=True, default=str)


def settings_from_json(text: str | None) -> NotificationSettings:
    if not text:
        return NotificationSettings()
    plain = json.loads(text)
    smtp = plain.get("smtp")
    return NotificationSettings(
        enabled=plain["enabled"],
        smtp=Smtp(**{**smtp, "security": SmtpSecurity(smtp["security"])}) if smtp else None,
        base_url=plain.get("base_url"),
        webhooks=tuple(
            Webhook(w["id"], WebhookKind(w["kind"]), w["url"], w.get("unit"))
            for w in plain.get("webhooks", [])
        ),
        reminder_days=tuple(plain.get("reminder_days", (7, 1, 0))),
        digest_weekday=plain.get("digest_weekday", "monday"),
        copy_unit_leads=plain.get("copy_unit_leads", True),
        people=tuple((pid, PersonPreferences(**p)) for pid, p in plain.get("people", {}).items()),
    )


def read_settings(conn: StoreConnection) -> NotificationSettings:
    """The settings the last apply wrote (none: notifications off)."""
    return settings_from_json(stored.read_settings(conn))


def settings_change(conn: StoreConnection, settings: NotificationSettings) -> ChangeRecord | None:
    """The history line of applying these settings, or None when they are the stored ones."""
    before = stored.read_settings(conn) or settings_to_json(NotificationSettings())
    after = settings_to_json(settings)
    if before == after:
        return None
    return ChangeRecord(
        "organization",
        "organization",
        "change",
        "notifications",
        json.loads(before),
        json.loads(after),
    )


def save_settings(conn: StoreConnection, settings: NotificationSettings) -> None:
    """Write the file's settings (in the apply's transaction); none kept for the defaults."""
    text = None if settings == NotificationSettings() else settings_to_json(settings)
    if stored.read_settings(conn) != text:
        stored.save_settings(conn, text)


def preferences_of(
    conn: StoreConnection, settings: NotificationSettings
) -> dict[str, PersonPreferences]:
    """Each person's effective choices that differ from the defaults: the file's, overridden by
    what the person chose themselves."""
    found = dict(settings.people)
    for person_id, row in stored.read_preferences(conn).items():
        found[person_id] = PersonPreferences(
            email=bool(row.email),
            webhook=bool(row.webhook),
            digest=bool(row.digest),
            digest_day=row.digest_day,
        )
    return found


def person_preferences(store: Store, person_id: str) -> PersonPreferences:
    """One person's effective choices."""
    with store.reading() as conn:
        settings = read_settings(conn)
        return preferences_of(conn, settings).get(person_id, PersonPreferences())


def set_person_preferences(
    store: Store,
    person_id: str,
    prefs: PersonPreferences,
    *,
    changed_by: str,
    now: dt.datetime | None = None,
) -> PersonPreferences:
    """Record a person's own choice (web app or unsubscribe link), in one transaction."""
    if prefs.digest_day is not None and prefs.digest_day not in WEEKDAYS:
        days = ", ".join(WEEKDAYS)
        raise UsageError(f"digest_day: {prefs.digest_day!r} is not a weekday ({days})")
    with store.transaction() as conn:
        stored.save_preferences(
            conn,
            person_id,
            {
                "email": prefs.email,
                "webhook": prefs.webhook,
                "digest": prefs.digest,
                "digest_day": prefs.digest_day,
                "changed_by": changed_by,
                "changed_at": now or dt.datetime.now(dt.UTC),
            },
        )
    return prefs
