"""Initial schema: organisation, units, people, objectives, KPIs, links, targets, history
and measurements.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 19:04:16.951512
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "definition_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_changes")),
    )
    with op.batch_alter_table("definition_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_definition_changes_batch"), ["batch"], unique=False)
        batch_op.create_index("ix_definition_changes_item", ["kind", "item_id"], unique=False)

    op.create_table(
        "kpis",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit_of_measure", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("aggregation", sa.String(length=16), nullable=True),
        sa.Column("across_units", sa.String(length=16), nullable=True),
        sa.Column("formula", sa.Text(), nullable=True),
        sa.Column("ratio_numerator", sa.Text(), nullable=True),
        sa.Column("ratio_denominator", sa.Text(), nullable=True),
        sa.Column("ratio_scale", sa.Float(), nullable=True),
        sa.Column("range_low", sa.Float(), nullable=True),
        sa.Column("range_high", sa.Float(), nullable=True),
        sa.Column("baseline_period", sa.String(length=16), nullable=True),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("target_value", sa.Float(), nullable=True),
        sa.Column("target_by", sa.Date(), nullable=True),
        sa.Column("tolerance", sa.Float(), nullable=True),
        sa.Column("tolerance_abs", sa.Float(), nullable=True),
        sa.Column("bounds_min", sa.Float(), nullable=True),
        sa.Column("bounds_max", sa.Float(), nullable=True),
        sa.Column("benchmark_value", sa.Float(), nullable=True),
        sa.Column("benchmark_source", sa.Text(), nullable=True),
        sa.Column("source", sa.JSON(), nullable=True),
        sa.Column("lint", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpis")),
    )
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpis_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kpis_unit_id"), ["unit_id"], unique=False)

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
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.create_index("ix_measurements_kpi_end", ["kpi_id", "period_end"], unique=False)

    op.create_table(
        "objectives",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("perspective", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lint", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objectives")),
    )
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objectives_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objectives_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objectives_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "organization",
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("fiscal_year_start", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.JSON(), nullable=False),
        sa.Column("scoring", sa.JSON(), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_organization")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("lint", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("lead_id", sa.String(length=64), nullable=True),
        sa.Column("function", sa.Text(), nullable=True),
        sa.Column("lint", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "kpi_contributions",
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("to_kpi_id", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("effect", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["kpis.id"],
            name=op.f("fk_kpi_contributions_kpi_id_kpis"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kpi_id", "position", name=op.f("pk_kpi_contributions")),
    )
    with op.batch_alter_table("kpi_contributions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kpi_contributions_to_kpi_id"), ["to_kpi_id"], unique=False
        )

    op.create_table(
        "kpi_influences",
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("to_kpi_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpis.id"], name=op.f("fk_kpi_influences_kpi_id_kpis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("kpi_id", "position", name=op.f("pk_kpi_influences")),
    )
    op.create_table(
        "kpi_period_targets",
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["kpis.id"],
            name=op.f("fk_kpi_period_targets_kpi_id_kpis"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kpi_id", "unit_id", "period", name=op.f("pk_kpi_period_targets")),
    )
    op.create_table(
        "kpi_supports",
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpis.id"], name=op.f("fk_kpi_supports_kpi_id_kpis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("kpi_id", "position", name=op.f("pk_kpi_supports")),
    )
    with op.batch_alter_table("kpi_supports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kpi_supports_objective_id"), ["objective_id"], unique=False
        )

    op.create_table(
        "kpi_unit_targets",
        sa.Column("kpi_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("by_date", sa.Date(), nullable=False),
        sa.Column("baseline_period", sa.String(length=16), nullable=True),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["kpis.id"],
            name=op.f("fk_kpi_unit_targets_kpi_id_kpis"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kpi_id", "unit_id", name=op.f("pk_kpi_unit_targets")),
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
    with op.batch_alter_table("measurement_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measurement_revisions_measurement_id"), ["measurement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("measurement_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurement_revisions_measurement_id"))

    op.drop_table("measurement_revisions")
    op.drop_table("kpi_unit_targets")
    with op.batch_alter_table("kpi_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_supports_objective_id"))

    op.drop_table("kpi_supports")
    op.drop_table("kpi_period_targets")
    op.drop_table("kpi_influences")
    with op.batch_alter_table("kpi_contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_contributions_to_kpi_id"))

    op.drop_table("kpi_contributions")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_parent_id"))

    op.drop_table("units")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_unit_id"))

    op.drop_table("people")
    op.drop_table("organization")
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objectives_unit_id"))
        batch_op.drop_index(batch_op.f("ix_objectives_parent_id"))
        batch_op.drop_index(batch_op.f("ix_objectives_owner_id"))

    op.drop_table("objectives")
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_measurements_kpi_end")

    op.drop_table("measurements")
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpis_unit_id"))
        batch_op.drop_index(batch_op.f("ix_kpis_owner_id"))

    op.drop_table("kpis")
    with op.batch_alter_table("definition_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_definition_changes_item")
        batch_op.drop_index(batch_op.f("ix_definition_changes_batch"))

    op.drop_table("definition_changes")
