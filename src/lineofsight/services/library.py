"""The KPI library's use cases: search, show, add to the strategy, suggest drivers to cascade.

Each function returns plain records (dataclasses) that the command line and the web pages
render as they like.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lineofsight.domain import model as m
from lineofsight.errors import UsageError
from lineofsight.library.cascade import SuggestedDriver, cascade
from lineofsight.library.catalogue import Catalogue, default_catalogue
from lineofsight.library.model import FUNCTIONS, INDUSTRIES, Entry
from lineofsight.library.search import Hit
from lineofsight.store.database import Store

Mode = Literal["lexical", "semantic", "hybrid"]
MODES: tuple[str, ...] = ("lexical", "semantic", "hybrid")
LEVELS: tuple[str, ...] = ("strategic", "tactical", "operational")

# Reciprocal-rank fusion constant for hybrid search (the usual 60 flattens the top too much
# for a list that is read five lines deep).
_RRF_K = 20


@dataclass(frozen=True)
class SearchResult:
    """One KPI found by a search, with what a results list shows of it."""

    id: str
    name: str
    function: str
    level: str
    unit_of_measure: str
    abbreviations: tuple[str, ...]
    summary: str
    score: float


@dataclass(frozen=True)
class DriverView:
    """A KPI that drives the shown one: its id, name, how and in which sense."""

    id: str
    name: str
    via: str  # formula or driver
    effect: str  # positive, negative or mixed


@dataclass(frozen=True)
class EntryView:
    """Everything about one catalogue entry, with its drivers and the KPIs it drives."""

    entry: Entry
    measure: str
    drivers: tuple[DriverView, ...]
    drives: tuple[DriverView, ...]
    file: str


def catalogue() -> Catalogue:
    """The package's catalogue (loaded once per process)."""
    return default_catalogue()


def summary(text: str, limit: int = 110) -> str:
    """The first sentence of a description, cut to `limit` characters."""
    first = text.split(". ")[0].rstrip(".") + "."
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _check_filters(function: str | None, industry: str | None, level: str | None) -> None:
    for option, value, allowed in (
        ("--function", function, FUNCTIONS),
        ("--industry", industry, INDUSTRIES),
        ("--level", level, LEVELS),
    ):
        if value is not None and value not in allowed:
            raise UsageError(f"{option} {value!r}: use one of {', '.join(allowed)}")


def search(
    query: str,
    *,
    function: str | None = None,
    industry: str | None = None,
    level: str | None = None,
    limit: int = 10,
    mode: Mode = "lexical",
) -> list[SearchResult]:
    """The catalogue's best KPIs for a text, best first, within the filters."""
    _check_filters(function, industry, level)
    if mode not in MODES:
        raise UsageError(f"--mode {mode!r}: use one of {', '.join(MODES)}")
    cat = catalogue()
    filters = {"function": function, "industry": industry, "level": level}
    if mode == "lexical":
        hits = cat.lexical.search(query, limit, **filters)
    else:
        semantic = _semantic_hits(cat, query, limit if mode == "semantic" else 50, filters)
        if mode == "semantic":
            hits = semantic
        else:
            hits = _fuse(cat.lexical.search(query, 50, **filters), semantic, limit)
    return [_result(hit) for hit in hits]


def _semantic_hits(
    cat: Catalogue, query: str, limit: int, filters: dict[str, str | None]
) -> list[Hit]:
    from lineofsight.library.semantic import SemanticUnavailable

    try:
        return cat.semantic.search(query, limit, **filters)
    except SemanticUnavailable as exc:
        raise UsageError(str(exc)) from None


def _fuse(lexical: list[Hit], semantic: list[Hit], limit: int) -> list[Hit]:
    """Reciprocal-rank fusion; an exact name or abbreviation match stays first."""
    scores: dict[str, float] = {}
    entries: dict[str, Entry] = {}
    for hits in (lexical, semantic):
        for rank, hit in enumerate(hits):
            scores[hit.entry.id] = scores.get(hit.entry.id, 0.0) + 1.0 / (_RRF_K + rank + 1)
            entries[hit.entry.id] = hit.entry
    if lexical and lexical[0].score >= 1000.0:
        scores[lexical[0].entry.id] += 1.0
    ranked = sorted(scores, key=lambda kpi: (-scores[kpi], kpi))[:limit]
    return [Hit(entries[kpi], scores[kpi]) for kpi in ranked]


def _result(hit: Hit) -> SearchResult:
    entry = hit.entry
    return SearchResult(
        id=entry.id,
        name=entry.name,
        function=entry.function,
        level=entry.level,
        unit_of_measure=entry.unit_of_measure,
        abbreviations=entry.abbreviations,
        summary=summary(entry.description),
        score=round(hit.score, 4),
    )


def entry(kpi_id: str) -> Entry:
    """The catalogue entry with this id, or a UsageError that suggests close ids."""
    cat = catalogue()
    found = cat.get(kpi_id)
    if found is not None:
        return found
    close = difflib.get_close_matches(kpi_id, list(cat.by_id), n=3, cutoff=0.6)
    if not close:
        close = [hit.entry.id for hit in cat.lexical.search(kpi_id.replace("_", " "), 3)]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UsageError(
        f"no KPI {kpi_id!r} in the catalogue{hint}; find one with `los library search`"
    )


def measure_text(item: Entry) -> str:
    """How the entry is measured, in one line."""
    measure = item.measure
    if measure.formula is not None:
        return f"formula: {' '.join(measure.formula.split())}"
    if measure.ratio is not None:
        ratio = measure.ratio
        scale = f" × {ratio.scale:g}" if ratio.scale != 1 else ""
        return f"ratio: ({ratio.numerator}) / ({ratio.denominator}){scale}"
    return f"method: {' '.join((measure.method or '').split())}"


def _effect(sign: int) -> str:
    return {1: "positive", -1: "negative"}.get(sign, "mixed")


def show(kpi_id: str) -> EntryView:
    """One catalogue entry with its drivers and the KPIs it drives."""
    cat = catalogue()
    item = entry(kpi_id)
    drivers = tuple(
        DriverView(link.kpi, cat.by_id[link.kpi].name, link.via, _effect(link.sign))
        for link in cat.drivers_of(item.id)
    )
    drives = tuple(
        DriverView(other.id, other.name, link.via, _effect(link.sign))
        for other in cat.entries
        for link in cat.drivers_of(other.id)
        if link.kpi == item.id
    )
    return EntryView(item, measure_text(item), drivers, drives, cat.files.get(item.id, ""))


# ------------------------------------------------------------------------------- suggest


@dataclass(frozen=True)
class SuggestionGroup:
    """The suggested drivers of one function, and the child units of that function."""

    function: str
    units: tuple[tuple[str, str], ...]  # (id, name) of the child units with this function
    drivers: tuple[SuggestedDriver, ...]


@dataclass(frozen=True)
class Suggestion:
    """What `library suggest` found for one strategy KPI."""

    kpi_id: str
    kpi_name: str
    unit: str
    entry_id: str
    matched_by: str  # "id" or "name"
    direction: str
    groups: tuple[SuggestionGroup, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def match_entry(kpi_id: str, kpi_name: str) -> tuple[Entry, str]:
    """The catalogue entry for a strategy KPI: by id, else by exact name, else best search hit."""
    cat = catalogue()
    by_id = cat.get(kpi_id)
    if by_id is not None:
        return by_id, "id"
    for candidate in cat.entries:
        if candidate.name.lower() == kpi_name.lower():
            return candidate, "name"
    hits = cat.lexical.search(kpi_name, 1) or cat.lexical.search(kpi_id.replace("_", " "), 1)
    if not hits:
        raise UsageError(
            f"no catalogue KPI matches '{kpi_id}' ({kpi_name}); find one with `los library search`"
        )
    return hits[0].entry, "name"


def suggest(store: Store, kpi_id: str, depth: int = 2) -> Suggestion:
    """The catalogue's drivers of a strategy KPI, grouped by the functions of its child units."""
    from lineofsight.services.evaluate import load_organization

    if depth not in (1, 2):
        raise UsageError("--depth: use 1 or 2")
    org = load_organization(store)
    kpi = org.kpi(kpi_id)
    if kpi is None:
        close = difflib.get_close_matches(kpi_id, [k.id for k in org.kpis], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"no KPI '{kpi_id}' in the strategy{hint}")
    cat = catalogue()
    item, matched_by = match_entry(kpi.id, kpi.name)
    direction = kpi.direction.value
    found = cascade(cat, item.id, direction, depth, {k.id for k in org.kpis})
    children = [unit for unit in org.units if unit.parent == kpi.unit]
    groups: list[SuggestionGroup] = []
    functions = [f for f in FUNCTIONS if any(d.function == f for d in found)]
    # Functions of the child units first (those are where the KPI can cascade), then the rest.
    child_functions = {unit.function for unit in children if unit.function}
    functions.sort(key=lambda f: (f not in child_functions, FUNCTIONS.index(f)))
    for function in functions:
        units = tuple((u.id, u.name) for u in children if u.function == function)
        drivers = sorted(
            (d for d in found if d.function == function), key=lambda d: (d.depth, d.id)
        )
        groups.append(SuggestionGroup(function, units, tuple(drivers)))
    notes: list[str] = []
    if not children:
        notes.append(f"unit '{kpi.unit}' has no child units: the drivers are grouped by function")
    elif not child_functions:
        notes.append(
            f"the child units of '{kpi.unit}' have no `function` in the strategy file: "
            "set it to group the drivers by unit"
        )
    return Suggestion(
        kpi.id, kpi.name, kpi.unit, item.id, matched_by, direction, tuple(groups), tuple(notes)
    )


# ------------------------------------------------------------------------------- add


@dataclass(frozen=True)
class AddedKpi:
    """A KPI written to the strategy: its id, name and why it was added."""

    id: str
    name: str
    role: str  # "requested" or "formula input of <id>"


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
    return Path(source)


def add(
    store: Store,
    kpi_id: str,
    *,
    unit: str,
    owner: str,
    supports: str | None = None,
    file: Path | None = None,
) -> AddResult:
    """Add a catalogue KPI, and the formula inputs the strategy lacks, to file and store.

    The file is edited as text (everything else in it kept), validated as a whole, written,
    then applied in one transaction; when the apply fails the file is put back as it was.
    """
    from lineofsight.library.addition import NotInsertable, formula_inputs, insert_kpis, kpi_item
    from lineofsight.services.apply import apply_organization
    from lineofsight.spec.files import parse_strategy

    cat = catalogue()
    item = entry(kpi_id)
    path = file if file is not None else strategy_source(store)
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
    items = [kpi_item(item, unit=unit, owner=owner, level=level, supports=supports)]
    added = [AddedKpi(item.id, item.name, "requested")]
    reused: list[str] = []
    for input_id in formula_inputs(cat, item.id):
        if input_id in kpis:
            reused.append(input_id)
            continue
        source = cat.by_id[input_id]
        items.append(kpi_item(source, unit=unit, owner=owner))
        readers = [
            e.id for e in (item, *(cat.by_id[a.id] for a in added)) if input_id in _reads(cat, e.id)
        ]
        added.append(AddedKpi(input_id, source.name, f"formula input of {readers[0]}"))
    try:
        new_text = insert_kpis(text, items)
    except NotInsertable as exc:
        raise UsageError(f"{path}: {exc}; add the KPI by hand") from None
    new_org = parse_strategy(new_text, str(path))
    _write(path, new_text)
    try:
        apply_organization(store, new_org, source=str(path.resolve()))
    except BaseException:
        _write(path, text)  # keep file and store in agreement
        raise
    warnings = _direction_warnings(new_org, [a.id for a in added])
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


def _direction_warnings(org: m.Organization, added: list[str]) -> tuple[str, ...]:
    """Formula inputs whose direction works against the formula KPI (as CF01 sees it first).

    A ratio's denominator that is itself to grow (revenue under a margin) is the usual case:
    the catalogue gives each KPI the direction its owner wants, the check rule reads the
    formula. Said here so the user is not surprised; the choice stays theirs.
    """
    from lineofsight.domain.formula import parse_formula, partial_sign, references

    signs = {"increase": 1, "decrease": -1}
    kpis = org.kpis_by_id()
    notes: list[str] = []
    for kpi_id in added:
        kpi = kpis[kpi_id]
        if kpi.formula is None or kpi.direction.value not in signs:
            continue
        expr = parse_formula(kpi.formula)
        inputs = references(expr)
        point = dict.fromkeys(inputs, 1.0)
        for input_id in inputs:
            child = kpis.get(input_id)
            if child is None or child.direction.value not in signs:
                continue
            sign = partial_sign(expr, input_id, point)
            if sign and signs[child.direction.value] * sign == -signs[kpi.direction.value]:
                notes.append(
                    f"'{input_id}' is to {child.direction.value}, which on its own moves "
                    f"'{kpi_id}' = {kpi.formula} the wrong way: `los check` (CF01) will say so "
                    f"until targets or data show otherwise"
                )
    return tuple(notes)


def _reads(cat: Catalogue, kpi_id: str) -> set[str]:
    return {link.kpi for link in cat.drivers_of(kpi_id) if link.via == "formula"}


def _listing(ids: object) -> str:
    names = sorted(ids)  # type: ignore[call-overload]
    shown = ", ".join(names[:12])
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "") if names else "none"


def _write(path: Path, text: str) -> None:
    """Replace the file's text in one step (a crash leaves the old or the new file whole)."""
    import os

    temporary = path.with_name(f".{path.name}.los-tmp")
    temporary.write_text(text, encoding="utf-8", newline="")
    os.replace(temporary, path)
