"""The store's tables of reviews (migration 0016): each unit's cadence as the strategy file
gives it, the reviews held (attendees, decisions), and the actions made in a review. Kept
apart from the definitions (`tables`), on the same metadata."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Table, Text

from lineofsight.store.metadata import ID, metadata

review_cadences = Table(
    "review_cadences",
    metadata,
    Column("unit_id", String(ID), primary_key=True, comment="the unit reviewed (its subtree)"),
    Column("position", Integer, nullable=False, comment="order in the strategy file"),
    Column("every", Text, nullable=False, comment="monthly, weekly, quarterly or a cron"),
    Column("day", String(16), comment="day of the month (1-28, last) or weekday; null: default"),
    Column("attendees", Text, nullable=False, comment="person ids, as a JSON list"),
    Column("lead_days", Integer, nullable=False, comment="days before the review the book goes"),
    comment="Review cadences as the last `los apply` wrote them (the file's reviews: section).",
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="id of the review"),
    Column("unit_id", String(ID), nullable=False, comment="the unit reviewed"),
    Column("period", String(32), nullable=False, comment="the period reviewed"),
    Column("held_on", Date, nullable=False, comment="the day it was held"),
    Column("attendees", Text, nullable=False, comment="who attended: person ids, a JSON list"),
    Column("decisions", Text, nullable=False, comment="decisions taken: a JSON list of texts"),
    Column("recorded_by", Text, comment="who recorded it"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, comment="when, UTC"),
    Index("ix_reviews_unit", "unit_id", "held_on"),
    comment="Reviews held: the record the next briefing book shows.",
)

review_actions = Table(
    "review_actions",
    metadata,
    Column("review_id", Integer, primary_key=True, comment="the review"),
    Column("action_id", Integer, primary_key=True, comment="an action created in it"),
    comment="The actions created in a review.",
)
