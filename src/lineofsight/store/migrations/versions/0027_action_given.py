"""Each action keeps when its owner was given it in the web app or the API, by which user and
that user's person, so that a person is told of an action given to them (on its creation or
when it is passed on to them) and nobody is told of one they gave themselves.

An action entered before this revision counts as given when it was entered, by the user who
entered it and the person that user is now (one declared by the strategy file was given by
nobody).

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(
            sa.Column(
                "given_at",
                sa.DateTime(timezone=True),
                comment="when its owner was given it in the web app or the API (none: by the "
                "strategy file, or no owner)",
            )
        )
        batch.add_column(sa.Column("given_by", sa.Text(), comment="the user who gave it"))
        batch.add_column(
            sa.Column(
                "given_by_person",
                sa.String(length=64),
                comment="people.id of the user who gave it, as linked then",
            )
        )
    op.execute(
        "UPDATE actions SET given_at = created_at, given_by = created_by,"
        " given_by_person = (SELECT person_id FROM users WHERE users.username = actions.created_by)"
        " WHERE owner IS NOT NULL AND NOT declared"
    )

    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no comments
        op.alter_column(
            "notification_outbox",
            "state",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATE,
            existing_comment=OLD_STATE,
        )


OLD_STATE = "pending, sending, sent, retry or failed; sending past its lease: may have been sent"
STATE = (
    "pending, sending, sent, retry, failed or withdrawn (no longer true before it was sent); "
    "sending past its lease: may have been sent"
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "notification_outbox",
            "state",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=OLD_STATE,
            existing_comment=STATE,
        )
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("given_by_person")
        batch.drop_column("given_by")
        batch.drop_column("given_at")
