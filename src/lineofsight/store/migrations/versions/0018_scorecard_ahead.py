"""Kept scorecards made ahead: a write keeps the scorecard of the next date where most KPIs'
rows move (a period's end, the day values fall due) beside the one a status asked for last,
and marks it, so that the next write still starts from the date people look at.

Revision ID: 0018
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scorecard_snapshots") as batch:
        batch.add_column(
            sa.Column(
                "ahead",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="made by a write for a date no status asked for yet",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("scorecard_snapshots") as batch:
        batch.drop_column("ahead")
