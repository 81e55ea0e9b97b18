"""What `library add` writes and what it says: the plan of an addition, and its report.

`plan_addition` checks a request against the strategy's definitions (unit, owner, the
objective supported, names already taken) and makes the KPI items to append: the catalogue
KPI and the formula inputs the strategy lacks, each input with the direction its formula
needs. `describe` words the result, with what `los check` will say about the new items.
Both work on definitions only; services.library_add does the writing.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineofsight.domain import model as m
from lineofsight.errors import UsageError
from lineofsight.library.catalogue import Catalogue
from lineofsight.library.model import Entry


@dataclass(frozen=True)
class AddedKpi:
    """A KPI written to the strategy: its id, name and why it was added."""

    id: str
    name: str
    role: str  # "requested" or "formula input of <id>"
    direction: str = ""  # the direction written to the strategy
    direction_note: str | None = None  # why it is not the catalogue's direction


@dataclass(frozen=True)
class AddResult:
    """What `library add` did: the file edited, the KPIs added, the ones already there."""

    file: str
    added: tuple[AddedKpi, ...]
    reused: tuple[str, ...]  # formula inputs the strategy had already
    supports: str | None
    supports_chosen: bool  # the objective was picked for the user (the unit's only one)
    warnings: tuple[str, ...] = ()  # what `los check` will say about the new items
    file_written: bool = True  # False: the store has the KPIs, the file was left alone
    file_note: str | None = None  # why the file was left alone, or how it was completed


@dataclass(frozen=True)
class Addition:
    """What an addition writes: the KPI items (plain, as in a file) and what to say of them."""

    items: list[dict[str, object]]
    added: list[AddedKpi]
    reused: list[str]
    supports: str
    chosen: bool
    level: str
    frequency_notes: tuple[str, ...] = ()  # formulas made as coarse as their inputs, and why


def plan_addition(
    org: m.Organization,
    cat: Catalogue,
    item: Entry,
    where: str,
    unit: str,
    owner: str,
    supports: str | None,
) -> Addition:
    """Check the request against the definitions and make the KPI items to add."""
    from lineofsight.library.addition import (
        formula_frequencies,
        formula_inputs,
        input_directions,
        kpi_item,
    )

    kpis = {k.id: k for k in org.kpis}
    if item.id in kpis:
        raise UsageError(f"the strategy has a KPI '{item.id}' already ({where}); nothing written")
    units = {u.id: u for u in org.units}
    if unit not in units:
        raise UsageError(f"no unit '{unit}' in {where}; units: {_listing(units)}")
    people = {p.id for p in org.people}
    if owner not in people:
        raise UsageError(f"no person '{owner}' in {where}; people: {_listing(people)}")
    for other in org.kpis:
        if other.unit == unit and other.name.strip().lower() == item.name.lower():
            raise UsageError(
                f"unit '{unit}' has a KPI named {item.name!r} already ('{other.id}'); "
                "nothing written"
            )
    supports, chosen = _supported(org, item, where, unit, supports)
    # A KPI sits at the level of the objective it measures (an operational KPI tied straight
    # to a strategic objective skips a level, and the checks say so).
    level = next(o for o in org.objectives if o.id == supports).level.value
    inputs = formula_inputs(cat, item.id)
    reused = [input_id for input_id in inputs if input_id in kpis]
    missing = [input_id for input_id in inputs if input_id not in kpis]
    strategy_frequencies = {k.id: k.frequency.value for k in org.kpis}
    frequencies = formula_frequencies(cat, [item.id, *missing], strategy_frequencies)
    items = [
        kpi_item(
            item,
            unit=unit,
            owner=owner,
            level=level,
            supports=supports,
            frequency=frequencies[item.id][0],
        )
    ]
    added = [AddedKpi(item.id, item.name, "requested", item.direction)]
    # A new input moves the way that improves the formula reading it, which is not always
    # the catalogue's own direction (headcount under revenue per employee); inputs the
    # strategy has already are left as they are.
    directions = input_directions(cat, item.id, missing)
    for input_id in missing:
        source = cat.by_id[input_id]
        how = directions[input_id]
        items.append(
            kpi_item(
                source,
                unit=unit,
                owner=owner,
                direction=how.direction,
                frequency=frequencies[input_id][0],
            )
        )
        readers = [
            e.id for e in (item, *(cat.by_id[a.id] for a in added)) if input_id in _reads(cat, e.id)
        ]
        note = None
        if how.reason is not None:
            note = (
                f"direction {how.direction}, not the catalogue's {source.direction}: {how.reason}"
            )
        elif how.conflict is not None:
            note = (
                f"direction {how.direction} as in the catalogue, but {how.conflict}: "
                "`los check` reports CF01 on it whichever way it is to move"
            )
        added.append(
            AddedKpi(input_id, source.name, f"formula input of {readers[0]}", how.direction, note)
        )
    frequency_notes = tuple(
        f"'{kpi_id}' is {frequency} here, as its input '{because}' "
        f"(the catalogue's frequency is {cat.by_id[kpi_id].frequency}): "
        "a formula finer than its inputs would never have a value"
        for kpi_id, (frequency, because) in frequencies.items()
        if because is not None
    )
    return Addition(items, added, reused, supports, chosen, level, frequency_notes)


def _supported(
    org: m.Organization, item: Entry, where: str, unit: str, supports: str | None
) -> tuple[str, bool]:
    """The objective the KPI supports, and whether it was picked (the unit's only one)."""
    if supports is None:
        active = [o for o in org.objectives if o.unit == unit and o.status.value == "active"]
        if len(active) != 1:
            mine = [o.id for o in org.objectives if o.unit == unit]
            listed = ", ".join(mine) if mine else f"none in unit '{unit}'"
            raise UsageError(
                f"say which objective '{item.id}' supports with --supports OBJ "
                f"(objectives of unit '{unit}': {listed})"
            )
        return active[0].id, True
    objectives = {o.id for o in org.objectives}
    if supports not in objectives:
        raise UsageError(
            f"no objective '{supports}' in {where}; objectives: {_listing(objectives)}"
        )
    return supports, False


def describe(
    org: m.Organization,
    new_org: m.Organization,
    item: Entry,
    addition: Addition,
    file: str,
) -> AddResult:
    """What to tell the user: the KPIs added, and what `los check` will say about them."""
    added = addition.added
    noted = {a.id for a in added if a.direction_note is not None}
    warnings = _direction_warnings(new_org, [a.id for a in added], noted)
    warnings += addition.frequency_notes
    if addition.level != item.level:
        warnings += (
            f"'{item.id}' is {addition.level} here, the level of '{addition.supports}' "
            f"(the catalogue's typical level is {item.level})",
        )
    for kpi in org.kpis:
        for new in added:
            if kpi.name.strip().lower() == new.name.lower():
                warnings += (
                    f"the strategy had '{kpi.id}' ({kpi.name}, unit '{kpi.unit}') already: "
                    f"'{new.id}' may measure the same thing",
                )
    return AddResult(
        file, tuple(added), tuple(addition.reused), addition.supports, addition.chosen, warnings
    )


def _direction_warnings(org: m.Organization, added: list[str], noted: set[str]) -> tuple[str, ...]:
    """What the CF01 rule says about the added KPIs, as `los check` will say it.

    New inputs get the direction their formula needs, so what is left are the inputs the
    strategy had already (a true finding about the strategy) and new inputs that two
    formulas pull opposite ways (`noted`: said with the added KPI already). Said here so
    the user is not surprised by `los check`; the choice stays theirs.
    """
    import datetime as dt

    from lineofsight.checks.base import Selection
    from lineofsight.checks.runner import run_checks

    # The rule's own run, on the definitions alone (the new KPIs have no data or targets).
    report = run_checks(org, dt.date.today(), None, Selection(select=frozenset({"CF01"})))
    wanted = set(added) - noted
    return tuple(
        f"{f.message}: `los check` (CF01) will say so until targets or data show otherwise"
        for f in report.findings
        if f.subject.id in wanted
        or any(f"'{kpi_id}' = " in f.message for kpi_id in added if kpi_id not in noted)
    )


def _reads(cat: Catalogue, kpi_id: str) -> set[str]:
    return {link.kpi for link in cat.drivers_of(kpi_id) if link.via == "formula"}


def _listing(ids: object) -> str:
    names = sorted(ids)  # type: ignore[call-overload]
    shown = ", ".join(names[:12])
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "") if names else "none"
