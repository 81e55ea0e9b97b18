"""The definitions and labels a process scored a scorecard in full with last, held for its
next full score of the same store (see `services.snapshots`)."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from lineofsight.store.database import Store

if TYPE_CHECKING:
    from lineofsight.engine.frames import DefinitionFrames
    from lineofsight.store.labels import Labels

# The definitions and labels the last scorecard computed in full was scored with, by the
# Store object it read them from, with the definition change they are of (`Marks.definitions`,
# as a kept scorecard is): a process that keeps its store (`los serve`, whose refreshes each
# bring every KPI's new period and so score in full) reads them again only after an apply or
# an edit. Only what the store held when that change was the newest is used, as for a kept
# scorecard's own definitions.
_HELD: weakref.WeakKeyDictionary[Store, tuple[int, DefinitionFrames, Labels]] = (
    weakref.WeakKeyDictionary()
)
_HELD_LOCK = threading.Lock()


def held_definitions(store: Store, definitions: int) -> tuple[DefinitionFrames, Labels] | None:
    """The definitions and labels held for `store` at the definition change `definitions`."""
    with _HELD_LOCK:
        found = _HELD.get(store)
    if found is None or found[0] != definitions:
        return None
    return found[1], found[2]


def hold_definitions(
    store: Store, definitions: int, defs: DefinitionFrames, labels: Labels
) -> None:
    """Hold `defs` and `labels`, read when `definitions` was the newest change, for `store`."""
    with _HELD_LOCK:
        _HELD[store] = (definitions, defs, labels)
