"""`library add`: a catalogue KPI, and the formula inputs the strategy lacks, into file and store.

The strategy file is edited as text (every other line kept), validated, written and applied
in one transaction, under a lock so that two additions at once cannot lose one another.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lineofsight.domain import model as m
from lineofsight.errors import UsageError
from lineofsight.library.catalogue import Catalogue, default_catalogue
from lineofsight.library.model import Entry
from lineofsight.store.database import Store

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lineofsight.services.apply import Plan


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


def strategy_source(store: Store) -> Path:
    """The strategy file the store last applied."""
    from sqlalchemy import select

    from lineofsight.store import tables

    with store.reading() as conn:
        source = conn.execute(select(tables.organization.c.source_file)).scalar()
    if not source:
        raise UsageError(
            "the store does not know its strategy file: give --file PATH "
            "(or run `los apply FILE` first)"
        )
    if not Path(source).is_file():
        # Applied through the web API, or from a file since moved: nothing here to edit.
        raise UsageError(
            f"the strategy was last applied from {source!r}, which is not a file here: "
            "apply the strategy file with `los apply FILE`, or give --file PATH"
        )
    return Path(source)


def add(
    store: Store,
    kpi_id: str,
    *,
    unit: str,
    owner: str,
    supports: str | None = None,
    file: Path | None = None,
    actor: str | None = None,
    also: Callable[[Connection, Plan], None] | None = None,
) -> AddResult:
    """Add a catalogue KPI, and the formula inputs the strategy lacks, to file and store.

    The file is edited as text (everything else in it kept), validated as a whole, written,
    then applied in one transaction; when the apply fails the file is put back as it was.
    `actor` and `also` go to the apply: who made the change, and what to write in the same
    transaction (the web app's audit row).
    """
    from lineofsight.services.library import entry

    cat = default_catalogue()
    item = entry(kpi_id)
    path = file if file is not None else strategy_source(store)
    with _locked(path):
        return _add(store, cat, item, path, unit, owner, supports, actor, also)


def _add(
    store: Store,
    cat: Catalogue,
    item: Entry,
    path: Path,
    unit: str,
    owner: str,
    supports: str | None,
    actor: str | None,
    also: Callable[[Connection, Plan], None] | None,
) -> AddResult:
    from lineofsight.library.addition import (
        NotInsertable,
        formula_frequencies,
        formula_inputs,
        input_directions,
        insert_kpis,
        kpi_item,
    )
    from lineofsight.services.apply import apply_organization
    from lineofsight.spec.files import parse_strategy

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the strategy file {path}: {exc.strerror or exc}") from None
    org = parse_strategy(text, str(path))
    kpis = {k.id: k for k in org.kpis}
    if item.id in kpis:
        raise UsageError(f"the strategy has a KPI '{item.id}' already ({path}); nothing written")
    units = {u.id: u for u in org.units}
    if unit not in units:
        raise UsageError(f"no unit '{unit}' in {path}; units: {_listing(units)}")
    people = {p.id for p in org.people}
    if owner not in people:
        raise UsageError(f"no person '{owner}' in {path}; people: {_listing(people)}")
    for other in org.kpis:
        if other.unit == unit and other.name.strip().lower() == item.name.lower():
            raise UsageError(
                f"unit '{unit}' has a KPI named {item.name!r} already ('{other.id}'); "
                "nothing written"
            )
    objectives = {o.id: o for o in org.objectives}
    chosen = False
    if supports is None:
        active = [o for o in org.objectives if o.unit == unit and o.status.value == "active"]
        if len(active) != 1:
            mine = [o.id for o in org.objectives if o.unit == unit]
            listed = ", ".join(mine) if mine else f"none in unit '{unit}'"
            raise UsageError(
                f"say which objective '{item.id}' supports with --supports OBJ "
                f"(objectives of unit '{unit}': {listed})"
            )
        supports, chosen = active[0].id, True
    elif supports not in objectives:
        raise UsageError(f"no objective '{supports}' in {path}; objectives: {_listing(objectives)}")
    # A KPI sits at the level of the objective it measures (an operational KPI tied straight
    # to a strategic objective skips a level, and the checks say so).
    level = objectives[supports].level.value
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
    try:
        new_text = insert_kpis(text, items)
    except NotInsertable as exc:
        raise UsageError(f"{path}: {exc}; add the KPI by hand") from None
    new_org = parse_strategy(new_text, str(path))
    _write(path, new_text)
    try:
        apply_organization(store, new_org, source=str(path.resolve()), actor=actor, also=also)
    except BaseException:
        _write(path, text)  # keep file and store in agreement
        raise
    noted = {a.id for a in added if a.direction_note is not None}
    warnings = _direction_warnings(new_org, [a.id for a in added], noted)
    for kpi_id, (frequency, because) in frequencies.items():
        if because is not None:
            warnings += (
                f"'{kpi_id}' is {frequency} here, as its input '{because}' "
                f"(the catalogue's frequency is {cat.by_id[kpi_id].frequency}): "
                "a formula finer than its inputs would never have a value",
            )
    if level != item.level:
        warnings += (
            f"'{item.id}' is {level} here, the level of '{supports}' "
            f"(the catalogue's typical level is {item.level})",
        )
    for kpi in org.kpis:
        for new in added:
            if kpi.name.strip().lower() == new.name.lower():
                warnings += (
                    f"the strategy had '{kpi.id}' ({kpi.name}, unit '{kpi.unit}') already: "
                    f"'{new.id}' may measure the same thing",
                )
    return AddResult(str(path), tuple(added), tuple(reused), supports, chosen, warnings)


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


_thread_lock = threading.Lock()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the strategy file for one addition: read, edit, write and apply as one step.

    Two additions at once (two web requests, a command and the web app) would otherwise
    both read the old file, and the second write would drop the first one's KPIs. A lock
    file in the temporary folder, named by the strategy file's path, serialises processes
    (where the system has `fcntl`) without leaving anything next to the user's file; the
    thread lock serialises the web app's worker threads.
    """
    with _thread_lock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: one process at a time is assumed
            yield
            return
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"lineofsight-strategy-{digest}.lock"
        try:
            handle = lock_path.open("a")
        except OSError:  # pragma: no cover - no usable temporary folder: threads only
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, text: str) -> None:
    """Replace the file's text in one step (a crash leaves the old or the new file whole)."""
    temporary = path.with_name(f".{path.name}.los-tmp")
    temporary.write_text(text, encoding="utf-8", newline="")
    os.replace(temporary, path)
