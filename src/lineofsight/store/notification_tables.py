"""The store's tables of notifications: the settings from the strategy file, the people's own
choices, and the outbox whose unique keys make each notification go out once (migration 0014).
Kept apart from the definitions (`tables`), on the same metadata."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from lineofsight.store.metadata import ID, metadata

notification_settings = Table(
    "notification_settings",
    metadata,
    Column("id", Integer, primary_key=True, comment="always 1: one row"),
    Column(
        "settings",
        Text,
        nullable=False,
        comment="the strategy file's notifications: section and people's settings, as JSON "
        "(secrets only as env:NAME references)",
    ),
    comment="Notification settings as the last `los apply` wrote them.",
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("person_id", String(ID), primary_key=True, comment="the person who chose"),
    Column("email", Boolean, nullable=False, comment="emails wanted"),
    Column("webhook", Boolean, nullable=False, comment="their items in chat channels wanted"),
    Column("digest", Boolean, nullable=False, comment="the digest wanted"),
    Column("digest_day", String(16), comment="weekday of their digest; null: the default"),
    Column("changed_by", Text, nullable=False, comment="who changed it: a user or 'unsubscribe'"),
    Column("changed_at", DateTime(timezone=True), nullable=False, comment="when"),
    comment="Choices people made themselves (web app, unsubscribe link); they win over the file.",
)

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="id of the message"),
    Column(
        "key",
        String(400),
        nullable=False,
        unique=True,
        comment="kind|recipient|item|period: one message per key, ever",
    ),
    Column("kind", String(32), nullable=False, comment="turned_red, overdue, due_soon, digest"),
    Column("channel", String(16), nullable=False, comment="email or webhook"),
    Column("recipient", String(ID), nullable=False, comment="a person id or a webhook id"),
    Column("address", Text, comment="the email address it goes to (no address for a webhook)"),
    Column("item", Text, comment="the item it is about (kind:id), none for a digest"),
    Column("period", String(32), comment="the period, reminder day or digest week"),
    Column("subject", Text, nullable=False, comment="subject line"),
    Column("reason", Text, nullable=False, comment="why it is sent"),
    Column(
        "payload",
        Text,
        nullable=False,
        comment="the message as JSON (text, HTML or webhook body); no secrets: the "
        "unsubscribe link is signed when it is sent",
    ),
    Column(
        "state",
        String(16),
        nullable=False,
        comment="pending, sending, sent, retry, failed or withdrawn (no longer true before it "
        "was sent); sending past its lease: may have been sent",
    ),
    Column("attempts", Integer, nullable=False, comment="sends tried"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, comment="retry from"),
    Column("lease_until", DateTime(timezone=True), comment="a sender holds it until then"),
    Column("claimed_by", String(64), comment="the sender holding it"),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="when planned"),
    Column("sent_at", DateTime(timezone=True), comment="when the server took it"),
    Column("last_error", Text, comment="why the last attempt failed (no secrets)"),
    Index("ix_notification_outbox_state", "state", "next_attempt_at"),
    comment="Every notification planned, its state and what happened: sent once per key.",
)
