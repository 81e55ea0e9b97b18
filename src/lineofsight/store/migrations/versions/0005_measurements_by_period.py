"""Keep measurements in the order of their last day, and each write's source and time once.

- `loads`: one row per write of measurements (its source and time), which each stored value
  names instead of repeating them;
- `measurements`: keyed by (period_end, kpi_id, unit_id, period), a WITHOUT ROWID table on
  SQLite, with no other index: the table itself is the scorecard's index, and a bulk load
  writes one B-tree instead of three. The period's first day and grain, which follow from its
  label and last day, are no longer stored;
- `measurement_revisions`: keyed by the measurement's KPI, unit and period instead of the row
  id that measurements no longer have.

Every stored value and revision is kept. The old tables are renamed, copied from and dropped.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OLD = "_0004"


def _rename(table: str, constraint: str) -> None:
    """Rename `table` out of the way; on PostgreSQL its primary key too (index names are
    global there, and the new table takes the same name)."""
    op.rename_table(table, table + _OLD)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE {table}{_OLD} RENAME CONSTRAINT {constraint} TO {constraint}{_OLD}"
        )


def _same(left: str, right: str) -> str:
    """Null-safe equality, in each database's words."""
    if op.get_bind().dialect.name == "postgresql":
        return f"{left} IS NOT DISTINCT FROM {right}"
    return f"{left} IS {right}"


def upgrade() -> None:
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loads")),
    )
    op.execute(
        "INSERT INTO loads (source, recorded_at) SELECT source, recorded_at FROM measurements "
        "GROUP BY source, recorded_at ORDER BY MIN(id)"
    )
    # Each stored value finds its load by time (a store written by many check-ins has many).
    op.create_index("ix_loads_recorded_at", "loads", ["recorded_at"])
    op.drop_index("ix_measurement_revisions_measurement_id", table_name="measurement_revisions")
    _rename("measurement_revisions", "pk_measurement_revisions")
    op.drop_index("ix_measurements_by_end", table_name="measurements")
    _rename("measurements", "pk_measurements")
    op.create_table(
        "measurements",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["load_id"], ["loads.id"], name=op.f("fk_measurements_load_id_loads")
        ),
        sa.PrimaryKeyConstraint(
            "period_end", "kpi_id", "unit_id", "period", name=op.f("pk_measurements")
        ),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO measurements (period_end, kpi_id, unit_id, period, value, numerator, "
        "denominator, note, revision, load_id) "
        "SELECT m.period_end, m.kpi_id, m.unit_id, m.period, m.value, m.numerator, "
        "m.denominator, m.note, m.revision, l.id "
        f"FROM measurements{_OLD} m JOIN loads l ON {_same('l.source', 'm.source')} "
        "AND l.recorded_at = m.recorded_at ORDER BY m.period_end, m.kpi_id, m.unit_id, m.period"
    )
    op.create_table(
        "measurement_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement_revisions")),
    )
    op.execute(
        "INSERT INTO measurement_revisions (id, kpi_id, unit_id, period, revision, value, "
        "numerator, denominator, note, recorded_at, source, replaced_at) "
        "SELECT r.id, m.kpi_id, m.unit_id, m.period, r.revision, r.value, r.numerator, "
        "r.denominator, r.note, r.recorded_at, r.source, r.replaced_at "
        f"FROM measurement_revisions{_OLD} r JOIN measurements{_OLD} m "
        "ON m.id = r.measurement_id ORDER BY r.id"
    )
    _restart_ids("measurement_revisions")
    op.create_index(
        "ix_measurement_revisions_key", "measurement_revisions", ["kpi_id", "unit_id", "period"]
    )
    op.drop_table("measurement_revisions" + _OLD)
    op.drop_table("measurements" + _OLD)
    op.drop_index("ix_loads_recorded_at", table_name="loads")


def _restart_ids(table: str) -> None:
    """After rows were copied with their ids, PostgreSQL's sequence goes on after the last."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _copy_back_with_starts() -> None:
    """The values into the old layout, each with its period's first day and grain again."""
    from lineofsight.domain.periods import parse_period, start_of

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT m.kpi_id, m.unit_id, m.period, m.period_end, m.value, m.numerator, "
            "m.denominator, m.note, m.revision, l.recorded_at, l.source "
            f"FROM measurements{_OLD} m JOIN loads l ON l.id = m.load_id "
            "ORDER BY m.load_id, m.kpi_id, m.unit_id, m.period"
        )
    ).all()
    names = ["kpi_id", "unit_id", "period", "period_end", "value", "numerator", "denominator"]
    names += ["note", "revision", "recorded_at", "source"]
    old = sa.table("measurements", *(sa.column(name) for name in [*names, "grain", "period_start"]))
    values = []
    for row in rows:
        found = dict(zip(names, row, strict=True))
        end = found["period_end"]
        end = end if not isinstance(end, str) else dt.date.fromisoformat(end)
        found["period_start"] = start_of(found["period"], end)
        found["grain"] = int(parse_period(found["period"]).grain)
        if bind.dialect.name == "sqlite":  # dates as SQLAlchemy keeps them there: ISO text
            found["period_start"] = found["period_start"].isoformat()
            found["period_end"] = end.isoformat()
        values.append(found)
    if values:
        bind.execute(old.insert(), values)


def downgrade() -> None:
    op.drop_index("ix_measurement_revisions_key", table_name="measurement_revisions")
    _rename("measurement_revisions", "pk_measurement_revisions")
    _rename("measurements", "pk_measurements")
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("grain", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
        sa.UniqueConstraint("kpi_id", "unit_id", "period", name="uq_measurements_key"),
    )
    _copy_back_with_starts()
    op.create_index(
        "ix_measurements_by_end",
        "measurements",
        ["period_end", "kpi_id", "unit_id", "period_start", "value", "numerator", "denominator"],
    )
    op.create_table(
        "measurement_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("measurement_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measurement_id"],
            ["measurements.id"],
            name=op.f("fk_measurement_revisions_measurement_id_measurements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement_revisions")),
    )
    op.execute(
        "INSERT INTO measurement_revisions (id, measurement_id, revision, value, numerator, "
        "denominator, note, recorded_at, source, replaced_at) "
        "SELECT r.id, m.id, r.revision, r.value, r.numerator, r.denominator, r.note, "
        "r.recorded_at, r.source, r.replaced_at "
        f"FROM measurement_revisions{_OLD} r JOIN measurements m ON m.kpi_id = r.kpi_id "
        "AND m.unit_id = r.unit_id AND m.period = r.period ORDER BY r.id"
    )
    _restart_ids("measurement_revisions")
    op.create_index(
        "ix_measurement_revisions_measurement_id", "measurement_revisions", ["measurement_id"]
    )
    op.drop_table("measurement_revisions" + _OLD)
    op.drop_table("measurements" + _OLD)
    op.drop_table("loads")
