"""The store's tables (SQLAlchemy Core). Alembic migrations in `migrations/` create them.

Definitions reference each other by id without foreign keys: a strategy file is validated as a
whole before it is written, and measurements outlive the KPI they belong to (removing a KPI
from the file must not lose what users entered; re-adding it brings them back). Rows that only
make sense with their KPI (its links and targets) do cascade with it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = 64  # ids are short identifiers; 64 leaves room without inviting prose

organization = Table(
    "organization",
    metadata,
    Column("key", Integer, primary_key=True),  # always 1: one organisation per store
    Column("name", Text, nullable=False),
    Column("fiscal_year_start", Integer, nullable=False, default=1),
    Column("strategy", JSON, nullable=False),
    Column("scoring", JSON),
    Column("checks", JSON),
    Column("source_file", Text),  # the strategy file last applied
)

units = Table(
    "units",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("source_line", Integer),  # where the item was written in the applied file
    Column("name", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent_id", String(ID), index=True),
    Column("lead_id", String(ID)),
    Column("function", Text),
    Column("lint", JSON),
)

people = Table(
    "people",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("source_line", Integer),  # where the item was written in the applied file
    Column("name", Text, nullable=False),
    Column("unit_id", String(ID), nullable=False, index=True),
    Column("title", Text),
    Column("email", Text),
    Column("lint", JSON),
)

objectives = Table(
    "objectives",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("source_line", Integer),  # where the item was written in the applied file
    Column("title", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("unit_id", String(ID), nullable=False, index=True),
    Column("owner_id", String(ID), index=True),
    Column("parent_id", String(ID), index=True),
    Column("weight", Float, nullable=False, default=1.0),
    Column("perspective", String(16)),
    Column("description", Text),
    Column("start_date", Date),
    Column("deadline", Date),
    Column("status", String(16), nullable=False, default="active"),
    Column("lint", JSON),
)

kpis = Table(
    "kpis",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("source_line", Integer),  # where the item was written in the applied file
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("unit_of_measure", Text),
    Column("level", String(16)),
    Column("type", String(16)),
    Column("unit_id", String(ID), nullable=False, index=True),
    Column("owner_id", String(ID), index=True),
    Column("frequency", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("aggregation", String(16)),
    Column("across_units", String(16)),
    Column("formula", Text),
    Column("ratio_numerator", Text),
    Column("ratio_denominator", Text),
    Column("ratio_scale", Float),
    Column("range_low", Float),
    Column("range_high", Float),
    Column("baseline_period", String(16)),
    Column("baseline_value", Float),
    Column("target_value", Float),
    Column("target_by", Date),
    Column("tolerance", Float),
    Column("tolerance_abs", Float),
    Column("bounds_min", Float),
    Column("bounds_max", Float),
    Column("benchmark_value", Float),
    Column("benchmark_source", Text),
    Column("source", JSON),
    Column("lint", JSON),
)


def _kpi_fk() -> ForeignKey:
    return ForeignKey("kpis.id", ondelete="CASCADE")


kpi_supports = Table(
    "kpi_supports",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("objective_id", String(ID), nullable=False, index=True),
    Column("weight", Float, nullable=False),
)

kpi_contributions = Table(
    "kpi_contributions",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("to_kpi_id", String(ID), nullable=False, index=True),
    Column("weight", Float, nullable=False),
    Column("effect", String(16), nullable=False),
)

kpi_influences = Table(
    "kpi_influences",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("to_kpi_id", String(ID), nullable=False),
)

kpi_unit_targets = Table(
    "kpi_unit_targets",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True),
    Column("unit_id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Column("by_date", Date, nullable=False),
    Column("baseline_period", String(16)),
    Column("baseline_value", Float),
)

# Per-period target overrides; `unit_id` is empty for the KPI's own targets so that it can
# take part in the primary key.
kpi_period_targets = Table(
    "kpi_period_targets",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True),
    Column("unit_id", String(ID), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("value", Float, nullable=False),
)

definition_changes = Table(
    "definition_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch", String(36), nullable=False, index=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("source", Text),
    Column("kind", String(16), nullable=False),
    Column("item_id", String(ID), nullable=False),
    Column("action", String(8), nullable=False),  # add | change | remove
    Column("field", Text),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_definition_changes_item", "kind", "item_id"),
)

# Each write of measurements (a file load, a check-in, an upload): where the values came from
# and when. A stored value names the write that recorded it, so that millions of values loaded
# at once do not each repeat the file's name and the time.
loads = Table(
    "loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# The current value of each KPI, unit and period. The primary key leads with the period's last
# day, so the table is kept in that order (on SQLite a WITHOUT ROWID table is its own index):
# a scorecard reads the rows of its periods as one range, and a load of a new period appends
# at the end. A period's last day follows from its label (the calendar is the organisation's,
# and `apply` moves fiscal periods when it changes), so the key is unique per KPI, unit and
# period; its first day and grain follow from the label and the last day, and are not stored
# (see `store.measurements.with_starts`). Reading one KPI skips along the key from one last
# day to the next (see `store.measurements.of_kpis`). See migration 0005.
measurements = Table(
    "measurements",
    metadata,
    Column("period_end", Date, primary_key=True),
    Column("kpi_id", String(ID), primary_key=True),
    Column("unit_id", String(ID), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("value", Float),
    Column("numerator", Float),
    Column("denominator", Float),
    Column("note", Text),
    Column("revision", Integer, nullable=False, default=1),
    Column("load_id", Integer, ForeignKey("loads.id"), nullable=False),
    sqlite_with_rowid=False,
)

# The values a later write replaced, each with where it came from, when, and when it was
# replaced; keyed by the measurement's KPI, unit and period.
measurement_revisions = Table(
    "measurement_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kpi_id", String(ID), nullable=False),
    Column("unit_id", String(ID), nullable=False),
    Column("period", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("value", Float),
    Column("numerator", Float),
    Column("denominator", Float),
    Column("note", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("source", Text),
    Column("replaced_at", DateTime(timezone=True), nullable=False),
    Index("ix_measurement_revisions_key", "kpi_id", "unit_id", "period"),
)

# Accounts of the web app (migration 0004). Passwords and API tokens are kept only as hashes.
# Their ids are never reused, also on SQLite (AUTOINCREMENT, migration 0006): a user or token
# made after a removal never takes the removed one's id, so nothing that named the old id
# (an audit entry, a script revoking token 7) can come to mean the new one.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(ID), nullable=False, unique=True),
    Column("name", Text),
    Column("person_id", String(ID)),  # the person whose KPIs an owner may enter data for
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

# A role on a unit and its subtree; an empty unit_id is the whole organisation.
user_grants = Table(
    "user_grants",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("unit_id", String(ID)),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

# Logged-in browser sessions (migration 0006). The cookie carries a random secret; only its
# SHA-256 is kept here. Every request looks its session up, so logging out, removing a user or
# changing their roles or password (which delete these rows) ends a session at once in every
# server process.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Index("ix_web_sessions_user", "user_id"),
    sqlite_autoincrement=True,
)

# Failed logins per account name and per client address (each kept as a SHA-256 of what it
# counts: a password typed into the username field must not end up in the store), and until
# when further attempts are refused. Kept in the store so that every server process sees them.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
)

# Every write made through the web app or the account commands: who, when, what, the value
# before and after (JSON text, written once and only read back for display).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", Text, nullable=False),
    Column("before", Text),
    Column("after", Text),
)
