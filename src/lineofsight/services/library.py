"""The KPI library's use cases: search, show, add to the strategy, suggest drivers to cascade.

Each function returns plain records (dataclasses) that the command line and the web pages
render as they like. Adding to the strategy is in services.library_add (re-exported here).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from lineofsight.domain import model as m
from lineofsight.errors import UsageError
from lineofsight.library.cascade import SuggestedDriver, cascade
from lineofsight.library.catalogue import Catalogue, default_catalogue
from lineofsight.library.model import FUNCTIONS as FUNCTIONS
from lineofsight.library.model import INDUSTRIES as INDUSTRIES
from lineofsight.library.model import Entry
from lineofsight.library.search import Hit
from lineofsight.services.library_add import AddedKpi as AddedKpi
from lineofsight.services.library_add import AddResult as AddResult
from lineofsight.services.library_add import add as add
from lineofsight.services.library_add import add_to_store as add_to_store
from lineofsight.services.library_add import strategy_source as strategy_source
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


def semantic_available() -> bool:
    """Whether the optional embedding model is installed (semantic and hybrid modes)."""
    from lineofsight.library import semantic

    return semantic.available()


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
    # (id, name) of the units of this function nearest below the KPI's unit: its child units,
    # or, under a child of another function, the highest units of this one.
    units: tuple[tuple[str, str], ...]
    drivers: tuple[SuggestedDriver, ...]


@dataclass(frozen=True)
class Suggestion:
    """What `library suggest` found for one strategy KPI."""

    kpi_id: str
    kpi_name: str
    unit: str
    entry_id: str
    matched_by: str  # "id", "name" (the same name), "closest" (best search hit) or "given"
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
    return hits[0].entry, "closest"


def function_units(org: m.Organization, unit_id: str) -> dict[str, list[m.Unit]]:
    """The units below a unit by function: the nearest of each function on every branch.

    A child unit counts for its function; below a child of another function (a go-to-market
    unit with a marketing department), the highest units of each further function count too,
    so that a driver finds the team that can move it.
    """
    below: dict[str | None, list[m.Unit]] = {}
    for unit in org.units:
        below.setdefault(unit.parent, []).append(unit)
    found: dict[str, list[m.Unit]] = {}

    def walk(parent: str, seen: frozenset[str]) -> None:
        for unit in below.get(parent, []):
            function = unit.function
            if function and function not in seen:
                found.setdefault(function, []).append(unit)
            walk(unit.id, seen | {function} if function else seen)

    walk(unit_id, frozenset())
    return found


def suggest(store: Store, kpi_id: str, depth: int = 2, entry_id: str | None = None) -> Suggestion:
    """The catalogue's drivers of a strategy KPI, grouped by the functions of its child units.

    `entry_id` names the catalogue entry to follow when the KPI's id and name do not find it.
    """
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
    if entry_id is not None:
        item, matched_by = entry(entry_id), "given"
    else:
        item, matched_by = match_entry(kpi.id, kpi.name)
    direction = kpi.direction.value
    found = cascade(cat, item.id, direction, depth, {k.id for k in org.kpis})
    children = [unit for unit in org.units if unit.parent == kpi.unit]
    by_function = function_units(org, kpi.unit)
    groups: list[SuggestionGroup] = []
    functions = [f for f in FUNCTIONS if any(d.function == f for d in found)]
    # Functions of the units below first (those are where the KPI can cascade), then the rest.
    functions.sort(key=lambda f: (f not in by_function, FUNCTIONS.index(f)))
    for function in functions:
        units = tuple((u.id, u.name) for u in by_function.get(function, []))
        drivers = sorted(
            (d for d in found if d.function == function), key=lambda d: (d.depth, d.id)
        )
        groups.append(SuggestionGroup(function, units, tuple(drivers)))
    notes: list[str] = []
    if not children:
        notes.append(f"unit '{kpi.unit}' has no child units: the drivers are grouped by function")
    elif not by_function:
        notes.append(
            f"the child units of '{kpi.unit}' have no `function` in the strategy file: "
            "set it to group the drivers by unit"
        )
    if matched_by == "closest":
        notes.append(
            f"'{item.id}' is the catalogue's closest match to the KPI's name, not the same "
            f"name: if it measures something else, give the entry with --entry ID"
        )
    return Suggestion(
        kpi.id, kpi.name, kpi.unit, item.id, matched_by, direction, tuple(groups), tuple(notes)
    )
