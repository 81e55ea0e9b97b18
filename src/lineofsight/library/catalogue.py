"""Load the KPI catalogue from its YAML files and check it as a whole.

Every problem is collected with its file and line, so that one run of
`python -m lineofsight.library.validate` reports all of them. The checks that span entries
(unique ids, names, abbreviations and measures; formulas that parse and read existing entries;
drivers that exist; no cycle through formulas) run over every entry that is sound on its own.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from lineofsight.domain import model as m
from lineofsight.domain.formula import (
    Expr,
    FormulaError,
    parse_formula,
    partial_sign,
    references,
    written_out,
)
from lineofsight.domain.formula import to_text as formula_text
from lineofsight.domain.graph import cycles
from lineofsight.domain.periods import grain_of
from lineofsight.domain.text import plural
from lineofsight.errors import InputError, Problem
from lineofsight.library.model import FUNCTIONS, Entry
from lineofsight.library.search import LexicalIndex
from lineofsight.spec.yamlload import LineMap, load_yaml

if TYPE_CHECKING:
    from lineofsight.library.semantic import SemanticIndex

_FILE_KEYS = ("function", "kpis")


class CatalogueError(InputError):
    """The catalogue files have problems."""


@dataclass(frozen=True)
class DriverLink:
    """One KPI that drives another: how (formula input or listed driver) and in which sense."""

    kpi: str
    sign: int  # +1: when the driver rises the KPI rises; -1: it falls; 0: it depends
    via: str  # "formula" or "driver"


@dataclass
class Catalogue:
    """The catalogue's entries, with the parsed formulas and the driver links derived once."""

    entries: tuple[Entry, ...]
    files: dict[str, str] = field(default_factory=dict)  # entry id -> file it comes from
    formulas: dict[str, Expr] = field(default_factory=dict)

    @cached_property
    def by_id(self) -> dict[str, Entry]:
        """Entries by id."""
        return {entry.id: entry for entry in self.entries}

    @cached_property
    def lexical(self) -> LexicalIndex:
        """The BM25 index of the entries, built on first use."""
        return LexicalIndex(self.entries)

    @cached_property
    def semantic(self) -> SemanticIndex:
        """The embedding index of the entries; raises `SemanticUnavailable` without the model."""
        from lineofsight.library.semantic import SemanticIndex

        return SemanticIndex(self.entries)

    def get(self, kpi_id: str) -> Entry | None:
        """The entry with this id, if any."""
        return self.by_id.get(kpi_id)

    def drivers_of(self, kpi_id: str) -> list[DriverLink]:
        """The formula inputs (with the sign of their effect) and listed drivers of an entry."""
        entry = self.by_id.get(kpi_id)
        if entry is None:
            return []
        links: list[DriverLink] = []
        expr = self.formulas.get(kpi_id)
        if expr is not None:
            # The sense of each input at one point where every input is 1: enough for the
            # formulas people write (sums, differences, ratios and scalings of quantities),
            # following the input through the formula inputs computed from it, as CF01 does.
            for ref in references(expr):
                if ref not in self.by_id:
                    continue
                total = written_out(expr, ref, self.formulas, frozenset({kpi_id}))
                point = dict.fromkeys(references(total), 1.0)
                links.append(DriverLink(ref, partial_sign(total, ref, point), "formula"))
        for driver in entry.drivers:
            if driver.kpi not in self.by_id:
                continue  # only in a catalogue that has problems
            sign = 1 if driver.effect == "positive" else -1
            links.append(DriverLink(driver.kpi, sign, "driver"))
        return links

    def count_by(self) -> tuple[dict[str, int], dict[str, int]]:
        """Entry counts per function and per industry (`all` counts cross-industry ones)."""
        functions: dict[str, int] = {}
        industries: dict[str, int] = {}
        for entry in self.entries:
            functions[entry.function] = functions.get(entry.function, 0) + 1
            for industry in entry.industries:
                industries[industry] = industries.get(industry, 0) + 1
        return functions, industries


_default_lock = threading.Lock()
_default: list[Catalogue] = []


def default_catalogue() -> Catalogue:
    """The package's catalogue, loaded once per process; raises `CatalogueError` if broken."""
    with _default_lock:
        if not _default:
            _default.append(load_catalogue())
        return _default[0]


def catalogue_files() -> list[Path]:
    """The catalogue's YAML files shipped inside the package, in name order."""
    root = resources.files("lineofsight.library") / "catalogue"
    return sorted(
        Path(str(item))
        for item in root.iterdir()
        if item.name.endswith((".yaml", ".yml")) and item.is_file()
    )


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


@dataclass
class _Source:
    file: str
    lines: LineMap
    data: Any


@dataclass
class _Found:
    entry: Entry
    source: _Source
    index: int

    def line(self, *path: Hashable) -> int:
        return self.source.lines.line_of(("kpis", self.index, *path))


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        # Ids of entries that failed on their own: references to them are not reported again.
        self.broken: set[str] = set()

    def add(self, file: str, line: int, message: str) -> None:
        self.items.append(Problem(file, line, message))

    def at(self, found: _Found, path: Sequence[Hashable], message: str) -> None:
        self.add(found.source.file, found.line(*path), f"kpi {found.entry.id}: {message}")


def check_catalogue(paths: Iterable[Path] | None = None) -> tuple[Catalogue, list[Problem]]:
    """The catalogue made of the sound entries of these files, and every problem found."""
    problems = _Problems()
    found: list[_Found] = []
    for path in catalogue_files() if paths is None else paths:
        found.extend(_read_file(Path(path), problems))
    catalogue = _cross_check(found, problems)
    return catalogue, sorted(problems.items, key=lambda p: (p.file, p.line, p.message))


def load_catalogue(paths: Iterable[Path] | None = None) -> Catalogue:
    """The whole catalogue; raises `CatalogueError` listing every problem if it has any."""
    catalogue, problems = check_catalogue(paths)
    if problems:
        raise CatalogueError(f"the KPI catalogue has {plural(len(problems), 'problem')}", problems)
    return catalogue


def _read_file(path: Path, problems: _Problems) -> list[_Found]:
    file = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(file, 0, f"cannot read the file: {exc}")
        return []
    data, lines, yaml_problems = load_yaml(text)
    for problem in yaml_problems:
        problems.add(file, problem.line, problem.message)
    if data is None and yaml_problems:
        return []
    if not isinstance(data, dict):
        problems.add(file, 1, "a catalogue file is a mapping with function and kpis")
        return []
    source = _Source(file, lines, data)
    for key in data:
        if key not in _FILE_KEYS:
            problems.add(
                file, lines.line_of((key,)), f"unknown key {key!r} (expected function, kpis)"
            )
    default = data.get("function")
    if default is not None and default not in FUNCTIONS:
        problems.add(
            file,
            lines.line_of(("function",)),
            f"unknown function {default!r}; use one of {', '.join(FUNCTIONS)}",
        )
        default = None
    kpis = data.get("kpis")
    if not isinstance(kpis, list):
        problems.add(file, lines.line_of(("kpis",)), "kpis must be a list of entries")
        return []
    found: list[_Found] = []
    for index, item in enumerate(kpis):
        where = ("kpis", index)
        if not isinstance(item, dict):
            problems.add(file, lines.line_of(where), f"entry #{index + 1} must be a mapping")
            continue
        raw = dict(item)
        if "function" not in raw and default is not None:
            raw["function"] = default
        label = f"kpi {item['id']}" if isinstance(item.get("id"), str) else f"entry #{index + 1}"
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as exc:
            if isinstance(item.get("id"), str):
                problems.broken.add(item["id"])
            for error in exc.errors(include_url=False):
                loc = tuple(error["loc"])
                line = lines.line_of((*where, *loc))
                problems.add(file, line, f"{label}: {_where(loc)}{_reason(error, loc)}")
            continue
        found.append(_Found(entry, source, index))
    return found


def _where(loc: Sequence[Hashable]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return f"{text}: " if text else ""


def _reason(error: Any, loc: Sequence[Hashable]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        if " " in key:
            # `{method: a, b}` splits at the comma: the text after it became a key.
            return (
                "unknown key: a comma inside {...} splits the text here; quote the text "
                "or write it on its own line"
            )
        return "unknown key"
    if kind == "missing":
        if tuple(loc) == ("function",):
            return "required key is missing (and the file gives no default function)"
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not a valid id: use lower-case letters, digits and _"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if kind in {"literal_error", "string_type", "float_parsing", "float_type", "enum"}:
        return f"{message[0].lower()}{message[1:]}, got {value!r}"
    return f"{message[0].lower()}{message[1:]}"


_SPACES = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower())


def _cross_check(found: list[_Found], problems: _Problems) -> Catalogue:
    unique: dict[str, dict[str, _Found]] = {"id": {}, "name": {}, "abbreviation": {}, "measure": {}}

    def claim(kind: str, key: str, item: _Found, path: tuple[Hashable, ...], shown: str) -> bool:
        first = unique[kind].get(key)
        if first is None:
            unique[kind][key] = item
            return True
        where = f"{first.source.file}:{first.line()}"
        if kind == "id":
            problems.at(item, path, f"{shown} is already used by the entry at {where}")
        else:
            problems.at(item, path, f"{shown} is also the {kind} of kpi {first.entry.id} ({where})")
        return False

    kept: list[_Found] = []
    for item in found:
        entry = item.entry
        if not claim("id", entry.id, item, ("id",), f"id {entry.id!r}"):
            continue
        kept.append(item)
        claim("name", _normal(entry.name), item, ("name",), f"name {entry.name!r}")
        for index, abbreviation in enumerate(entry.abbreviations):
            key = abbreviation.lower()
            if key == entry.id:
                problems.at(
                    item,
                    ("abbreviations", index),
                    f"the id is the abbreviation {abbreviation!r}: ids spell the full name",
                )
            claim("abbreviation", key, item, ("abbreviations", index), f"{abbreviation!r}")

    by_id = {item.entry.id: item for item in kept}
    formulas: dict[str, Expr] = {}
    for item in kept:
        entry = item.entry
        measure = entry.measure
        if measure.formula is not None:
            try:
                expr = parse_formula(measure.formula)
            except FormulaError as exc:
                problems.at(item, ("measure", "formula"), f"formula: {exc}")
            else:
                formulas[entry.id] = expr
                claim("measure", "formula " + formula_text(expr), item, ("measure",), "the formula")
                for ref in references(expr):
                    if ref == entry.id:
                        problems.at(
                            item, ("measure", "formula"), "the formula reads the KPI itself"
                        )
                    elif ref not in by_id and ref not in problems.broken:
                        problems.at(
                            item,
                            ("measure", "formula"),
                            f"the formula reads {ref!r}, which is not a catalogue entry",
                        )
                    elif ref in by_id and _finer(entry.frequency, by_id[ref].entry.frequency):
                        problems.at(
                            item,
                            ("frequency",),
                            f"a {entry.frequency} formula cannot read {ref!r}, which is "
                            f"{by_id[ref].entry.frequency}: it would never have a value",
                        )
        elif measure.ratio is not None:
            key = f"ratio {_normal(measure.ratio.numerator)} / {_normal(measure.ratio.denominator)}"
            claim("measure", key, item, ("measure",), "the ratio (same numerator and denominator)")
        inputs = set(references(formulas[entry.id])) if entry.id in formulas else set()
        seen: set[str] = set()
        for index, driver in enumerate(entry.drivers):
            path = ("drivers", index)
            if driver.kpi == entry.id:
                problems.at(item, path, "an entry cannot drive itself")
            elif driver.kpi in problems.broken:
                pass  # that entry's own problems are reported
            elif driver.kpi not in by_id:
                problems.at(item, path, f"driver {driver.kpi!r} is not a catalogue entry")
            elif driver.kpi in inputs:
                problems.at(
                    item, path, f"driver {driver.kpi!r} is a formula input already (drop it here)"
                )
            elif driver.kpi in seen:
                problems.at(item, path, f"driver {driver.kpi!r} is listed twice")
            seen.add(driver.kpi)
    _check_cycles(formulas, by_id, problems)
    return Catalogue(
        entries=tuple(item.entry for item in kept),
        files={item.entry.id: item.source.file for item in kept},
        formulas=formulas,
    )


def _finer(frequency: str, other: str) -> bool:
    return grain_of(m.Frequency(frequency)) < grain_of(m.Frequency(other))


def _check_cycles(formulas: dict[str, Expr], by_id: dict[str, _Found], problems: _Problems) -> None:
    """Report each cycle of formulas once, at its first entry in file order. A formula that
    reads its own entry is reported on its own, so such a link is left out here."""
    order = {kpi: place for place, kpi in enumerate(by_id)}
    edges = {
        kpi: [ref for ref in references(expr) if ref != kpi and ref in by_id]
        for kpi, expr in formulas.items()
    }
    for cycle in cycles(edges, order):
        shown = " -> ".join([*cycle, cycle[0]])
        problems.at(by_id[cycle[0]], ("measure", "formula"), f"formulas form a cycle: {shown}")
