"""Index measurements by their last day, covering every column a scorecard reads, so that
the scorecard of a date reads only its periods' rows (and not the whole table).

It replaces the index by KPI and last day, which nothing needs beside it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ["period_end", "kpi_id", "unit_id", "period_start", "value", "numerator", "denominator"]


def upgrade() -> None:
    op.drop_index("ix_measurements_kpi_end", table_name="measurements")
    op.create_index("ix_measurements_by_end", "measurements", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_measurements_by_end", table_name="measurements")
    op.create_index("ix_measurements_kpi_end", "measurements", ["kpi_id", "period_end"])
