"""A refresh's lease: a running refresh renews it while it lasts, so that one whose process
was killed is seen to have ended (failed, abandoned) once its lease runs out, instead of
staying "running" forever.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_runs") as batch:
        batch.add_column(
            sa.Column(
                "lease_until",
                sa.DateTime(timezone=True),
                comment="a running refresh renews it; past it, the refresh was abandoned",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("source_runs") as batch:
        batch.drop_column("lease_until")
