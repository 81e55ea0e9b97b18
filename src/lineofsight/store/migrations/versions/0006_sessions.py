"""Sessions kept in the store, failed logins counted there, and user and token ids never reused.

- `web_sessions`: one row per logged-in browser session (the SHA-256 of the cookie's secret,
  the user, when it started, was last seen and ends);
- `login_failures`: failed logins per account name and per client address, and until when
  further attempts are refused;
- on SQLite, `users` and `api_tokens` become AUTOINCREMENT tables, so that a new user never
  takes the id of a removed one (SQLite otherwise reuses the highest id after a delete).
  PostgreSQL's sequences never reuse ids, so its tables stay as they are.

The SQLite tables are copied aside, dropped (those that refer to users first, so that no
cascade deletes a role or token) and made again; every user, role and token is kept.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ASIDE = "_0006_"
_COLUMNS = {
    "users": ["id", "username", "name", "person_id", "password_hash", "created_at"],
    "user_grants": ["user_id", "position", "role", "unit_id"],
    "api_tokens": ["id", "user_id", "token_hash", "label", "created_at"],
}


def _create_account_tables(autoincrement: bool) -> None:
    """users, user_grants and api_tokens as migration 0004 made them, with or without
    SQLite's AUTOINCREMENT on the two tables with their own ids."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        sqlite_autoincrement=autoincrement,
    )
    op.create_table(
        "user_grants",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_grants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "position", name=op.f("pk_user_grants")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sqlite_autoincrement=autoincrement,
    )


def _remake_account_tables(autoincrement: bool) -> None:
    """On SQLite: copy the account tables aside, make them again and copy every row back."""
    for table in _COLUMNS:
        op.execute(f"CREATE TABLE {_ASIDE}{table} AS SELECT * FROM {table}")
    for table in reversed(_COLUMNS):  # the tables that refer to users first: no cascade
        op.drop_table(table)
    _create_account_tables(autoincrement)
    for table, columns in _COLUMNS.items():
        names = ", ".join(columns)
        op.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {_ASIDE}{table} ORDER BY 1")
        op.drop_table(_ASIDE + table)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _remake_account_tables(autoincrement=True)
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])
    op.create_index(op.f("ix_web_sessions_expires_at"), "web_sessions", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_index(op.f("ix_web_sessions_expires_at"), table_name="web_sessions")
    op.drop_index("ix_web_sessions_user", table_name="web_sessions")
    op.drop_table("web_sessions")
    if op.get_bind().dialect.name == "sqlite":
        _remake_account_tables(autoincrement=False)
