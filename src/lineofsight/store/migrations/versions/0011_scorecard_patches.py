"""Scorecard patches: the rows of a kept scorecard that changed since it was saved in full,
so that a check-in writes a few rows instead of the whole scorecard again.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scorecard_patches",
        sa.Column("as_of", sa.Date(), nullable=False, comment="the as-of date scored"),
        sa.Column(
            "lag",
            sa.Boolean(),
            nullable=False,
            comment="with reporting lag (false: a period report)",
        ),
        sa.Column(
            "base_load_id",
            sa.Integer(),
            nullable=False,
            comment="scorecard_snapshots.load_id of the scorecard patched",
        ),
        sa.Column(
            "base_revision_id",
            sa.Integer(),
            nullable=False,
            comment="scorecard_snapshots.revision_id of the scorecard patched",
        ),
        sa.Column("load_id", sa.Integer(), nullable=False, comment="loads.id covered"),
        sa.Column(
            "revision_id", sa.Integer(), nullable=False, comment="measurement_revisions.id covered"
        ),
        sa.Column("payload", sa.LargeBinary(), nullable=False, comment="the rows, Arrow IPC"),
        sa.PrimaryKeyConstraint("as_of", "lag", name=op.f("pk_scorecard_patches")),
        comment="The rows of a kept scorecard written since it was saved in full.",
    )


def downgrade() -> None:
    op.drop_table("scorecard_patches")
