"""Scorecard snapshots: the last computed scorecard per as-of date and mode, kept with what it
covers, so that `los status` patches it instead of scoring every KPI again; and an index on
`measurements.load_id`, which finds the KPIs written since a snapshot.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scorecard_snapshots",
        sa.Column("as_of", sa.Date(), nullable=False, comment="the as-of date scored"),
        sa.Column(
            "lag",
            sa.Boolean(),
            nullable=False,
            comment="with reporting lag (false: a period report)",
        ),
        sa.Column(
            "definitions", sa.Integer(), nullable=False, comment="definition_changes.id covered"
        ),
        sa.Column("load_id", sa.Integer(), nullable=False, comment="loads.id covered"),
        sa.Column(
            "revision_id", sa.Integer(), nullable=False, comment="measurement_revisions.id covered"
        ),
        sa.Column("payload", sa.LargeBinary(), nullable=False, comment="the frames, Arrow IPC"),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False, comment="when"),
        sa.PrimaryKeyConstraint("as_of", "lag", name=op.f("pk_scorecard_snapshots")),
        comment="The last scorecard computed per as-of date and mode, and what it covers.",
    )
    op.create_index("ix_measurements_load_id", "measurements", ["load_id", "kpi_id"])


def downgrade() -> None:
    op.drop_index("ix_measurements_load_id", table_name="measurements")
    op.drop_table("scorecard_snapshots")
