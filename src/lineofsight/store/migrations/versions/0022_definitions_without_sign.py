"""Targets, thresholds and other numbers of the definitions written -0.0 made 0.0: a target
written `-0.0` in the strategy file was stored with its sign on PostgreSQL and showed as "-0".
Writes now store 0.0 (`definition_rows.organization_rows`); this rewrites what an earlier
release stored, and forgets the kept scorecards made from it (the next status computes them
again). On SQLite nothing is stored with its sign: nothing to do (as 0021 for the values).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_COLUMNS = {
    "objectives": ("weight",),
    "kpis": (
        "ratio_scale",
        "range_low",
        "range_high",
        "baseline_value",
        "target_value",
        "tolerance",
        "tolerance_abs",
        "bounds_min",
        "bounds_max",
        "benchmark_value",
    ),
    "kpi_supports": ("weight",),
    "kpi_contributions": ("weight",),
    "kpi_unit_targets": ("value", "baseline_value"),
    "kpi_period_targets": ("value",),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    rewritten = 0
    for table, columns in _COLUMNS.items():
        for column in columns:
            # -0 = 0, and the text of -0 is '-0': only the zeros with a sign are rewritten.
            done = bind.exec_driver_sql(
                f"UPDATE {table} SET {column} = 0 WHERE {column} = 0 AND {column}::text = '-0'"
            )
            rewritten += max(done.rowcount, 0)
    if rewritten:
        bind.exec_driver_sql("DELETE FROM scorecard_patches")
        bind.exec_driver_sql("DELETE FROM scorecard_snapshots")


def downgrade() -> None:
    pass  # a zero without its sign is the same number
