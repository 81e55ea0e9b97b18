"""Validate a strategy file as a whole and collect every problem with its line.

Structural problems come from the pydantic models; the cross-references (unknown ids, duplicate
ids, targets that do not fit the KPI's frequency, zero targets with a relative tolerance) are
checked here, and in `kpi_checks` (formulas finer than their inputs, values beyond the magnitude
limit). When some items are malformed, the well-formed ones are still cross-checked so
that one run reports everything.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lineofsight.domain.formula import parse_formula, references
from lineofsight.domain.model import Calendar, Direction
from lineofsight.domain.periods import Period, grain_of, parse_period
from lineofsight.errors import Problem
from lineofsight.spec import schema as s
from lineofsight.spec.action_checks import check_actions
from lineofsight.spec.kpi_checks import (
    check_formula_cycles,
    check_formula_grains,
    check_magnitudes,
)
from lineofsight.spec.review_checks import check_reviews
from lineofsight.spec.source_checks import check_kpi_sources
from lineofsight.spec.yamlload import LineMap

SECTIONS: dict[tuple[str, ...], tuple[str, type[BaseModel]]] = {
    ("organization", "units"): ("unit", s.UnitSpec),
    ("organization", "people"): ("person", s.PersonSpec),
    ("objectives",): ("objective", s.ObjectiveSpec),
    ("kpis",): ("kpi", s.KpiSpec),
}

_ALL_KEYS = sorted(
    {
        info.alias or name  # `from`, not the field's name `from_`
        for model in (
            s.StrategyFile,
            s.OrganizationSpec,
            s.CalendarSpec,
            s.UnitSpec,
            s.PersonSpec,
            s.StrategySpec,
            s.ObjectiveSpec,
            s.KpiSpec,
            s.SupportSpec,
            s.ContributionSpec,
            s.BaselineSpec,
            s.TargetSpec,
            s.UnitTargetSpec,
            s.RatioSpec,
            s.RangeSpec,
            s.BoundsSpec,
            s.BenchmarkSpec,
            s.SourceSpec,
            s.NamedSourceSpec,
            s.LintSpec,
            s.ScoringSpec,
            s.ChecksSpec,
            s.NotificationsSpec,
            s.SmtpSpec,
            s.WebhookSpec,
            s.PersonNotificationsSpec,
        )
        for name, info in model.model_fields.items()
    }
)

M = TypeVar("M", bound=BaseModel)


@dataclass
class Items:
    """The well-formed items of each section, with their index in the file."""

    units: list[tuple[int, s.UnitSpec]] = field(default_factory=list)
    people: list[tuple[int, s.PersonSpec]] = field(default_factory=list)
    objectives: list[tuple[int, s.ObjectiveSpec]] = field(default_factory=list)
    kpis: list[tuple[int, s.KpiSpec]] = field(default_factory=list)
    calendar: Calendar = field(default_factory=Calendar)
    sources: dict[str, s.NamedSourceSpec] = field(default_factory=dict)
    # Items that fail even without their bad keys (a required field is wrong): their ids
    # are still cross-checked from the raw file, so one run reports those problems too.
    broken: list[tuple[tuple[Hashable, ...], dict[str, Any]]] = field(default_factory=list)


class Collector:
    """Collects problems for one file, turning data paths into lines."""

    def __init__(self, file: str, lines: LineMap, data: Any) -> None:
        self.file = file
        self.lines = lines
        self.data = data
        self.problems: list[Problem] = []

    def add(self, path: Sequence[Hashable], message: str) -> None:
        self.problems.append(Problem(self.file, self.lines.line_of(path), message))

    def add_pydantic(self, exc: ValidationError, prefix: tuple[Hashable, ...] = ()) -> None:
        for error in exc.errors(include_url=False):
            loc = prefix + tuple(error["loc"])
            path = tuple(part for part in loc if part != "[key]")
            reason = _reason(error, loc)
            if error["type"] == "value_error":  # a check across keys: at the key it names
                path = self.at_key(path, reason)
            self.add(path, f"{self.describe(loc)}{reason}")

    def at_key(self, path: Sequence[Hashable], reason: str) -> tuple[Hashable, ...]:
        """The path of the key a problem of the mapping at `path` is about: the first of its
        keys that `reason` names (`start` in `start 2028-01-01 is after deadline 2027-12-31`),
        so that the problem points at that key's line rather than at the mapping's first;
        `path` itself when it names none, or when `path` is not a mapping."""
        item = _get(self.data, path)
        if not isinstance(item, dict):
            return tuple(path)
        named = [
            (match.start(), key)
            for key in item
            if isinstance(key, str)
            and (match := re.search(rf"\b{re.escape(key)}\b", reason)) is not None
        ]
        return (*path, min(named)[1]) if named else tuple(path)

    def describe(self, loc: Sequence[Hashable]) -> str:
        """A readable place: `kpi nps: target.value` rather than `kpis.3.target.value`."""
        loc = tuple(loc)
        head = ""
        rest: tuple[Hashable, ...] = loc
        for section, (kind, _model) in SECTIONS.items():
            n = len(section)
            index = loc[n] if len(loc) > n else None
            if loc[:n] == section and isinstance(index, int):
                item = _get(self.data, loc[: n + 1])
                item_id = item.get("id") if isinstance(item, dict) else None
                head = f"{kind} {item_id}" if isinstance(item_id, str) else f"{kind} #{index + 1}"
                rest = loc[n + 1 :]
                break
        parts: list[str] = []
        for part in rest:
            if part == "[key]":
                continue
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif parts:
                parts.append(f".{part}")
            else:
                parts.append(str(part))
        where = "".join(parts)
        if head and where:
            return f"{head}: {where}: "
        if head or where:
            return f"{head or where}: "
        return ""


def _get(data: Any, path: Sequence[Hashable]) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _reason(error: Mapping[str, Any], loc: Sequence[Hashable]) -> str:
    kind = error["type"]
    last = loc[-1] if loc else ""
    value = error.get("input")
    if kind == "extra_forbidden":
        if last in _ALL_KEYS:  # `weight` in a KPI: no hint of itself, nor of a look-alike
            return f"unknown key '{last}' here (other items of the file take it, not this one)"
        hint = difflib.get_close_matches(str(last), _ALL_KEYS, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"unknown key '{last}'{suggestion}"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        if pattern == s.ID_PATTERN:
            return (
                f"{value!r} is not a valid id: use lower-case letters, digits and _, "
                "starting with a letter"
            )
        if pattern == s.RULE_CODE_PATTERN:
            return f"{value!r} is not a rule code such as AL01"
    if kind == "literal_error" and tuple(loc) == ("version",):
        return f"unsupported format version {value!r}: this release reads version 1"
    if kind == "model_type" or kind == "dict_type":
        return f"expected a mapping of keys, got {_kind_of(value)}"
    if kind == "list_type":
        return f"expected a list, got {_kind_of(value)}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if kind in {
        "float_parsing",
        "float_type",
        "int_parsing",
        "int_type",
        "date_from_datetime_parsing",
        "date_type",
        "date_parsing",
        "string_type",
        "enum",
        "bool_type",
        "literal_error",
    }:
        return f"{message[0].lower()}{message[1:]}, got {value!r}"
    return f"{message[0].lower()}{message[1:]}"


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return repr(value)


def validate_document(
    data: Any, file: str, lines: LineMap
) -> tuple[s.StrategyFile | None, list[Problem]]:
    """Validate parsed YAML; the model when the file is sound, and every problem found."""
    out = Collector(file, lines, data)
    if not isinstance(data, dict):
        out.add((), "a strategy file is a mapping with version, organization, objectives, kpis")
        return None, out.problems
    model: s.StrategyFile | None = None
    try:
        model = s.StrategyFile.model_validate(data)
    except ValidationError as exc:
        out.add_pydantic(exc)
    items = _items(model, data, out)
    check_references(items, data, out)
    return (model if not out.problems else None), out.problems


def model_problems(model: s.StrategyFile, data: dict[str, Any], file: str) -> list[Problem]:
    """The problems of a document whose every item is well-formed (`model`, its items each
    validated): the cross-reference checks `validate_document` makes after the schema."""
    out = Collector(file, LineMap(), data)
    check_references(_items(model, data, out), data, out)
    return out.problems


def _items(model: s.StrategyFile | None, data: dict[str, Any], out: Collector) -> Items:
    if model is not None:
        calendar = Calendar(
            model.organization.calendar.fiscal_year_start if model.organization.calendar else 1
        )
        return Items(
            units=list(enumerate(model.organization.units)),
            people=list(enumerate(model.organization.people)),
            objectives=list(enumerate(model.objectives)),
            kpis=list(enumerate(model.kpis)),
            calendar=calendar,
            sources=dict(model.sources),
        )
    # The file is malformed somewhere: keep each item that is sound on its own.
    items = Items()
    fiscal = _get(data, ("organization", "calendar", "fiscal_year_start"))
    if isinstance(fiscal, int) and 1 <= fiscal <= 12:
        items.calendar = Calendar(fiscal)
    for section, (_kind, spec) in SECTIONS.items():
        found = _sound(_get(data, section), spec, section, items.broken, out)
        setattr(items, section[-1], found)  # `Items` names its lists as the file does
    sources = _get(data, ("sources",))
    for name, settings in sources.items() if isinstance(sources, dict) else ():
        named, _ = _alone(settings, s.NamedSourceSpec, ("sources", name), out)
        if named is not None:
            items.sources[str(name)] = named
    return items


def _sound(
    raw: Any,
    model: type[M],
    section: tuple[str, ...],
    unsound: list[tuple[tuple[Hashable, ...], dict[str, Any]]],
    out: Collector,
) -> list[tuple[int, M]]:
    """The items of a section that validate, alone or without their bad keys; the others
    (with an id) go to `unsound` with their path and their keys that are not bad."""
    if not isinstance(raw, list):
        return []
    result = []
    for index, item in enumerate(raw):
        spec, partial = _alone(item, model, (*section, index), out)
        if spec is not None:
            result.append((index, spec))
        elif partial is not None and isinstance(item.get("id"), str):
            # An item whose id is not valid is not sound, but what it names is still checked.
            unsound.append(((*section, index), {**partial, "id": item["id"]}))
    return result


def _alone(
    item: Any, model: type[M], path: tuple[Hashable, ...], out: Collector
) -> tuple[M | None, dict[str, Any] | None]:
    """One item validated alone, else without its bad keys (the model, or None and the keys
    that are not bad). The whole file's validation said the bad keys' problems; a check
    pydantic makes only once every key is sound (`give tolerance or tolerance_abs, not
    both`) is reached here, and said now rather than after the bad keys are mended."""
    try:
        return model.model_validate(item), None
    except ValidationError as exc:
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        if not isinstance(item, dict) or not bad:
            return None, None
    partial = {k: v for k, v in item.items() if k not in bad}
    if "id" in bad:
        return None, partial
    try:
        return model.model_validate(partial), None
    except ValidationError as again:
        for error in again.errors(include_url=False):
            loc = tuple(error["loc"])
            if loc and loc[0] in bad:
                continue  # a bad key left out: said by the whole file's validation
            reasons = _reason(error, loc).split("; ")
            if not loc:  # a check across keys: not one that names a key left out
                reasons = [r for r in reasons if not any(_names(r, str(key)) for key in bad)]
            where = (*path, *(part for part in loc if part != "[key]"))
            for reason in reasons:
                at = out.at_key(where, reason) if error["type"] == "value_error" else where
                out.add(at, f"{out.describe((*path, *loc))}{reason}")
        return None, partial


def _names(reason: str, key: str) -> bool:
    """Whether a problem's reason names `key` (`range` in `direction range needs range`)."""
    return re.search(rf"\b{re.escape(key)}\b", reason) is not None


# The references each kind of item makes by id, as the file writes them: key -> kind named.
_RAW_REFERENCES: dict[str, dict[str, str]] = {
    "units": {"parent": "unit", "lead": "person"},
    "people": {"unit": "unit"},
    "objectives": {"unit": "unit", "parent": "objective"},
    "kpis": {"unit": "unit"},
}
_KIND_OF = {"units": "unit", "people": "person", "objectives": "objective", "kpis": "kpi"}


def _check_broken(items: Items, ref: Any) -> None:
    """The ids an unsound item names, checked from its raw keys that are not bad."""
    for path, item in items.broken:
        section = str(path[-2])
        name = f"{_KIND_OF[section]} {item['id']}"
        for key, kind in _RAW_REFERENCES[section].items():
            if isinstance(item.get(key), str):
                ref((*path, key), f"{name}: {key}", item[key], kind)
        if section != "kpis":
            continue
        for key, inner, kind in (
            ("supports", "objective", "objective"),
            ("contributes_to", "kpi", "kpi"),
        ):
            for j, link in enumerate(item.get(key) or []):
                if isinstance(link, dict) and isinstance(link.get(inner), str):
                    ref((*path, key, j), f"{name}: {key}", link[inner], kind)
        for j, other in enumerate(item.get("influences") or []):
            if isinstance(other, str):
                ref((*path, "influences", j), f"{name}: influences", other, "kpi")
        formula = item.get("formula")  # kept only when it parses (else it is a bad key)
        if isinstance(formula, str):
            _check_formula(path, name, formula, ref)


def _raw_ids(data: dict[str, Any]) -> dict[str, list[tuple[str, tuple[Hashable, ...]]]]:
    """Every id written in the file, with its kind and path, whether its item is sound or not."""
    found: dict[str, list[tuple[str, tuple[Hashable, ...]]]] = {}
    for section, (kind, _model) in SECTIONS.items():
        raw = _get(data, section)
        if not isinstance(raw, list):
            continue
        for index, item in enumerate(raw):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                found.setdefault(item["id"], []).append((kind, (*section, index, "id")))
    return found


def check_references(items: Items, data: dict[str, Any], out: Collector) -> None:
    """Cross-reference checks over the sound items; appends to `out`."""
    raw = _raw_ids(data)
    for item_id, places in raw.items():
        first_kind, first_path = places[0]
        for _kind, path in places[1:]:
            out.add(
                path,
                f"duplicate id '{item_id}': already used by {first_kind} at line "
                f"{out.lines.line_of(first_path)} (ids are unique across the whole file)",
            )
    kinds = {item_id: {kind for kind, _ in places} for item_id, places in raw.items()}

    def ref(path: tuple[Hashable, ...], what: str, target: str | None, kind: str) -> None:
        if target is None or kind in kinds.get(target, set()):
            return
        have = kinds.get(target)
        if have:
            out.add(path, f"{what}: '{target}' is {_a(' or '.join(sorted(have)))}, not {_a(kind)}")
            return
        candidates = [i for i, k in kinds.items() if kind in k]
        hint = difflib.get_close_matches(target, candidates, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        out.add(path, f"{what}: unknown {kind} '{target}'{suggestion}")

    org = ("organization",)
    base: tuple[Hashable, ...]
    for i, unit in items.units:
        base = (*org, "units", i)
        ref((*base, "parent"), f"unit {unit.id}: parent", unit.parent, "unit")
        ref((*base, "lead"), f"unit {unit.id}: lead", unit.lead, "person")
    _check_unit_cycles(items, out)
    for i, person in items.people:
        ref((*org, "people", i, "unit"), f"person {person.id}: unit", person.unit, "unit")
    for i, objective in items.objectives:
        base = ("objectives", i)
        ref((*base, "unit"), f"objective {objective.id}: unit", objective.unit, "unit")
        ref((*base, "parent"), f"objective {objective.id}: parent", objective.parent, "objective")
    for i, kpi in items.kpis:
        _check_kpi(i, kpi, items.calendar, ref, out)
    _check_broken(items, ref)
    check_formula_cycles(items, out)
    check_formula_grains(items, out)
    webhooks = _get(data, ("notifications", "webhooks"))
    seen_hooks: set[str] = set()
    for i, hook in enumerate(webhooks if isinstance(webhooks, list) else []):
        if not isinstance(hook, dict):
            continue
        if isinstance(hook.get("unit"), str):
            ref(("notifications", "webhooks", i, "unit"), "webhook: unit", hook["unit"], "unit")
        if isinstance(hook.get("id"), str):
            if hook["id"] in seen_hooks:
                out.add(
                    ("notifications", "webhooks", i, "id"), f"duplicate webhook id '{hook['id']}'"
                )
            seen_hooks.add(hook["id"])
    check_reviews(_get(data, ("reviews",)), ref, out)
    check_kpi_sources(items, out)
    check_actions(_get(data, ("actions",)), ref, out)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeio" else f"a {noun}"  # "a unit"


def _check_unit_cycles(items: Items, out: Collector) -> None:
    parents = {unit.id: unit.parent for _, unit in items.units}
    index = {unit.id: i for i, unit in items.units}
    reported: set[str] = set()
    for start in parents:
        seen: list[str] = []
        node: str | None = start
        while node is not None and node in parents and node not in seen:
            seen.append(node)
            node = parents[node]
        if node is not None and node in seen and node not in reported:
            cycle = seen[seen.index(node) :]
            reported.update(cycle)
            out.add(
                ("organization", "units", index[node], "parent"),
                f"unit {node}: the unit tree has a cycle: {' -> '.join([*cycle, node])}",
            )


def _check_formula(base: tuple[Hashable, ...], name: str, formula: str, ref: Any) -> None:
    """Each KPI a formula reads is one (`name`: the KPI's, as problems name it)."""
    for input_id in references(parse_formula(formula)):
        found = re.search(rf"\b{re.escape(input_id)}\b", formula)
        column = f", column {found.start() + 1}" if found else ""
        ref((*base, "formula"), f"{name}: formula {formula!r}{column}", input_id, "kpi")


def _check_kpi(i: int, kpi: s.KpiSpec, calendar: Calendar, ref: Any, out: Collector) -> None:
    base: tuple[Hashable, ...] = ("kpis", i)
    name = f"kpi {kpi.id}"
    ref((*base, "unit"), f"{name}: unit", kpi.unit, "unit")
    for j, support in enumerate(kpi.supports):
        ref((*base, "supports", j), f"{name}: supports", support.objective, "objective")
    for j, contribution in enumerate(kpi.contributes_to):
        ref((*base, "contributes_to", j), f"{name}: contributes_to", contribution.kpi, "kpi")
    for j, other in enumerate(kpi.influences):
        ref((*base, "influences", j), f"{name}: influences", other, "kpi")
    if kpi.formula is not None:
        _check_formula(base, name, kpi.formula, ref)
    for unit_id in kpi.unit_targets:
        ref((*base, "unit_targets", unit_id), f"{name}: unit_targets", unit_id, "unit")

    grain = grain_of(kpi.frequency)

    def check_targets(path: tuple[Hashable, ...], targets: Mapping[str, float]) -> None:
        for period_text, value in targets.items():
            period = _parse_period(period_text, calendar)
            if period.grain != grain:
                out.add(
                    (*path, period_text),
                    f"{name}: target period {period_text} is not a {kpi.frequency.value} "
                    f"period (the KPI's frequency)",
                )
            zero_check((*path, period_text), f"target for {period_text}", value)

    # An explicit `tolerance: 0` asks for an exact target, which is fine at zero too.
    relative = kpi.tolerance_abs is None and (kpi.tolerance is None or kpi.tolerance > 0)

    def zero_check(path: tuple[Hashable, ...], what: str, value: float) -> None:
        if relative and value == 0 and kpi.direction is not Direction.RANGE:
            out.add(
                path,
                f"{name}: {what} is 0, so a relative tolerance is 0 too: "
                "give tolerance_abs instead",
            )

    check_magnitudes(base, kpi, out)
    if kpi.target is not None:
        zero_check((*base, "target", "value"), "target", kpi.target.value)
    if kpi.range is not None and relative and kpi.range.low + kpi.range.high == 0:
        out.add(
            (*base, "range"),
            f"{name}: the middle of the range is 0, so a relative tolerance is 0 too: "
            "give tolerance_abs instead",
        )
    check_targets((*base, "targets"), kpi.targets)
    if kpi.target is not None and kpi.baseline is not None:
        _check_target_date((*base, "target", "by"), kpi.target.by, kpi.baseline, calendar, out)
    for unit_id, unit_target in kpi.unit_targets.items():
        path = (*base, "unit_targets", unit_id)
        zero_check((*path, "value"), f"unit target for {unit_id}", unit_target.value)
        check_targets((*path, "targets"), unit_target.targets)
        if unit_target.baseline is not None:
            _check_target_date((*path, "by"), unit_target.by, unit_target.baseline, calendar, out)


def _check_target_date(
    path: tuple[Hashable, ...],
    by: dt.date,
    baseline: s.BaselineSpec,
    calendar: Calendar,
    out: Collector,
) -> None:
    """A target's date after its baseline's period: the target path runs from the end of
    that period to the date, and without one each period would be held to the final target."""
    try:
        ends = _parse_period(baseline.period, calendar).end
    except ValueError:  # a period that does not read is said by the schema
        return
    if by <= ends:
        out.add(
            path,
            f"{out.describe(path)}{by.isoformat()} is not after the baseline period "
            f"{baseline.period} (which ends {ends.isoformat()}): the target path runs from the "
            "baseline to this date; give a later date or an earlier baseline",
        )


@lru_cache(maxsize=4096)
def _parse_period(text: str, calendar: Calendar) -> Period:
    # A large file names the same few periods a hundred thousand times: read each once.
    return parse_period(text, calendar)
