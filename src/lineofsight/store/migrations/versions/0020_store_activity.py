"""The store's activity counter: writes of actions, commentary, reviews and definitions bump
it, so that what the web app keeps per store revision (the attention lists and alignment
findings, which look at actions; the findings' file lines) is made again after them.

A reader holding a revision must never meet it again for other data, so the counter never
goes back: moving the store down leaves its table in place, and moving it up again carries
it on, one step further (the writes made under the older schema were not counted in it).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("store_activity"):
        op.execute("UPDATE store_activity SET activity = activity + 1 WHERE key = 1")
        return
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
    op.bulk_insert(table, [{"key": 1, "activity": 0}])


def downgrade() -> None:
    # The table stays (see the module's docstring); the older schema does not read it.
    pass
