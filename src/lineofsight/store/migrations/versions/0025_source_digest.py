"""The strategy file last applied is kept with a digest of its bytes as applied, so that its
lines are named only while the file is still what was applied; a change made in the web app
no longer takes the file's place (a store where one did names the file last applied again);
the newest definition change when a file was last applied is kept, so that an apply knows
the changes made in the web app since, which it would undo.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# What the web app wrote in the file's place before this revision: an approved or direct
# edit, a library addition, and a strategy file sent to the API (not a file on this machine).
WEB = ("the web app", "strategy.yaml (web, ")


def upgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.add_column(
            sa.Column(
                "source_digest",
                sa.Text(),
                comment="SHA-256 of the strategy file's bytes as last applied",
            )
        )
        batch.add_column(
            sa.Column(
                "applied_change",
                sa.Integer(),
                comment="definition_changes.id of the newest change when a file was last "
                "applied: the changes after it were made in the web app",
            )
        )
        batch.alter_column(
            "source_file",
            existing_type=sa.Text(),
            existing_nullable=True,
            comment="path of the strategy file last applied (a change made in the web app "
            "keeps it)",
            existing_comment="path of the strategy file last applied",
        )
    conn = op.get_bind()
    # The newest change an apply of a file made (the history's other sources are the web
    # app's): the changes after it were made in the web app.
    files = _file_sources(conn)
    if files:
        newest = conn.execute(
            sa.text("SELECT max(id) FROM definition_changes WHERE source IN :files").bindparams(
                sa.bindparam("files", expanding=True)
            ),
            {"files": sorted(files)},
        ).scalar()
        conn.execute(sa.text("UPDATE organization SET applied_change = :id"), {"id": newest})
    source = conn.execute(sa.text("SELECT source_file FROM organization")).scalar()
    if source is None or not str(source).startswith(WEB):
        return
    # The file last applied is the source of the newest definition change made by an apply
    # of a file; without a digest its lines are named no more until the next apply.
    if not files:
        return
    newest = conn.execute(
        sa.text(
            "SELECT source FROM definition_changes WHERE source IN :files ORDER BY id DESC"
        ).bindparams(sa.bindparam("files", expanding=True)),
        {"files": sorted(files)},
    ).first()
    if newest is not None:
        conn.execute(sa.text("UPDATE organization SET source_file = :file"), {"file": newest[0]})


def _file_sources(conn: sa.Connection) -> set[str]:
    """The sources of the definitions' history that are strategy files applied."""
    rows = conn.execute(
        sa.text("SELECT DISTINCT source FROM definition_changes WHERE source IS NOT NULL")
    ).all()
    return {str(r[0]) for r in rows if not str(r[0]).startswith(WEB)}


def downgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.alter_column(
            "source_file",
            existing_type=sa.Text(),
            existing_nullable=True,
            comment="path of the strategy file last applied",
            existing_comment="path of the strategy file last applied (a change made in the "
            "web app keeps it)",
        )
        batch.drop_column("applied_change")
        batch.drop_column("source_digest")
