"""Reviews: each unit's cadence from the strategy file, the reviews held, their actions.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_cadences",
        sa.Column(
            "unit_id", sa.String(64), nullable=False, comment="the unit reviewed (its subtree)"
        ),
        sa.Column("position", sa.Integer(), nullable=False, comment="order in the strategy file"),
        sa.Column(
            "every", sa.Text(), nullable=False, comment="monthly, weekly, quarterly or a cron"
        ),
        sa.Column(
            "day",
            sa.String(16),
            comment="day of the month (1-28, last) or weekday; null: default",
        ),
        sa.Column("attendees", sa.Text(), nullable=False, comment="person ids, as a JSON list"),
        sa.Column(
            "lead_days",
            sa.Integer(),
            nullable=False,
            comment="days before the review the book goes",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_review_cadences")),
        comment="Review cadences as the last `los apply` wrote them (the file's reviews: section).",
    )
    op.create_table(
        "reviews",
        sa.Column(
            "id", sa.Integer(), autoincrement=True, nullable=False, comment="id of the review"
        ),
        sa.Column("unit_id", sa.String(64), nullable=False, comment="the unit reviewed"),
        sa.Column("period", sa.String(32), nullable=False, comment="the period reviewed"),
        sa.Column("held_on", sa.Date(), nullable=False, comment="the day it was held"),
        sa.Column(
            "attendees",
            sa.Text(),
            nullable=False,
            comment="who attended: person ids, a JSON list",
        ),
        sa.Column(
            "decisions",
            sa.Text(),
            nullable=False,
            comment="decisions taken: a JSON list of texts",
        ),
        sa.Column("recorded_by", sa.Text(), comment="who recorded it"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, comment="when, UTC"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        comment="Reviews held: the record the next briefing book shows.",
    )
    op.create_index("ix_reviews_unit", "reviews", ["unit_id", "held_on"])
    op.create_table(
        "review_actions",
        sa.Column("review_id", sa.Integer(), nullable=False, comment="the review"),
        sa.Column("action_id", sa.Integer(), nullable=False, comment="an action created in it"),
        sa.PrimaryKeyConstraint("review_id", "action_id", name=op.f("pk_review_actions")),
        comment="The actions created in a review.",
    )


def downgrade() -> None:
    op.drop_table("review_actions")
    op.drop_index("ix_reviews_unit", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("review_cadences")
