"""Stored values of -0.0 made 0.0: SQLite writes a whole REAL as an integer, so -0.0 comes
back 0.0 from it, while PostgreSQL keeps the sign, which showed as "-0" in a status on
PostgreSQL alone. Writes now store 0.0 (`measurement_writes.compare_measurements`); this
rewrites what an earlier release stored, and forgets the kept scorecards made from it (the
next status computes them again). On SQLite nothing is stored with its sign: nothing to do.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_COLUMNS = {
    "measurements": ("value", "numerator", "denominator"),
    "measurement_revisions": ("value", "numerator", "denominator"),
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
