"""The store's tables of actions, their milestones and the commentary on KPIs and objectives
(migration 0015). Kept apart from the definitions (`tables`), on the same metadata: they are
what people say and do about the numbers, not the organisation's model."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, String, Table, Text

from lineofsight.store.metadata import ID, metadata

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, comment="number of the action"),
    Column(
        "key",
        String(ID),
        nullable=False,
        unique=True,
        comment="its id in the strategy file; action_<number> when entered in the app",
    ),
    Column("subject_type", String(16), nullable=False, comment="kpi or objective"),
    Column("subject_id", String(ID), nullable=False, comment="the KPI or objective it is about"),
    Column("title", Text, nullable=False, comment="what is being done"),
    Column("owner", String(ID), comment="the person who owns it"),
    Column("due", Date, comment="when it should be done"),
    Column("status", String(16), nullable=False, comment="open, done or dropped"),
    Column(
        "declared",
        Boolean,
        nullable=False,
        comment="declared in the strategy file (`los apply` removes it when the file drops it)",
    ),
    Column("created_by", Text, comment="who entered it"),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="when it was entered"),
    Column("updated_at", DateTime(timezone=True), nullable=False, comment="when it last changed"),
    # Migration 0027: who gave its owner the action, and when (what tells a person of it).
    Column(
        "given_at",
        DateTime(timezone=True),
        comment="when its owner was given it in the web app or the API (none: by the "
        "strategy file, or no owner)",
    ),
    Column("given_by", Text, comment="the user who gave it"),
    Column(
        "given_by_person", String(ID), comment="people.id of the user who gave it, as linked then"
    ),
    Index("ix_actions_subject", "subject_type", "subject_id"),
    Index("ix_actions_owner", "owner"),
    comment="Actions (initiatives) on KPIs and objectives; each change is in the audit log.",
)

action_milestones = Table(
    "action_milestones",
    metadata,
    Column("action_id", Integer, primary_key=True, comment="the action"),
    Column("position", Integer, primary_key=True, comment="order of the milestone (0 first)"),
    Column("title", Text, nullable=False, comment="the step"),
    Column("due", Date, comment="when it should be reached"),
    Column("done", Boolean, nullable=False, comment="reached"),
    comment="The milestones of each action, in order.",
)

commentary = Table(
    "commentary",
    metadata,
    Column("subject_type", String(16), primary_key=True, comment="kpi or objective"),
    Column("subject_id", String(ID), primary_key=True, comment="the KPI or objective"),
    Column("period", String(32), primary_key=True, comment="the period it speaks about"),
    Column("version", Integer, primary_key=True, comment="1 first; the highest is current"),
    Column("analysis", Text, nullable=False, comment="why the number is where it is"),
    Column("recommendation", Text, nullable=False, comment="what to do next"),
    Column("author", Text, comment="who wrote it"),
    Column("at", DateTime(timezone=True), nullable=False, comment="when it was written"),
    comment="Commentary per KPI or objective and period, every version kept.",
)
