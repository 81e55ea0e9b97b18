"""Notification settings: how and when the system tells people what needs them.

Pure data from the strategy file's `notifications:` section and the people's own choices.
Secrets (the SMTP password, webhook URLs) are kept as `env:NAME` references only: the value
is read from the environment at the moment of sending and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class WebhookKind(StrEnum):
    """The chat tool behind an incoming webhook, which fixes the JSON it accepts."""

    SLACK = "slack"
    TEAMS = "teams"  # an Office 365 connector's incoming webhook: a MessageCard
    # A Teams channel's Workflows webhook ("when a Teams webhook request is received"), which
    # replaced the connectors: an Adaptive Card in a message's attachments.
    TEAMS_WORKFLOW = "teams_workflow"


@dataclass(frozen=True, slots=True)
class Smtp:
    """An SMTP server to send email through."""

    host: str
    port: int = 25
    security: SmtpSecurity = SmtpSecurity.NONE
    username: str | None = None
    password: str | None = None  # `env:NAME`, never the password itself
    from_address: str = "lineofsight@localhost"


@dataclass(frozen=True, slots=True)
class Webhook:
    """An incoming webhook of a chat tool; `url` is `env:NAME` (the URL is a secret)."""

    id: str
    kind: WebhookKind
    url: str
    # The unit whose channel it is: it hears about items of that unit's subtree only (None:
    # the whole organisation), so that a team's channel never shows another unit's numbers.
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class PersonPreferences:
    """What one person wants to receive; everything on unless they opted out."""

    email: bool = True
    webhook: bool = True
    digest: bool = True
    digest_day: str | None = None  # a weekday; None: the organisation's digest day

    def is_default(self) -> bool:
        return self == PersonPreferences()


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """The `notifications:` section; `enabled` is False when the file has none."""

    enabled: bool = False
    smtp: Smtp | None = None
    base_url: str | None = None
    webhooks: tuple[Webhook, ...] = ()
    reminder_days: tuple[int, ...] = (7, 1, 0)
    digest_weekday: str = "monday"
    copy_unit_leads: bool = True
    people: tuple[tuple[str, PersonPreferences], ...] = field(default=())

    def preferences(self, person_id: str) -> PersonPreferences:
        """The person's preferences from the strategy file (defaults when not given)."""
        for pid, prefs in self.people:
            if pid == person_id:
                return prefs
        return PersonPreferences()
