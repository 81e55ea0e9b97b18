"""The store's activity counter (migration 0020): one row that every write of actions,
commentary, reviews and definitions bumps, so that the store's revision
(`organization.read_revision`) changes with them too: with an apply that only moves items in
the file (no definition change, but new file lines in the findings)."""

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
        comment="bumped by writes of actions, commentary, reviews, definitions",
    ),
    comment="What the store's revision reads beside the ids of loads and definition changes.",
)
