"""The whole organisation's forecast, kept for the attention lists, keeps each KPI's forecast
for its page too (its path and interval, its chance, its method), so that a KPI's page reads
one row instead of fitting the KPI again.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


# The whole organisation's forecasts kept before (or kept, then moved down past, this revision):
# one brought up to date would write rows only for the KPIs written since, so every other
# KPI's page would fit its forecast until one is made in full. Forgotten, the next is made in
# full, with every KPI's row.
_FORGET_KEPT = "DELETE FROM check_results WHERE key LIKE 'incremental/attention-forecast/%'"


def upgrade() -> None:
    op.execute(_FORGET_KEPT)
    op.create_table(
        "kept_forecasts",
        sa.Column("kpi_id", sa.String(length=64), nullable=False, comment="kpis.id forecast"),
        sa.Column(
            "unit_id", sa.String(length=64), nullable=False, comment="units.id it is forecast at"
        ),
        sa.Column("as_of", sa.Date(), nullable=False, comment="the as-of date of the forecast"),
        sa.Column("target", sa.Float(), comment="the final target (a range's midpoint)"),
        sa.Column("deadline", sa.Date(), nullable=False, comment="the target's date"),
        sa.Column("points", sa.Integer(), nullable=False, comment="values in the series"),
        sa.Column(
            "method", sa.String(length=32), nullable=False, comment="the method, or no_forecast"
        ),
        sa.Column("models", sa.String(length=64), comment="the models of a seasonal projection"),
        sa.Column("on_track", sa.Boolean(), comment="whether the projection meets the target"),
        sa.Column("probability", sa.Float(), comment="the chance of meeting the target"),
        sa.Column(
            "clamped",
            sa.Boolean(),
            nullable=False,
            comment="the projection was held at a bound",
        ),
        sa.Column(
            "first_period", sa.String(length=16), comment="period label of the series' first value"
        ),
        sa.Column(
            "last_period", sa.String(length=16), comment="period label of the series' last value"
        ),
        sa.Column("reason", sa.Text(), comment="why there is no forecast"),
        sa.Column("path", sa.Text(), comment="the path's values, lows and highs: float64, base64"),
        sa.PrimaryKeyConstraint("kpi_id", "unit_id", name=op.f("pk_kept_forecasts")),
        comment="Each KPI's forecast of the kept whole-organisation forecast, for its page.",
    )


def downgrade() -> None:
    op.drop_table("kept_forecasts")
    op.execute(_FORGET_KEPT)
