"""Reporting lag: the days after a period ends by which its value is due, for the calendar
(default 30) and per KPI (null: the calendar's).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CALENDAR_COMMENT = "days after a period ends by which its value is due (reporting lag)"
KPI_COMMENT = "days after a period ends by which its value is due; null: the calendar's"


def upgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.add_column(
            sa.Column(
                "due_days",
                sa.Integer(),
                nullable=False,
                server_default="30",
                comment=CALENDAR_COMMENT,
            )
        )
    with op.batch_alter_table("kpis") as batch:
        batch.add_column(sa.Column("due_days", sa.Integer(), nullable=True, comment=KPI_COMMENT))


def downgrade() -> None:
    with op.batch_alter_table("kpis") as batch:
        batch.drop_column("due_days")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("due_days")
