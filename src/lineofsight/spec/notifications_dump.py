"""The `notifications:` section and the people's own settings in the strategy file's form."""

from __future__ import annotations

from typing import Any

from lineofsight.domain.notifications import (
    NotificationSettings,
    PersonPreferences,
    Smtp,
)

Plain = dict[str, Any]
DEFAULTS = NotificationSettings(enabled=True)


def person_preferences_to_plain(prefs: PersonPreferences) -> Plain | None:
    """A person's `notifications:` entry: only what differs from the defaults."""
    if prefs.is_default():
        return None
    default = PersonPreferences()
    out: Plain = {}
    for key in ("email", "webhook", "digest", "digest_day"):
        if getattr(prefs, key) != getattr(default, key):
            out[key] = getattr(prefs, key)
    return out


def _smtp_to_plain(smtp: Smtp) -> Plain:
    out: Plain = {"host": smtp.host, "port": smtp.port, "security": smtp.security.value}
    if smtp.username is not None:
        out["username"] = smtp.username
    if smtp.password is not None:
        out["password"] = smtp.password  # an env:NAME reference, never the secret
    out["from_address"] = smtp.from_address
    return out


def notifications_to_plain(settings: NotificationSettings) -> Plain | None:
    """The `notifications:` section (None when the file has none); keys as a user writes them."""
    if not settings.enabled:
        return None
    out: Plain = {}
    if settings.smtp is not None:
        out["smtp"] = _smtp_to_plain(settings.smtp)
    if settings.base_url is not None:
        out["base_url"] = settings.base_url
    if settings.webhooks:
        out["webhooks"] = [
            {"id": w.id, "kind": w.kind.value, "url": w.url, **({"unit": w.unit} if w.unit else {})}
            for w in settings.webhooks
        ]
    if settings.reminder_days != DEFAULTS.reminder_days:
        out["reminder_days"] = list(settings.reminder_days)
    if settings.digest_weekday != DEFAULTS.digest_weekday:
        out["digest_day"] = settings.digest_weekday
    if settings.copy_unit_leads != DEFAULTS.copy_unit_leads:
        out["copy_unit_leads"] = settings.copy_unit_leads
    return out
