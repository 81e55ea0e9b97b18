"""Review cadences in the store: written by `los apply` from the file's `reviews:` section,
read back by `los export`, the briefing books and the scheduler."""

from __future__ import annotations

from collections.abc import Sequence

from lineofsight.domain.reviews import ReviewCadence
from lineofsight.spec.dump import review_to_plain
from lineofsight.store import reviews as stored
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.definitions import ChangeRecord


def read_cadences(conn: StoreConnection) -> tuple[ReviewCadence, ...]:
    return stored.read_cadences(conn)


def cadences(store: Store) -> tuple[ReviewCadence, ...]:
    """Every unit's review cadence as the last apply wrote them."""
    with store.reading() as conn:
        return stored.read_cadences(conn)


def cadences_change(
    conn: StoreConnection, cadences: Sequence[ReviewCadence]
) -> ChangeRecord | None:
    """The history line of applying these cadences, or None when they are the stored ones."""
    before = stored.read_cadences(conn)
    if tuple(cadences) == before:
        return None
    return ChangeRecord(
        "organization",
        "organization",
        "change",
        "reviews",
        [review_to_plain(c) for c in before] or None,
        [review_to_plain(c) for c in cadences] or None,
    )


def save_cadences(conn: StoreConnection, cadences: Sequence[ReviewCadence]) -> None:
    """Write the file's cadences in the apply's transaction."""
    stored.save_cadences(conn, cadences)
