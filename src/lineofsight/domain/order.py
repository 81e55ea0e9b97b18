"""Which items of a list moved when it was put in a new order."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Hashable, Sequence
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


def moved_around(old: Sequence[T], new: Sequence[T], fixed: Callable[[T], bool]) -> list[T] | None:
    """The fewest items not `fixed` that, moved, make `new`'s order of `old` while every fixed
    item stays (`moved` with the fixed items kept in the run that stays), in `new`'s order;
    None when the fixed items' order among themselves changed (moving others cannot explain
    it). Items added or removed move no other item."""
    kept = set(old).intersection(new)
    if moved(
        [i for i in old if i in kept and fixed(i)], [i for i in new if i in kept and fixed(i)]
    ):
        return None

    def places(items: Sequence[T]) -> dict[T, int]:
        """Each free item kept: how many fixed items kept come before it."""
        found: dict[T, int] = {}
        count = 0
        for item in items:
            if item not in kept:
                continue
            if fixed(item):
                count += 1
            else:
                found[item] = count
        return found

    # A free item with other fixed items before it than before has to move; the others keep
    # their order with every fixed item, and the fewest of them move as `moved` finds.
    was, now = places(old), places(new)
    crossed = {item for item in was if was[item] != now[item]}
    rest = set(moved([i for i in was if i not in crossed], [i for i in now if i not in crossed]))
    return [item for item in now if item in crossed or item in rest]
