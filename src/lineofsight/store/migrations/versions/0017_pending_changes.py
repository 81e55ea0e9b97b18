"""Strategy edits in the browser: the approval setting and the changes waiting for approval.

Revision ID: 0017
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edit_settings",
        sa.Column("id", sa.Integer(), nullable=False, comment="always 1: one row"),
        sa.Column(
            "require_approval",
            sa.Boolean(),
            nullable=False,
            comment="editors' changes wait for an admin or the unit lead to approve them",
        ),
        sa.Column("changed_by", sa.Text(), nullable=False, comment="who changed the setting"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, comment="when"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edit_settings")),
        comment="How strategy edits made in the browser are saved (no row: straight away).",
    )
    op.create_table(
        "pending_changes",
        sa.Column(
            "id", sa.Integer(), autoincrement=True, nullable=False, comment="order of the request"
        ),
        sa.Column(
            "kind", sa.String(length=16), nullable=False, comment="unit, person, objective or kpi"
        ),
        sa.Column(
            "item_id", sa.String(length=64), nullable=False, comment="id of the item changed"
        ),
        sa.Column("action", sa.String(length=16), nullable=False, comment="add, change or remove"),
        sa.Column(
            "item",
            sa.Text(),
            nullable=True,
            comment="the item as the strategy file writes it, JSON (null: removed)",
        ),
        sa.Column("summary", sa.Text(), nullable=False, comment="what changes, one line per field"),
        sa.Column(
            "units", sa.Text(), nullable=False, comment="units the change reaches, JSON list"
        ),
        sa.Column(
            "requested_by", sa.Text(), nullable=False, comment="the user who made the change"
        ),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, comment="when"),
        sa.Column(
            "state", sa.String(length=16), nullable=False, comment="pending, approved or rejected"
        ),
        sa.Column("decided_by", sa.Text(), nullable=True, comment="who approved or rejected it"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True, comment="when"),
        sa.Column("reason", sa.Text(), nullable=True, comment="why it was rejected"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_changes")),
        sqlite_autoincrement=True,
        comment="Strategy edits made in the browser that wait for (or had) an approval.",
    )
    op.create_index("ix_pending_changes_state", "pending_changes", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_pending_changes_state", table_name="pending_changes")
    op.drop_table("pending_changes")
    op.drop_table("edit_settings")
