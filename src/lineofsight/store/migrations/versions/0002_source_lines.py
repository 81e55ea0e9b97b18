"""Remember where each definition was written: the applied file and each item's line.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ITEM_TABLES = ("units", "people", "objectives", "kpis")


def upgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.add_column(sa.Column("source_file", sa.Text(), nullable=True))
    for table in ITEM_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("source_line", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ITEM_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source_line")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("source_file")
