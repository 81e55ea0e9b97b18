"""On PostgreSQL, a schema that BI tools can read on their own: foreign keys between the
definitions, `jsonb` for JSON documents, and a comment on every table and column. SQLite is
left as it is (see `store/tables.py`).

The comments are read from the model in `store/tables.py`, for the tables and columns this
revision knows: they describe, and a later release that rewords one sets it again.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, column, referenced table): deferred to the commit, as an apply deletes and rewrites
# the items that changed within its transaction.
FOREIGN_KEYS = [
    ("units", "parent_id", "units"),
    ("units", "lead_id", "people"),
    ("people", "unit_id", "units"),
    ("objectives", "unit_id", "units"),
    ("objectives", "parent_id", "objectives"),
    ("kpis", "unit_id", "units"),
    ("kpi_supports", "objective_id", "objectives"),
    ("kpi_contributions", "to_kpi_id", "kpis"),
    ("kpi_influences", "to_kpi_id", "kpis"),
    ("kpi_unit_targets", "unit_id", "units"),
]
# Columns of those keys that no index leads with: deleting a referenced row looks them up.
INDEXES = [("units", "lead_id"), ("kpi_influences", "to_kpi_id"), ("kpi_unit_targets", "unit_id")]
# Not organization.checks nor kpis.source: their maps keep the user's order, which jsonb sorts.
JSON_COLUMNS = [
    ("organization", "strategy"),
    ("organization", "scoring"),
    ("units", "lint"),
    ("people", "lint"),
    ("objectives", "lint"),
    ("kpis", "lint"),
    ("definition_changes", "before"),
    ("definition_changes", "after"),
]
TABLES = [
    "organization",
    "units",
    "people",
    "objectives",
    "kpis",
    "kpi_supports",
    "kpi_contributions",
    "kpi_influences",
    "kpi_unit_targets",
    "kpi_period_targets",
    "definition_changes",
    "loads",
    "measurements",
    "measurement_revisions",
    "users",
    "user_grants",
    "api_tokens",
    "audit_log",
    "web_sessions",
    "login_failures",
]


def _fk_name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in JSON_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=postgresql.JSONB(),
            existing_type=sa.JSON(),
            postgresql_using=f'"{column}"::jsonb',
        )
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])
    for table, column, referred in FOREIGN_KEYS:
        op.create_foreign_key(
            _fk_name(table, column, referred),
            table,
            referred,
            [column],
            ["id"],
            deferrable=True,
            initially="DEFERRED",
        )
    _comment(set_them=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _comment(set_them=False)
    for table, column, referred in reversed(FOREIGN_KEYS):
        op.drop_constraint(_fk_name(table, column, referred), table, type_="foreignkey")
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    for table, column in JSON_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.JSON(),
            existing_type=postgresql.JSONB(),
            postgresql_using=f'"{column}"::json',
        )


def _comment(*, set_them: bool) -> None:
    from lineofsight.store.tables import metadata

    bind = op.get_bind()
    quote = bind.dialect.identifier_preparer.quote
    for name in TABLES:
        model = metadata.tables[name]
        existing = {c["name"] for c in sa.inspect(bind).get_columns(name)}
        _set(f"TABLE {quote(name)}", model.comment if set_them else None)
        for column in model.columns:
            if column.name in existing:
                target = f"COLUMN {quote(name)}.{quote(column.name)}"
                _set(target, column.comment if set_them else None)


def _set(target: str, comment: str | None) -> None:
    text = "NULL" if comment is None else "'" + comment.replace("'", "''") + "'"
    op.execute(f"COMMENT ON {target} IS {text}")
