"""The store's activity counter (migration 0020): one row that every write of actions,
commentary and reviews bumps, so that the store's revision (`organization.read_revision`)
changes with them too, as it does with loads, replaced values and applies."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table

from lineofsight.store.metadata import metadata

store_activity = Table(
    "store_activity",
    metadata,
    Column("key", Integer, primary_key=True, comment="always 1: one row per store"),
    Column(
        "activity",
        BigInteger,
        nullable=False,
        comment="bumped by every write of actions, commentary and reviews (only grows)",
    ),
    comment="What the store's revision reads beside the ids of loads and definition changes.",
)
