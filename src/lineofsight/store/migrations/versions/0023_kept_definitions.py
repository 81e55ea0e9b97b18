"""The definitions and labels of the last scorecard computed in full, kept as its frames: a
scorecard computed in full of a date nothing is kept for decodes them instead of reading
the definition tables again (`store.scorecards.read_kept_definitions`).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_definitions",
        sa.Column("key", sa.Integer(), nullable=False, comment="always 1: one row per store"),
        sa.Column(
            "definitions", sa.Integer(), nullable=False, comment="definition_changes.id covered"
        ),
        sa.Column(
            "activity", sa.BigInteger(), nullable=False, comment="store_activity.activity covered"
        ),
        sa.Column("payload", sa.LargeBinary(), nullable=False, comment="the frames, Arrow IPC"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kept_definitions")),
        comment="The definitions and labels a scorecard was last computed in full with.",
    )


def downgrade() -> None:
    op.drop_table("kept_definitions")
