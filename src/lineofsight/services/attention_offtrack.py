"""The forecast's off-track items of every list: made and ranked apart from the rest of a
board (the forecast may still be running in a second process meanwhile), then placed into
the lists already cut (`services.attention.attention_lists`).

Everything an off-track item holds but the forecast's numbers is the scorecard's, and so is
its place in the ranking and whose lists hold it: all of that is made before the forecast is
waited for, so that only the items' reasons are left once it is in.
"""

from __future__ import annotations

import bisect
import dataclasses
import operator
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from lineofsight.services import attention_rules as rules
from lineofsight.services.attention import RANKS, AttentionItem, sort_key
from lineofsight.services.attention_scope import Organisation

__all__ = ["Holders", "OffTrackItems", "by_holder", "with_off_track"]


class OffTrackItems:
    """The forecast's off-track items of a board, ranked, when called (it waits for the
    forecast when that is made aside). Everything an item holds but the forecast's numbers is
    the scorecard's, and so is its place in the ranking: both can be made before the forecast
    is in (`prepare`), and the items are then picked in that order."""

    def __init__(
        self, kpis: pl.DataFrame, calls: Callable[[], pl.DataFrame], depth: Mapping[str, int]
    ) -> None:
        self._kpis, self._calls, self._depth = kpis, calls, depth
        self._candidates: dict[str, dict[str, Any]] | None = None
        # Each candidate's id, unit of measure and item's fields (`AttentionItem`'s order),
        # in ranking order.
        self._ranked: list[tuple[str, str | None, tuple[Any, ...]]] = []

    def prepare(self) -> dict[str, dict[str, Any]]:
        """The rows of the KPIs whose off-track call makes an item (`off_track_candidates`),
        and their items' fields in ranking order."""
        if self._candidates is None:
            self._candidates = rules.off_track_candidates(self._kpis)
            # An item's place does not depend on the forecast's numbers (`sort_key`).
            made = []
            for row in self._candidates.values():
                found = rules.off_track_fields(row)
                found["rank"] = _OFF_TRACK
                found["depth"] = self._depth.get(found["unit"], 0)
                made.append(AttentionItem(**found))
            made.sort(key=sort_key)
            self._ranked = [(item.item_id, item.unit_of_measure, _fields(item)) for item in made]
        return self._candidates

    def __call__(self) -> list[AttentionItem]:
        calls = self._calls()
        if self._candidates is None:
            # Not prepared before the calls were in (one list, `attention.inbox`): only the
            # KPIs called off track make items, each made once, with its reason, then ranked.
            called = self._kpis.join(calls.select("id"), on="id", how="semi")
            depth = self._depth
            made = [
                AttentionItem(rank=_OFF_TRACK, depth=depth.get(found["unit"], 0), **found)
                for found in rules.off_track_items(called, calls)
            ]
            made.sort(key=sort_key)
            return made
        self.prepare()
        # id -> (projected, final_target, target_period, deadline, probability)
        by_id = {call[0]: call[1:] for call in calls.select(_CALL).iter_rows()}
        items = []
        for kpi, uom, fields in self._ranked:
            call = by_id.get(kpi)
            if call is not None:
                projected, final, period, deadline, chance = call
                reason = rules.off_track_reason(uom, projected, period, final, chance)
                args = (
                    *fields[:_REASON],
                    reason,
                    *fields[_REASON + 1 : _DUE],
                    deadline,
                    *fields[_DUE + 1 :],
                )
                items.append(AttentionItem(*args))
        return items


_CALL = ("id", "projected", "final_target", "target_period", "deadline", "probability")
_NAMES = [f.name for f in dataclasses.fields(AttentionItem)]
_REASON, _DUE = _NAMES.index("reason"), _NAMES.index("due")


# An item's fields in `AttentionItem`'s order (its positional arguments).
_fields = operator.attrgetter(*_NAMES)


class Holders:
    """Whose lists hold an item, as `AttentionBoard.for_person` cuts them: its owner, and the
    leads of its unit or of the owner's unit or of a unit above either. Walks up from an item
    instead of down from each lead: cheaper when the items are a part of the board."""

    def __init__(self, org: Organisation) -> None:
        self._parent = {child: unit for unit, kids in org.children.items() for child in kids}
        self._lead_of: dict[str, list[str]] = {}
        for person, units in org.leads.items():
            for unit in units:
                self._lead_of.setdefault(unit, []).append(person)
        self._home = {person: unit for unit, people in org.people_in.items() for person in people}
        self._above: dict[str, set[str]] = {}
        self._found: dict[tuple[str, str | None], tuple[str, ...]] = {}

    def of(self, unit: str, owner: str | None) -> tuple[str, ...]:
        """The people whose lists hold an item of `unit` owned by `owner`."""
        key = (unit, owner)
        found = self._found.get(key)
        if found is None:
            holders = set(self._leads_above(unit))
            if owner is not None:
                holders.add(owner)
                if owner in self._home:
                    holders |= self._leads_above(self._home[owner])
            found = self._found[key] = tuple(holders)
        return found

    def _leads_above(self, unit: str) -> set[str]:
        found = self._above.get(unit)
        if found is None:
            found = set()
            seen: set[str] = set()
            current: str | None = unit
            while current is not None and current not in seen:  # a cycle ends the walk
                seen.add(current)
                found.update(self._lead_of.get(current, ()))
                current = self._parent.get(current)
            self._above[unit] = found
        return found


def by_holder(
    holders: Holders,
    items: list[AttentionItem],
    known: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, list[AttentionItem]]:
    """Whose lists hold each of these (few) items (`Holders`), each person's in the items'
    order; `known`: the holders of items by id, found before (e.g. while the forecast is
    made)."""
    known = {} if known is None else known
    held: dict[str, list[AttentionItem]] = {}
    for item in items:
        found = known.get(item.item_id)
        if found is None:
            found = holders.of(item.unit, item.owner)
        for person in found:
            held.setdefault(person, []).append(item)
    return held


_OFF_TRACK = RANKS["off_track"]


def with_off_track(items: list[AttentionItem], off: list[AttentionItem]) -> list[AttentionItem]:
    """A ranked list with the (ranked) off-track items placed after the kinds ranked before
    theirs."""
    at = bisect.bisect_right(items, _OFF_TRACK, key=_rank)
    return [*items[:at], *off, *items[at:]]


def _rank(item: AttentionItem) -> int:
    return item.rank
