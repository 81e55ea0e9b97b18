"""Reports of `los check` on the store, reused while nothing they read has changed.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column(
            "key",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the release, the as-of date and the rules and options asked for;"
            " 'definitions' for the row every write of the definitions replaces",
        ),
        sa.Column(
            "state",
            sa.Text(),
            nullable=False,
            comment="the store as the report saw it (its revision and the definitions' row)",
        ),
        sa.Column(
            "report",
            sa.Text(),
            nullable=False,
            comment="the findings and rules run, as JSON text",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_check_results")),
        comment="Reports of `los check` on the store, reused while nothing they read has changed.",
    )


def downgrade() -> None:
    op.drop_table("check_results")
