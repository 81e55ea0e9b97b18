"""What the store's schema has on PostgreSQL only: `jsonb` documents, and the foreign keys
between definitions (with the indexes they need), which BI tools read. SQLite keeps JSON as text
and has no such keys, where they would only slow an apply down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index
from sqlalchemy.dialects.postgresql import JSONB

# JSON documents: `jsonb` on PostgreSQL (queryable and indexable by BI tools), JSON text on SQLite.
# Two stay `json` (text) on PostgreSQL too: a KPI's source settings and the checks' options are
# maps whose order is the user's (export writes them back in it), and `jsonb` sorts keys.
Document = JSON().with_variant(JSONB(), "postgresql")

POSTGRESQL_ONLY = "postgresql"


def postgresql_only(item: Any) -> Any:
    """Create a constraint or index on PostgreSQL only (and tell Alembic's comparison so)."""
    item.info["only_on"] = POSTGRESQL_ONLY
    return item.ddl_if(dialect=POSTGRESQL_ONLY)


def references(column: str, target: str, *, cycle: bool = False) -> ForeignKeyConstraint:
    """A foreign key between definitions, on PostgreSQL, checked when the transaction commits.

    `cycle`: the key closes a loop between two tables (a unit's lead is a person of a unit);
    it is added once both tables exist.
    """
    fk = ForeignKeyConstraint(
        [column], [target], deferrable=True, initially="DEFERRED", use_alter=cycle
    )
    return postgresql_only(fk)  # type: ignore[no-any-return]


def fk_index(name: str, column: str) -> Index:
    """An index on a foreign key's column, so that deleting the row it references is quick."""
    return postgresql_only(Index(name, column))  # type: ignore[no-any-return]


def on_database(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for `dialect`: what the model has on another database only
    is left out of the comparison with a store's schema."""

    def include(item: Any, _name: Any, _type: Any, reflected: bool, _compare_to: Any) -> bool:
        only = None if reflected else getattr(item, "info", {}).get("only_on")
        return only is None or only == dialect

    return include
