"""The store's tables of strategy edits made in the browser: the organisation's approval
setting and the changes that wait for approval (migration 0017). Kept apart from the
definitions (`tables`), on the same metadata."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from lineofsight.store.metadata import ID, metadata

edit_settings = Table(
    "edit_settings",
    metadata,
    Column("id", Integer, primary_key=True, comment="always 1: one row"),
    Column(
        "require_approval",
        Boolean,
        nullable=False,
        comment="editors' changes wait for an admin or the unit lead to approve them",
    ),
    Column("changed_by", Text, nullable=False, comment="who changed the setting"),
    Column("changed_at", DateTime(timezone=True), nullable=False, comment="when"),
    comment="How strategy edits made in the browser are saved (no row: straight away).",
)

pending_changes = Table(
    "pending_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="order of the request"),
    Column("kind", String(16), nullable=False, comment="unit, person, objective or kpi"),
    Column("item_id", String(ID), nullable=False, comment="id of the item changed"),
    Column("action", String(16), nullable=False, comment="add, change or remove"),
    Column(
        "item",
        Text,
        nullable=True,
        comment="the item as the strategy file writes it, JSON (null: removed)",
    ),
    Column("summary", Text, nullable=False, comment="what changes, one line per field"),
    Column("units", Text, nullable=False, comment="units the change reaches, JSON list"),
    Column("requested_by", Text, nullable=False, comment="the user who made the change"),
    Column("requested_at", DateTime(timezone=True), nullable=False, comment="when"),
    Column("state", String(16), nullable=False, comment="pending, approved or rejected"),
    Column("decided_by", Text, nullable=True, comment="who approved or rejected it"),
    Column("decided_at", DateTime(timezone=True), nullable=True, comment="when"),
    Column("reason", Text, nullable=True, comment="why it was rejected"),
    Index("ix_pending_changes_state", "state", "id"),
    sqlite_autoincrement=True,
    comment="Strategy edits made in the browser that wait for (or had) an approval.",
)
