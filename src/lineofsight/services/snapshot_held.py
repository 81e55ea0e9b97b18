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
# as a kept scorecard is) and the store's activity count (`read_activity`), both read before
# them: a process that keeps its store (`los serve`, whose refreshes each bring every KPI's
# new period and so score in full) reads them again only after an apply, an edit or another
# write the count counts. The count is in the key beside the definition change so that any
# write it counts reads them again, whether or not it recorded a definition change (a new
# order of KPIs does record one: the position of each KPI moved).
_HELD: weakref.WeakKeyDictionary[Store, tuple[tuple[int, int], DefinitionFrames, Labels]] = (
    weakref.WeakKeyDictionary()
)
_HELD_LOCK = threading.Lock()


def held_definitions(
    store: Store, marks: tuple[int, int]
) -> tuple[DefinitionFrames, Labels] | None:
    """The definitions and labels held for `store` at `marks` (its newest definition change
    and its activity count)."""
    with _HELD_LOCK:
        found = _HELD.get(store)
    if found is None or found[0] != marks:
        return None
    return found[1], found[2]


def hold_definitions(
    store: Store, marks: tuple[int, int], defs: DefinitionFrames, labels: Labels
) -> None:
    """Hold `defs` and `labels`, read after `marks` (the newest definition change and the
    activity count) were, for `store`."""
    with _HELD_LOCK:
        _HELD[store] = (marks, defs, labels)
