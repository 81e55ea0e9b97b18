"""The store's tables (SQLAlchemy Core). Alembic migrations in `migrations/` create them.

A strategy file is validated as a whole before it is written, so the references between
definitions always hold. On PostgreSQL they are also foreign keys (migration 0007), for the
tools that read the store directly: deferred to the end of the transaction, because an apply
deletes and rewrites the items that changed. SQLite stays without them, where they would only
slow an apply down. Measurements have no foreign key to their KPI or unit on either database:
they outlive the KPI they belong to (removing a KPI from the file must not lose what users
entered; re-adding it brings them back). Nor do owners, which an alignment check reports
instead of the file's validation, or accounts' people and units, which outlive a removal from
the file. Rows that only make sense with their KPI (its links and targets) cascade with it.

Every table and column carries a comment; PostgreSQL keeps them (`COMMENT ON`), so that a BI
tool shows what each one holds.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    false,
)

# The accounts' tables live in their own module, on the same metadata: `tables.users` etc.
from lineofsight.store.account_tables import api_tokens as api_tokens
from lineofsight.store.account_tables import audit_log as audit_log
from lineofsight.store.account_tables import login_failures as login_failures
from lineofsight.store.account_tables import user_grants as user_grants
from lineofsight.store.account_tables import users as users
from lineofsight.store.account_tables import web_sessions as web_sessions

# The actions' and commentary's tables, likewise (migration 0015).
from lineofsight.store.action_tables import action_milestones as action_milestones
from lineofsight.store.action_tables import actions as actions
from lineofsight.store.action_tables import commentary as commentary
from lineofsight.store.dialects import Document, fk_index, references

# The browser's strategy edits waiting for approval, likewise in their own module.
from lineofsight.store.edit_tables import edit_settings as edit_settings
from lineofsight.store.edit_tables import pending_changes as pending_changes

# The scheduler's table of jobs, likewise in its own module.
from lineofsight.store.job_tables import scheduled_jobs as scheduled_jobs
from lineofsight.store.metadata import ID
from lineofsight.store.metadata import NAMING as NAMING
from lineofsight.store.metadata import metadata as metadata
from lineofsight.store.notification_tables import notification_outbox as notification_outbox
from lineofsight.store.notification_tables import (
    notification_preferences as notification_preferences,
)
from lineofsight.store.notification_tables import (
    notification_settings as notification_settings,
)
from lineofsight.store.review_tables import review_actions as review_actions
from lineofsight.store.review_tables import review_cadences as review_cadences
from lineofsight.store.review_tables import reviews as reviews

# The counter that writes of actions, commentary and reviews bump (the store's revision).
from lineofsight.store.revision_tables import store_activity as store_activity
from lineofsight.store.source_tables import source_marks as source_marks
from lineofsight.store.source_tables import source_runs as source_runs
from lineofsight.store.source_tables import source_writes as source_writes

POSITION = "order of the item in the strategy file (0 first)"
SOURCE_LINE = "line of the strategy file where the item is written"
LINT = 'alignment checks silenced for this item: {"ignore": [rule codes]}'

organization = Table(
    "organization",
    metadata,
    Column("key", Integer, primary_key=True, comment="always 1: one organisation per store"),
    Column("name", Text, nullable=False, comment="name of the organisation"),
    Column(
        "fiscal_year_start",
        Integer,
        nullable=False,
        default=1,
        comment="month the fiscal year starts (1 = January)",
    ),
    Column(
        "due_days",
        Integer,
        nullable=False,
        default=30,
        server_default="30",
        comment="days after a period ends by which its value is due (reporting lag)",
    ),
    Column(
        "strategy",
        Document,
        nullable=False,
        comment="mission, vision, values, methods and obstacles, as written in the file",
    ),
    Column(
        "scoring",
        Document,
        comment="scoring settings: green_at, amber_at (score thresholds of the statuses)",
    ),
    Column("checks", JSON, comment="alignment check settings: select, ignore, options"),
    Column(
        "source_file",
        Text,
        comment="path of the strategy file last applied (a change made in the web app keeps it)",
    ),
    Column("source_digest", Text, comment="SHA-256 of the strategy file's bytes as last applied"),
    Column(
        "applied_change",
        Integer,
        comment="definition_changes.id of the newest change when a file was last applied: "
        "the changes after it were made in the web app",
    ),
    Column(
        "sources",
        JSON,
        comment="the named data sources, as written (secrets as env:NAME references)",
    ),
    comment="The organisation the store describes, and its strategy statement (one row).",
)

units = Table(
    "units",
    metadata,
    Column("id", String(ID), primary_key=True, comment="id of the unit"),
    Column("position", Integer, nullable=False, comment=POSITION),
    Column("source_line", Integer, comment=SOURCE_LINE),
    Column("name", Text, nullable=False, comment="name of the unit"),
    Column(
        "level",
        String(16),
        nullable=False,
        comment="company, business_unit, department or team",
    ),
    Column(
        "parent_id", String(ID), index=True, comment="units.id of the unit above (none at the top)"
    ),
    Column("lead_id", String(ID), comment="people.id of the unit's lead"),
    Column("function", Text, comment="business function (finance, sales, hr, ...)"),
    Column("lint", Document, comment=LINT),
    references("parent_id", "units.id"),
    references("lead_id", "people.id", cycle=True),
    fk_index("ix_units_lead_id", "lead_id"),
    comment="Units of the organisation, a tree through parent_id.",
)

people = Table(
    "people",
    metadata,
    Column("id", String(ID), primary_key=True, comment="id of the person"),
    Column("position", Integer, nullable=False, comment=POSITION),
    Column("source_line", Integer, comment=SOURCE_LINE),
    Column("name", Text, nullable=False, comment="name of the person"),
    Column(
        "unit_id", String(ID), nullable=False, index=True, comment="units.id the person works in"
    ),
    Column("title", Text, comment="job title"),
    Column("email", Text, comment="e-mail address"),
    Column("lint", Document, comment=LINT),
    references("unit_id", "units.id"),
    comment="People who lead units and own objectives and KPIs.",
)

objectives = Table(
    "objectives",
    metadata,
    Column("id", String(ID), primary_key=True, comment="id of the objective"),
    Column("position", Integer, nullable=False, comment=POSITION),
    Column("source_line", Integer, comment=SOURCE_LINE),
    Column("title", Text, nullable=False, comment="what the objective is"),
    Column("level", String(16), nullable=False, comment="strategic, tactical or operational"),
    Column("unit_id", String(ID), nullable=False, index=True, comment="units.id that pursues it"),
    Column(
        "owner_id",
        String(ID),
        index=True,
        comment="people.id of the owner (may name no known person: check OW01 reports it)",
    ),
    Column("parent_id", String(ID), index=True, comment="objectives.id of the objective above"),
    Column("weight", Float, nullable=False, default=1.0, comment="weight in its parent's score"),
    Column(
        "perspective",
        String(16),
        comment="balanced-scorecard perspective: financial, customer, internal, learning",
    ),
    Column("description", Text, comment="longer description"),
    Column("start_date", Date, comment="when work on it starts"),
    Column("deadline", Date, comment="when it is due"),
    Column(
        "status",
        String(16),
        nullable=False,
        default="active",
        comment="active or closed",
    ),
    Column("lint", Document, comment=LINT),
    references("unit_id", "units.id"),
    references("parent_id", "objectives.id"),
    comment="Objectives of the strategy, a tree through parent_id.",
)

kpis = Table(
    "kpis",
    metadata,
    Column("id", String(ID), primary_key=True, comment="id of the KPI"),
    Column("position", Integer, nullable=False, comment=POSITION),
    Column("source_line", Integer, comment=SOURCE_LINE),
    Column("name", Text, nullable=False, comment="name of the KPI"),
    Column("description", Text, comment="what the KPI measures"),
    Column("unit_of_measure", Text, comment="unit of its values (%, EUR, days, ...)"),
    Column("level", String(16), comment="strategic, tactical or operational"),
    Column("type", String(16), comment="leading or lagging"),
    Column(
        "unit_id", String(ID), nullable=False, index=True, comment="units.id the KPI belongs to"
    ),
    Column(
        "owner_id",
        String(ID),
        index=True,
        comment="people.id of the owner (may name no known person: check OW01 reports it)",
    ),
    Column(
        "frequency",
        String(16),
        nullable=False,
        comment="how often it is measured: daily, weekly, monthly, quarterly or yearly",
    ),
    Column(
        "direction",
        String(16),
        nullable=False,
        comment="which way is better: increase, decrease or range",
    ),
    Column(
        "aggregation",
        String(16),
        comment="how a longer period adds up its values: sum, mean, last, min or max",
    ),
    Column("across_units", String(16), comment="how units add up: sum, mean, min, max or none"),
    Column("formula", Text, comment="formula over other KPIs' ids, for a computed KPI"),
    Column("ratio_numerator", Text, comment="what the numerator counts, for a ratio KPI"),
    Column("ratio_denominator", Text, comment="what the denominator counts, for a ratio KPI"),
    Column("ratio_scale", Float, comment="the ratio's multiplier (100 for a percentage)"),
    Column("range_low", Float, comment="low end of the good range (direction range)"),
    Column("range_high", Float, comment="high end of the good range (direction range)"),
    Column("baseline_period", String(16), comment="period of the baseline value"),
    Column("baseline_value", Float, comment="value the target is measured from"),
    Column("target_value", Float, comment="final target"),
    Column("target_by", Date, comment="date the final target is due"),
    Column("tolerance", Float, comment="tolerance on the target, relative (0.10 = 10%)"),
    Column("tolerance_abs", Float, comment="tolerance on the target, in the KPI's unit"),
    Column("bounds_min", Float, comment="lowest value a measurement may take"),
    Column("bounds_max", Float, comment="highest value a measurement may take"),
    Column("benchmark_value", Float, comment="an external benchmark"),
    Column("benchmark_source", Text, comment="where the benchmark comes from"),
    Column(
        "source",
        JSON,
        comment='where its data comes from: {"kind": manual, csv or sql, and settings}',
    ),
    Column("lint", Document, comment=LINT),
    Column(
        "due_days",
        Integer,
        comment="days after a period ends by which its value is due; null: the calendar's",
    ),
    references("unit_id", "units.id"),
    comment="KPIs: what is measured, by whom, which way is better, and the final target.",
)


def _kpi_fk() -> ForeignKey:
    return ForeignKey("kpis.id", ondelete="CASCADE")


KPI_OF_LINK = "kpis.id of the KPI"
LINK_POSITION = "order of the link under the KPI"

kpi_supports = Table(
    "kpi_supports",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True, comment=KPI_OF_LINK),
    Column("position", Integer, primary_key=True, comment=LINK_POSITION),
    Column(
        "objective_id",
        String(ID),
        nullable=False,
        index=True,
        comment="objectives.id the KPI supports",
    ),
    Column("weight", Float, nullable=False, comment="weight of the KPI in the objective's score"),
    references("objective_id", "objectives.id"),
    comment="Which objectives each KPI measures, with its weight.",
)

kpi_contributions = Table(
    "kpi_contributions",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True, comment=KPI_OF_LINK),
    Column("position", Integer, primary_key=True, comment=LINK_POSITION),
    Column(
        "to_kpi_id",
        String(ID),
        nullable=False,
        index=True,
        comment="kpis.id of the KPI above it drives",
    ),
    Column("weight", Float, nullable=False, comment="weight in the KPI above's roll-up"),
    Column("effect", String(16), nullable=False, comment="positive or negative"),
    references("to_kpi_id", "kpis.id"),
    comment="The KPI cascade: which KPI each KPI contributes to.",
)

kpi_influences = Table(
    "kpi_influences",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True, comment=KPI_OF_LINK),
    Column("position", Integer, primary_key=True, comment=LINK_POSITION),
    Column("to_kpi_id", String(ID), nullable=False, comment="kpis.id of a KPI it influences"),
    references("to_kpi_id", "kpis.id"),
    fk_index("ix_kpi_influences_to_kpi_id", "to_kpi_id"),
    comment="Influences between KPIs that are not part of the roll-up.",
)

kpi_unit_targets = Table(
    "kpi_unit_targets",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True, comment=KPI_OF_LINK),
    Column("unit_id", String(ID), primary_key=True, comment="units.id the target is for"),
    Column("position", Integer, nullable=False, comment=LINK_POSITION),
    Column("value", Float, nullable=False, comment="the unit's final target"),
    Column("by_date", Date, nullable=False, comment="date it is due"),
    Column("baseline_period", String(16), comment="period of the unit's baseline"),
    Column("baseline_value", Float, comment="the unit's baseline value"),
    references("unit_id", "units.id"),
    fk_index("ix_kpi_unit_targets_unit_id", "unit_id"),
    comment="A KPI's final target for one unit, where it differs by unit.",
)

# Per-period target overrides; `unit_id` is empty for the KPI's own targets so that it can
# take part in the primary key (and so it has no foreign key).
kpi_period_targets = Table(
    "kpi_period_targets",
    metadata,
    Column("kpi_id", String(ID), _kpi_fk(), primary_key=True, comment=KPI_OF_LINK),
    Column(
        "unit_id",
        String(ID),
        primary_key=True,
        comment="units.id the target is for; empty for the KPI's own target",
    ),
    Column("period", String(16), primary_key=True, comment="period label: 2026-03, 2026-Q1, ..."),
    Column("position", Integer, nullable=False, comment=LINK_POSITION),
    Column("value", Float, nullable=False, comment="target for that period"),
    comment="Targets for single periods (the path to the final target).",
)

definition_changes = Table(
    "definition_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="order of the change"),
    Column("batch", String(36), nullable=False, index=True, comment="the apply it was part of"),
    Column("changed_at", DateTime(timezone=True), nullable=False, comment="when"),
    Column("actor", Text, nullable=False, comment="who applied it"),
    Column("source", Text, comment="the strategy file applied"),
    Column("kind", String(16), nullable=False, comment="unit, person, objective, kpi, ..."),
    Column("item_id", String(ID), nullable=False, comment="id of the item changed"),
    Column("action", String(8), nullable=False, comment="add, change or remove"),
    Column("field", Text, comment="field changed (none for add and remove)"),
    Column("before", Document, comment="value before the change"),
    Column("after", Document, comment="value after the change"),
    Index("ix_definition_changes_item", "kind", "item_id"),
    comment="History of the definitions: every field each apply changed (`los history`).",
)

# Each write of measurements (a file load, a check-in, an upload): where the values came from
# and when. A stored value names the write that recorded it, so that millions of values loaded
# at once do not each repeat the file's name and the time.
loads = Table(
    "loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="id of the write"),
    Column("source", Text, comment="file loaded, or the check-in or upload"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, comment="when"),
    comment="Each write of measurements (a load, a check-in, an upload): source and time.",
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
    Column("period_end", Date, primary_key=True, comment="last day of the period"),
    Column(
        "kpi_id",
        String(ID),
        primary_key=True,
        comment="kpis.id (no foreign key: values outlive a KPI removed from the file)",
    ),
    Column("unit_id", String(ID), primary_key=True, comment="units.id the value is for"),
    Column("period", String(16), primary_key=True, comment="period label: 2026-03, 2026-Q1, ..."),
    Column("value", Float, comment="the value (a ratio KPI's: numerator / denominator x scale)"),
    Column("numerator", Float, comment="a ratio KPI's numerator"),
    Column("denominator", Float, comment="a ratio KPI's denominator"),
    Column("note", Text, comment="commentary entered with the value"),
    Column(
        "revision",
        Integer,
        nullable=False,
        default=1,
        comment="1 for the first value; one more for each replacement",
    ),
    Column(
        "load_id",
        Integer,
        ForeignKey("loads.id"),
        nullable=False,
        comment="loads.id of the write that recorded it",
    ),
    # The KPIs a write touched, by the write's id: what a scorecard snapshot must score again.
    Index("ix_measurements_load_id", "load_id", "kpi_id"),
    sqlite_with_rowid=False,
    comment="Current value of each KPI, unit and period.",
)

# The last scorecard computed for each as-of date and mode (migration 0009), with what it
# covers: the definitions (definition_changes.id), the writes of values (loads.id) and the
# values replaced or deleted (measurement_revisions.id). `los status` scores again only the KPIs
# written since (see `store.scorecards`).
scorecard_snapshots = Table(
    "scorecard_snapshots",
    metadata,
    Column("as_of", Date, primary_key=True, comment="the as-of date scored"),
    Column("lag", Boolean, primary_key=True, comment="with reporting lag (false: a period report)"),
    Column("definitions", Integer, nullable=False, comment="definition_changes.id covered"),
    Column("load_id", Integer, nullable=False, comment="loads.id covered"),
    Column("revision_id", Integer, nullable=False, comment="measurement_revisions.id covered"),
    Column("payload", LargeBinary, nullable=False, comment="the frames, Arrow IPC"),
    Column("saved_at", DateTime(timezone=True), nullable=False, comment="when"),
    # Migration 0018: a write keeps the next date where most rows move ready (services.
    # snapshot_ahead); the date a status asked for last is the newest not made ahead.
    Column(
        "ahead",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="made by a write for a date no status asked for yet",
    ),
    comment="The last scorecard computed per as-of date and mode, and what it covers.",
)

# The rows of a kept scorecard that changed since it was saved in full (migration 0011): a
# check-in writes these few rows, not the whole scorecard. A patch belongs to the snapshot of
# its key whose marks it names; a snapshot saved in full deletes it.
scorecard_patches = Table(
    "scorecard_patches",
    metadata,
    Column("as_of", Date, primary_key=True, comment="the as-of date scored"),
    Column("lag", Boolean, primary_key=True, comment="with reporting lag (false: a period report)"),
    Column(
        "base_load_id",
        Integer,
        nullable=False,
        comment="scorecard_snapshots.load_id of the scorecard patched",
    ),
    Column(
        "base_revision_id",
        Integer,
        nullable=False,
        comment="scorecard_snapshots.revision_id of the scorecard patched",
    ),
    Column("load_id", Integer, nullable=False, comment="loads.id covered"),
    Column("revision_id", Integer, nullable=False, comment="measurement_revisions.id covered"),
    Column("payload", LargeBinary, nullable=False, comment="the rows, Arrow IPC"),
    comment="The rows of a kept scorecard written since it was saved in full.",
)

# The definitions and labels of the last scorecard computed in full (migration 0023), as its
# frames (`services.snapshot_card.definitions_layout`), keyed on the definition change and
# the store's activity count read before them: a scorecard computed in full of a date nothing
# is kept for decodes them instead of reading the definition tables again.
kept_definitions = Table(
    "kept_definitions",
    metadata,
    Column("key", Integer, primary_key=True, comment="always 1: one row per store"),
    Column("definitions", Integer, nullable=False, comment="definition_changes.id covered"),
    Column("activity", BigInteger, nullable=False, comment="store_activity.activity covered"),
    Column("payload", LargeBinary, nullable=False, comment="the frames, Arrow IPC"),
    comment="The definitions and labels a scorecard was last computed in full with.",
)

# The values a later write replaced, each with where it came from, when, and when it was
# replaced; keyed by the measurement's KPI, unit and period.
measurement_revisions = Table(
    "measurement_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="order of the revision"),
    Column("kpi_id", String(ID), nullable=False, comment="kpis.id of the measurement"),
    Column("unit_id", String(ID), nullable=False, comment="units.id of the measurement"),
    Column("period", String(16), nullable=False, comment="period label of the measurement"),
    Column("revision", Integer, nullable=False, comment="the measurement's revision it was"),
    Column("value", Float, comment="the value replaced"),
    Column("numerator", Float, comment="its numerator"),
    Column("denominator", Float, comment="its denominator"),
    Column("note", Text, comment="its commentary"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, comment="when it was written"),
    Column("source", Text, comment="where it came from"),
    Column("replaced_at", DateTime(timezone=True), nullable=False, comment="when it was replaced"),
    Index("ix_measurement_revisions_key", "kpi_id", "unit_id", "period"),
    comment="Earlier values of measurements that a later write replaced.",
)

# `los check` on the store remembers its last reports: one per command line (rules, options,
# as-of date), valid while the store is as it was when the report was made.
check_results = Table(
    "check_results",
    metadata,
    Column(
        "key",
        String(64),
        primary_key=True,
        comment="SHA-256 of the release, the as-of date and the rules and options asked for;"
        " 'definitions' for the row every write of the definitions replaces",
    ),
    Column(
        "state",
        Text,
        nullable=False,
        comment="the store as the report saw it (its revision and the definitions' row)",
    ),
    Column("report", Text, nullable=False, comment="the findings and rules run, as JSON text"),
    comment="Reports of `los check` on the store, reused while nothing they read has changed.",
)

# The whole organisation's forecast kept for the attention lists (`check_results`, an
# incremental report) keeps each KPI's forecast at its own unit here too, for its page: valid
# while that report's state is the store's (written in the same transactions).
kept_forecasts = Table(
    "kept_forecasts",
    metadata,
    Column("kpi_id", String(ID), primary_key=True, comment="kpis.id forecast"),
    Column("unit_id", String(ID), primary_key=True, comment="units.id it is forecast at"),
    Column("as_of", Date, nullable=False, comment="the as-of date of the forecast"),
    Column("target", Float, comment="the final target (a range's midpoint)"),
    Column("deadline", Date, nullable=False, comment="the target's date"),
    Column("points", Integer, nullable=False, comment="values in the series"),
    Column("method", String(32), nullable=False, comment="the method, or no_forecast"),
    Column("models", String(64), comment="the models of a seasonal projection"),
    Column("on_track", Boolean, comment="whether the projection meets the target"),
    Column("probability", Float, comment="the chance of meeting the target"),
    Column("clamped", Boolean, nullable=False, comment="the projection was held at a bound"),
    Column("first_period", String(16), comment="period label of the series' first value"),
    Column("last_period", String(16), comment="period label of the series' last value"),
    Column("reason", Text, comment="why there is no forecast"),
    Column("path", Text, comment="the path's values, lows and highs: float64, base64"),
    comment="Each KPI's forecast of the kept whole-organisation forecast, for its page.",
)
