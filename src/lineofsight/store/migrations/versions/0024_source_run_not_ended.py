"""A refresh's rows of periods not ended yet, left out for a later refresh, kept with the run
(a mistyped year otherwise leaves every row out while the run reports "ok"); `rows_read` is
the rows of the KPIs refreshed, which its comment now says.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_runs") as batch:
        batch.add_column(
            sa.Column(
                "not_ended",
                sa.Integer(),
                comment="rows of periods not ended yet, left out for a later refresh",
            )
        )
        batch.alter_column(
            "rows_read",
            existing_type=sa.Integer(),
            existing_nullable=True,
            comment="rows the source gave for the KPIs refreshed",
            existing_comment="rows the source gave",
        )


def downgrade() -> None:
    with op.batch_alter_table("source_runs") as batch:
        batch.alter_column(
            "rows_read",
            existing_type=sa.Integer(),
            existing_nullable=True,
            comment="rows the source gave",
            existing_comment="rows the source gave for the KPIs refreshed",
        )
        batch.drop_column("not_ended")
