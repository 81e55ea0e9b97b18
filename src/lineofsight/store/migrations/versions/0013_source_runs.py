"""Data sources: the named sources on the organisation row, each refresh's run, where each
KPI's last refresh got to, and the provenance of the values a refresh wrote.

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.add_column(
            sa.Column(
                "sources",
                sa.JSON(),
                nullable=True,
                comment="the named data sources, as written (secrets as env:NAME references)",
            )
        )
    op.create_table(
        "source_runs",
        sa.Column(
            "id", sa.Integer(), autoincrement=True, nullable=False, comment="order of the run"
        ),
        sa.Column("source", sa.String(length=64), nullable=False, comment="name of the source"),
        sa.Column("state", sa.String(length=16), nullable=False, comment="running, ok or failed"),
        sa.Column(
            "trigger", sa.String(length=16), nullable=False, comment="command, web, api or schedule"
        ),
        sa.Column("actor", sa.Text(), nullable=True, comment="who started it"),
        sa.Column(
            "full_refresh", sa.Boolean(), nullable=False, comment="every period read (--full)"
        ),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, comment="when it started"
        ),
        sa.Column(
            "finished_at", sa.DateTime(timezone=True), nullable=True, comment="when it ended"
        ),
        sa.Column("duration", sa.Float(), nullable=True, comment="seconds it took"),
        sa.Column("rows_read", sa.Integer(), nullable=True, comment="rows the source gave"),
        sa.Column("added", sa.Integer(), nullable=True, comment="values added"),
        sa.Column(
            "replaced",
            sa.Integer(),
            nullable=True,
            comment="values replaced (the old kept as revisions)",
        ),
        sa.Column(
            "unchanged", sa.Integer(), nullable=True, comment="values the store held already"
        ),
        sa.Column(
            "error", sa.Text(), nullable=True, comment="why it failed, one line (never a secret)"
        ),
        sa.Column(
            "problems", sa.Text(), nullable=True, comment="the bad rows it found, JSON list of text"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_runs")),
        sqlite_autoincrement=True,
        comment="Each refresh of a data source: state, times, rows and the reason of a failure.",
    )
    op.create_index("ix_source_runs_source", "source_runs", ["source", "id"])
    op.create_table(
        "source_marks",
        sa.Column("source", sa.String(length=64), nullable=False, comment="name of the source"),
        sa.Column("kpi_id", sa.String(length=64), nullable=False, comment="kpis.id it feeds"),
        sa.Column(
            "fingerprint", sa.String(length=64), nullable=False, comment="SHA-256 of the query text"
        ),
        sa.Column(
            "last_period",
            sa.String(length=16),
            nullable=True,
            comment="the latest period the refresh read",
        ),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False, comment="when"),
        sa.Column("run_id", sa.Integer(), nullable=False, comment="source_runs.id of the refresh"),
        sa.PrimaryKeyConstraint("source", "kpi_id", name=op.f("pk_source_marks")),
        comment="Where each KPI's last refresh from its source got to (for the next :since).",
    )
    op.create_table(
        "source_writes",
        sa.Column("load_id", sa.Integer(), nullable=False, comment="loads.id of the write"),
        sa.Column("run_id", sa.Integer(), nullable=False, comment="source_runs.id"),
        sa.Column("source", sa.String(length=64), nullable=False, comment="name of the source"),
        sa.Column("kpi_id", sa.String(length=64), nullable=False, comment="kpis.id written"),
        sa.Column(
            "fingerprint", sa.String(length=64), nullable=False, comment="SHA-256 of the query text"
        ),
        sa.Column("since", sa.Date(), nullable=True, comment="the :since the query was given"),
        sa.Column("rows", sa.Integer(), nullable=False, comment="rows the query gave for this KPI"),
        sa.PrimaryKeyConstraint("load_id", name=op.f("pk_source_writes")),
        comment="Where each write of a refresh came from: source, query fingerprint and rows.",
    )
    op.create_index(op.f("ix_source_writes_run_id"), "source_writes", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_source_writes_run_id"), table_name="source_writes")
    op.drop_table("source_writes")
    op.drop_table("source_marks")
    op.drop_index("ix_source_runs_source", table_name="source_runs")
    op.drop_table("source_runs")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("sources")
