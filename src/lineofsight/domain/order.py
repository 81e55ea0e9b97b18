"""Which items of a list moved when it was put in a new order."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def moved(old: Sequence[T], new: Sequence[T]) -> list[T]:
    """The items of both `old` and `new` whose order among the others changed, in `new`'s
    order: the fewest that, moved, make `new`'s order of `old` (the others stay in the
    longest run already in order). Items added or removed move no other item."""
    where = {item: index for index, item in enumerate(old)}
    kept = [item for item in new if item in where]
    before = [where[item] for item in kept]
    if all(a < b for a, b in itertools.pairwise(before)):
        return []
    # The longest increasing run of old positions (patience sorting): `tails[n]` is the index
    # of the smallest last position of a run of n + 1 items, `back` links each to the one
    # before it in its run.
    tails: list[int] = []
    lasts: list[int] = []  # before[i] for i in tails
    back = [-1] * len(before)
    for index, position in enumerate(before):
        n = bisect.bisect_left(lasts, position)
        if n:
            back[index] = tails[n - 1]
        if n == len(tails):
            tails.append(index)
            lasts.append(position)
        else:
            tails[n], lasts[n] = index, position
    staying: set[int] = set()
    index = tails[-1]
    while index >= 0:
        staying.add(index)
        index = back[index]
    return [item for index, item in enumerate(kept) if index not in staying]
