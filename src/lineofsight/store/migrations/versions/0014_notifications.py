"""Notifications: settings, people's own choices, and the outbox of exactly-once keys.

Revision ID: 0014
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer(), nullable=False, comment="always 1: one row"),
        sa.Column(
            "settings",
            sa.Text(),
            nullable=False,
            comment="the strategy file's notifications: section and people's settings, as JSON "
            "(secrets only as env:NAME references)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_settings")),
        comment="Notification settings as the last `los apply` wrote them.",
    )
    op.create_table(
        "notification_preferences",
        sa.Column("person_id", sa.String(64), nullable=False, comment="the person who chose"),
        sa.Column("email", sa.Boolean(), nullable=False, comment="emails wanted"),
        sa.Column(
            "webhook", sa.Boolean(), nullable=False, comment="their items in chat channels wanted"
        ),
        sa.Column("digest", sa.Boolean(), nullable=False, comment="the digest wanted"),
        sa.Column(
            "digest_day", sa.String(16), comment="weekday of their digest; null: the default"
        ),
        sa.Column(
            "changed_by",
            sa.Text(),
            nullable=False,
            comment="who changed it: a user or 'unsubscribe'",
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, comment="when"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_notification_preferences")),
        comment="Choices people made themselves (web app, unsubscribe link); they win over the "
        "file.",
    )
    op.create_table(
        "notification_outbox",
        sa.Column(
            "id", sa.Integer(), autoincrement=True, nullable=False, comment="id of the message"
        ),
        sa.Column(
            "key",
            sa.String(400),
            nullable=False,
            comment="kind|recipient|item|period: one message per key, ever",
        ),
        sa.Column(
            "kind",
            sa.String(32),
            nullable=False,
            comment="turned_red, overdue, due_soon, digest",
        ),
        sa.Column("channel", sa.String(16), nullable=False, comment="email or webhook"),
        sa.Column(
            "recipient", sa.String(64), nullable=False, comment="a person id or a webhook id"
        ),
        sa.Column(
            "address",
            sa.Text(),
            comment="the email address it goes to (no address for a webhook)",
        ),
        sa.Column("item", sa.Text(), comment="the item it is about (kind:id), none for a digest"),
        sa.Column("period", sa.String(32), comment="the period, reminder day or digest week"),
        sa.Column("subject", sa.Text(), nullable=False, comment="subject line"),
        sa.Column("reason", sa.Text(), nullable=False, comment="why it is sent"),
        sa.Column(
            "payload",
            sa.Text(),
            nullable=False,
            comment="the message as JSON (text, HTML or webhook body); no secrets: the "
            "unsubscribe link is signed when it is sent",
        ),
        sa.Column(
            "state",
            sa.String(16),
            nullable=False,
            comment="pending, sending, sent, retry or failed; sending past its lease: may have "
            "been sent",
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="sends tried"),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, comment="retry from"
        ),
        sa.Column(
            "lease_until", sa.DateTime(timezone=True), comment="a sender holds it until then"
        ),
        sa.Column("claimed_by", sa.String(64), comment="the sender holding it"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="when planned"),
        sa.Column("sent_at", sa.DateTime(timezone=True), comment="when the server took it"),
        sa.Column("last_error", sa.Text(), comment="why the last attempt failed (no secrets)"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_outbox_key")),
        comment="Every notification planned, its state and what happened: sent once per key.",
    )
    op.create_index(
        "ix_notification_outbox_state",
        "notification_outbox",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_notification_outbox_state", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("notification_preferences")
    op.drop_table("notification_settings")
