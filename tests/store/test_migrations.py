"""The Alembic migrations create exactly the tables the code uses, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lineofsight.store.database import Store
from lineofsight.store.tables import metadata


def test_migrated_schema_matches_tables(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == "0004"
            assert compare_metadata(context, metadata) == []
            assert set(inspect(conn).get_table_names()) >= set(metadata.tables)
    finally:
        store.close()


def test_opening_twice_does_not_migrate_again(db_url: str) -> None:
    Store(db_url).close()
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0004"
    finally:
        store.close()


def test_schema_revision_constant_is_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    from lineofsight.store.database import SCHEMA_REVISION, _alembic_config

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head == SCHEMA_REVISION
