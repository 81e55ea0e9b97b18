"""The store's tables of people's access to the web app and what they did: accounts, their
grants and API tokens, sessions, failed logins and the audit log. Kept apart from the
organisation's definitions and values (`tables`), on the same metadata."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from lineofsight.store.metadata import ID, metadata

# Accounts of the web app (migration 0004). Passwords and API tokens are kept only as hashes.
# Their ids are never reused, also on SQLite (AUTOINCREMENT, migration 0006): a user or token
# made after a removal never takes the removed one's id, so nothing that named the old id
# (an audit entry, a script revoking token 7) can come to mean the new one.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="id of the user"),
    Column("username", String(ID), nullable=False, unique=True, comment="login name"),
    Column("name", Text, comment="display name"),
    Column(
        "person_id",
        String(ID),
        comment="people.id of the person this user is (kept if the person leaves the file)",
    ),
    Column("password_hash", Text, nullable=False, comment="argon2id hash of the password"),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="when it was added"),
    sqlite_autoincrement=True,
    comment="Users of the web app.",
)

# A role on a unit and its subtree; an empty unit_id is the whole organisation.
user_grants = Table(
    "user_grants",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        comment="users.id",
    ),
    Column("position", Integer, primary_key=True, comment="order of the role"),
    Column("role", String(16), nullable=False, comment="admin, editor, owner or viewer"),
    Column("unit_id", String(ID), comment="units.id it holds on, with the units below; none: all"),
    comment="Roles of the users, each on a unit and its subtree or on the whole organisation.",
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="id of the token"),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        comment="users.id it acts as",
    ),
    Column(
        "token_hash",
        String(64),
        nullable=False,
        unique=True,
        comment="SHA-256 of the token, hex (the token itself is never kept)",
    ),
    Column("label", Text, comment="what the token is for"),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="when it was made"),
    sqlite_autoincrement=True,
    comment="API tokens of the users.",
)

# Logged-in browser sessions (migration 0006). The cookie carries a random secret; only its
# SHA-256 is kept here. Every request looks its session up, so logging out, removing a user or
# changing their roles or password (which delete these rows) ends a session at once in every
# server process.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="id of the session"),
    Column(
        "token_hash",
        String(64),
        nullable=False,
        unique=True,
        comment="SHA-256 of the cookie's secret, hex (the secret itself is never kept)",
    ),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        comment="users.id signed in",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="when it began"),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, comment="its latest request"),
    Column(
        "expires_at",
        DateTime(timezone=True),
        nullable=False,
        index=True,
        comment="when it ends unless ended before",
    ),
    Index("ix_web_sessions_user", "user_id"),
    sqlite_autoincrement=True,
    comment="Signed-in browser sessions of the web app.",
)

# Failed logins per account name and per client address (each kept as a SHA-256 of what it
# counts: a password typed into the username field must not end up in the store), and until
# when further attempts are refused. Kept in the store so that every server process sees them.
login_failures = Table(
    "login_failures",
    metadata,
    Column(
        "key",
        String(64),
        primary_key=True,
        comment="SHA-256 of the account name or client address counted",
    ),
    Column("failures", Integer, nullable=False, comment="failed logins in a row"),
    Column(
        "last_failure_at", DateTime(timezone=True), nullable=False, comment="the latest failure"
    ),
    Column("locked_until", DateTime(timezone=True), comment="no login is tried before this"),
    comment="Failed web logins, for the back-off after repeated failures.",
)

# Every write made through the web app or the account commands: who, when, what, the value
# before and after (JSON text, written once and only read back for display).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="order of the entry"),
    Column("at", DateTime(timezone=True), nullable=False, index=True, comment="when"),
    Column("actor", Text, nullable=False, comment="who: a username, or the local account"),
    Column("action", String(32), nullable=False, comment="what was done"),
    Column("subject", Text, nullable=False, comment="what it was done to"),
    Column("before", Text, comment="the value before, as JSON text"),
    Column("after", Text, comment="the value after, as JSON text"),
    comment="Every write made through the web app or the account commands.",
)
