"""Actions with their milestones, and commentary per KPI or objective and period.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column(
            "id", sa.Integer(), autoincrement=False, nullable=False, comment="number of the action"
        ),
        sa.Column(
            "key",
            sa.String(64),
            nullable=False,
            comment="its id in the strategy file; action_<number> when entered in the app",
        ),
        sa.Column("subject_type", sa.String(16), nullable=False, comment="kpi or objective"),
        sa.Column(
            "subject_id", sa.String(64), nullable=False, comment="the KPI or objective it is about"
        ),
        sa.Column("title", sa.Text(), nullable=False, comment="what is being done"),
        sa.Column("owner", sa.String(64), comment="the person who owns it"),
        sa.Column("due", sa.Date(), comment="when it should be done"),
        sa.Column("status", sa.String(16), nullable=False, comment="open, done or dropped"),
        sa.Column(
            "declared",
            sa.Boolean(),
            nullable=False,
            comment="declared in the strategy file (`los apply` removes it when the file drops it)",
        ),
        sa.Column("created_by", sa.Text(), comment="who entered it"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when it was entered",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when it last changed",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("key", name=op.f("uq_actions_key")),
        comment="Actions (initiatives) on KPIs and objectives; each change is in the audit log.",
    )
    op.create_index("ix_actions_subject", "actions", ["subject_type", "subject_id"])
    op.create_index("ix_actions_owner", "actions", ["owner"])
    op.create_table(
        "action_milestones",
        sa.Column("action_id", sa.Integer(), nullable=False, comment="the action"),
        sa.Column(
            "position", sa.Integer(), nullable=False, comment="order of the milestone (0 first)"
        ),
        sa.Column("title", sa.Text(), nullable=False, comment="the step"),
        sa.Column("due", sa.Date(), comment="when it should be reached"),
        sa.Column("done", sa.Boolean(), nullable=False, comment="reached"),
        sa.PrimaryKeyConstraint("action_id", "position", name=op.f("pk_action_milestones")),
        comment="The milestones of each action, in order.",
    )
    op.create_table(
        "commentary",
        sa.Column("subject_type", sa.String(16), nullable=False, comment="kpi or objective"),
        sa.Column("subject_id", sa.String(64), nullable=False, comment="the KPI or objective"),
        sa.Column("period", sa.String(32), nullable=False, comment="the period it speaks about"),
        sa.Column(
            "version", sa.Integer(), nullable=False, comment="1 first; the highest is current"
        ),
        sa.Column("analysis", sa.Text(), nullable=False, comment="why the number is where it is"),
        sa.Column("recommendation", sa.Text(), nullable=False, comment="what to do next"),
        sa.Column("author", sa.Text(), comment="who wrote it"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="when it was written"),
        sa.PrimaryKeyConstraint(
            "subject_type", "subject_id", "period", "version", name=op.f("pk_commentary")
        ),
        comment="Commentary per KPI or objective and period, every version kept.",
    )


def downgrade() -> None:
    op.drop_table("commentary")
    op.drop_table("action_milestones")
    op.drop_index("ix_actions_owner", table_name="actions")
    op.drop_index("ix_actions_subject", table_name="actions")
    op.drop_table("actions")
