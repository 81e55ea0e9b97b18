"""The store's activity counter: writes of actions, commentary, reviews and definitions bump
it, so that what the web app keeps per store revision (the attention lists and alignment
findings, which look at actions; the findings' file lines) is made again after them.

A reader holding a revision must never meet it again for other data, and moving the store
down drops the counter: so it starts at the time it is made, in microseconds, above any value
it had before such a move (made at an earlier time, it was bumped at most once a microsecond
since: each bump is a write transaction, and writes take turns). Only a clock set back by more
than the store's time at this schema would break that.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "store_activity",
        sa.Column("key", sa.Integer(), nullable=False, comment="always 1: one row per store"),
        sa.Column(
            "activity",
            sa.BigInteger(),
            nullable=False,
            comment="bumped by writes of actions, commentary, reviews, definitions",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_activity")),
        comment="What the store's revision reads beside the ids of loads and definition changes.",
    )
    op.bulk_insert(table, [{"key": 1, "activity": time.time_ns() // 1000}])


def downgrade() -> None:
    op.drop_table("store_activity")
