"""Whose items an attention list holds: the unit tree, who leads and who works where
(`Organisation`, made from the store's frames), and the cut of a list (`Scope`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.graph import children_of, reachable_in
from lineofsight.store.attention_reads import Responsibilities

__all__ = ["EVERYTHING", "Organisation", "Scope"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which items a list holds: those of `units` or owned by `owners` (`units` None: all),
    and of those, only the ones in `within` (None: no cut)."""

    units: frozenset[str] | None
    owners: frozenset[str] = frozenset()
    within: frozenset[str] | None = None

    def mask(self, unit: str = "unit", owner: str = "owner_id") -> pl.Expr:
        keep = pl.lit(True)
        if self.units is not None:
            keep = pl.col(unit).is_in(list(self.units)) | pl.col(owner).is_in(list(self.owners))
        if self.within is not None:
            keep = keep & pl.col(unit).is_in(list(self.within))
        return keep

    def holds(self, unit: str, owner: str | None) -> bool:
        inside = self.units is None or unit in self.units or owner in self.owners
        return inside and (self.within is None or unit in self.within)


EVERYTHING = Scope(None)


@dataclass
class Organisation:
    """The unit tree and who works and leads where, to tell whose items are whose."""

    children: dict[str, list[str]]
    depth: dict[str, int]
    leads: dict[str, list[str]]  # person -> the units they lead
    people_in: dict[str, list[str]]  # unit -> the people who work there
    people: dict[str, str]  # person -> name
    units: dict[str, str]  # unit -> name

    @classmethod
    def of(cls, resp: Responsibilities) -> Organisation:
        """The organisation of the store's frames (`read_responsibilities`)."""
        return cls.made(
            resp.units.select("id", "name", "parent_id", "lead_id").iter_rows(),
            resp.people.select("id", "name", "unit_id").iter_rows(),
        )

    @classmethod
    def of_model(cls, org: m.Organization) -> Organisation:
        """The organisation of a strategy's model (what the web pages hold)."""
        return cls.made(
            ((u.id, u.name, u.parent, u.lead) for u in org.units),
            ((p.id, p.name, p.unit) for p in org.people),
        )

    @classmethod
    def made(
        cls,
        units: Iterable[tuple[str, str, str | None, str | None]],
        people: Iterable[tuple[str, str, str]],
    ) -> Organisation:
        """The organisation of its units (id, name, parent, lead) and people (id, name, unit)."""
        unit_rows = list(units)
        parents = {unit: parent for unit, _, parent, _ in unit_rows}
        depth: dict[str, int] = {}
        for unit in parents:
            chain: list[str] = []
            current: str | None = unit
            while current is not None and current not in depth and len(chain) <= len(parents):
                chain.append(current)
                current = parents.get(current)
            base = depth.get(current, -1) if current is not None else -1
            for offset, name in enumerate(reversed(chain), start=1):
                depth[name] = base + offset
        leads: dict[str, list[str]] = {}
        for unit, _, _, lead in unit_rows:
            if lead is not None:
                leads.setdefault(lead, []).append(unit)
        people_in: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for person, name, unit in people:
            people_in.setdefault(unit, []).append(person)
            names[person] = name
        return cls(
            children=children_of((unit, parent) for unit, _, parent, _ in unit_rows),
            depth=depth,
            leads=leads,
            people_in=people_in,
            people=names,
            units={unit: name for unit, name, _, _ in unit_rows},
        )

    def subtree(self, unit: str) -> set[str]:
        return reachable_in([unit], self.children)

    def led_units(self, person: str) -> set[str]:
        """Every unit in the subtrees of the units the person leads."""
        found: set[str] = set()
        for unit in self.leads.get(person, ()):
            if unit not in found:
                found |= self.subtree(unit)
        return found

    def unit_scope(self, units: Collection[str]) -> Scope:
        owners = {p for u in units for p in self.people_in.get(u, ())}
        return Scope(frozenset(units), frozenset(owners))

    def person_scope(self, person: str) -> Scope:
        led = self.unit_scope(self.led_units(person))
        return Scope(led.units, led.owners | {person})
