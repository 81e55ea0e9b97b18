"""Scheduled jobs: the state of each recurring job (a source's refresh, a notification run),
when it is next due, and the lease of the scheduler running it.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_jobs",
        sa.Column(
            "key", sa.String(length=200), nullable=False, comment="the job: its family and item"
        ),
        sa.Column(
            "schedule", sa.Text(), nullable=False, comment="its schedule, as the strategy file says"
        ),
        sa.Column(
            "state",
            sa.String(length=16),
            nullable=False,
            comment="idle, running (a scheduler holds its lease) or failed (the last run failed)",
        ),
        sa.Column(
            "next_due",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when it runs next (after a failure: when it is retried), UTC",
        ),
        sa.Column(
            "last_started_at", sa.DateTime(timezone=True), comment="when its last run started"
        ),
        sa.Column(
            "last_finished_at", sa.DateTime(timezone=True), comment="when its last run ended"
        ),
        sa.Column(
            "last_outcome", sa.Text(), comment="the one-line summary of its last successful run"
        ),
        sa.Column(
            "last_error",
            sa.Text(),
            comment="why its last run failed (empty after a success); redacted by the job",
        ),
        sa.Column(
            "attempts",
            sa.Integer(),
            nullable=False,
            comment="failed runs in a row (0 after a success)",
        ),
        sa.Column(
            "lease_owner",
            sa.String(length=200),
            comment="the scheduler running it now (host:pid:id)",
        ),
        sa.Column(
            "lease_until",
            sa.DateTime(timezone=True),
            comment="the run is presumed dead after this and the job may be claimed again",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_scheduled_jobs")),
        comment="Scheduled jobs (source refreshes, notifications): state, next run, lease.",
    )
    op.create_index("ix_scheduled_jobs_next_due", "scheduled_jobs", ["next_due"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_jobs_next_due", table_name="scheduled_jobs")
    op.drop_table("scheduled_jobs")
