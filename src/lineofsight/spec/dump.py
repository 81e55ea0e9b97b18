"""Write domain objects back as strategy-file data: the inverse of `build.py`.

The same plain form of each item serves `los export` and the change history, so a diff of two
organisations speaks in the keys a user writes.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import yaml

from lineofsight.domain import model as m
from lineofsight.domain.notifications import PersonPreferences
from lineofsight.domain.reviews import DEFAULT_LEAD_DAYS, ReviewCadence
from lineofsight.spec.actions_dump import actions_to_plain
from lineofsight.spec.notifications_dump import (
    notifications_to_plain,
    person_preferences_to_plain,
)

Plain = dict[str, Any]


def _num(value: float) -> float | int:
    """Write 45 rather than 45.0 when a value is whole."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


_EMPTY_TYPES = (tuple, list, dict)


def _clean(pairs: list[tuple[str, Any]]) -> Plain:
    """Keep keys whose value is set; enums as their text, whole floats as ints."""
    # Called for every item of every apply (hundreds of thousands in a large file): the most
    # common values, texts, are kept with one type test.
    out: Plain = {}
    for key, value in pairs:
        kind = type(value)
        if kind is str:
            out[key] = value
        elif value is None or (kind in _EMPTY_TYPES and not value):
            continue
        elif isinstance(value, Enum):
            out[key] = value.value
        elif kind is float:
            out[key] = _num(value)
        else:
            out[key] = value
    return out


def _lint(lint: m.Lint) -> Plain | None:
    return {"ignore": list(lint.ignore)} if lint.ignore else None


def _period_values(pairs: tuple[tuple[str, float], ...]) -> Plain:
    return {period: _num(value) for period, value in pairs}


def unit_to_plain(unit: m.Unit) -> Plain:
    return _clean(
        [
            ("id", unit.id),
            ("name", unit.name),
            ("level", unit.level),
            ("parent", unit.parent),
            ("lead", unit.lead),
            ("function", unit.function),
            ("lint", _lint(unit.lint)),
        ]
    )


def person_to_plain(person: m.Person) -> Plain:
    return _clean(
        [
            ("id", person.id),
            ("name", person.name),
            ("unit", person.unit),
            ("title", person.title),
            ("email", person.email),
            ("lint", _lint(person.lint)),
        ]
    )


def strategy_to_plain(strategy: m.Strategy) -> Plain:
    return _clean(
        [
            ("mission", strategy.mission),
            ("vision", strategy.vision),
            ("values", list(strategy.values)),
            ("methods", list(strategy.methods)),
            ("obstacles", list(strategy.obstacles)),
        ]
    )


def objective_to_plain(o: m.Objective) -> Plain:
    return _clean(
        [
            ("id", o.id),
            ("title", o.title),
            ("level", o.level),
            ("unit", o.unit),
            ("owner", o.owner),
            ("parent", o.parent),
            ("weight", None if o.weight == 1 else o.weight),
            ("perspective", o.perspective),
            ("description", o.description),
            ("start", o.start),
            ("deadline", o.deadline),
            ("status", None if o.status is m.ObjectiveStatus.ACTIVE else o.status),
            ("lint", _lint(o.lint)),
        ]
    )


def _baseline(b: m.PeriodValue | None) -> Plain | None:
    return {"period": b.period, "value": _num(b.value)} if b is not None else None


def _unit_target(t: m.UnitTarget) -> Plain:
    return _clean(
        [
            ("value", t.value),
            ("by", t.by),
            ("baseline", _baseline(t.baseline)),
            ("targets", _period_values(t.targets)),
        ]
    )


def kpi_to_plain(k: m.Kpi) -> Plain:
    supports = [
        {"objective": s.objective, "weight": _num(s.weight)}
        if s.weight != 1
        else {"objective": s.objective}
        for s in k.supports
    ]
    contributes = [
        _clean(
            [
                ("kpi", c.kpi),
                ("weight", None if c.weight == 1 else c.weight),
                ("effect", None if c.effect is m.Effect.POSITIVE else c.effect),
            ]
        )
        for c in k.contributes_to
    ]
    source = source_to_plain(k.source) if k.source is not None else None
    return _clean(
        [
            ("id", k.id),
            ("name", k.name),
            ("description", k.description),
            ("unit_of_measure", k.unit_of_measure),
            ("level", k.level),
            ("type", k.type),
            ("unit", k.unit),
            ("owner", k.owner),
            ("frequency", k.frequency),
            ("direction", k.direction),
            ("aggregation", k.aggregation),
            ("across_units", k.across_units),
            ("supports", supports),
            ("contributes_to", contributes),
            ("influences", list(k.influences)),
            ("formula", k.formula),
            (
                "ratio",
                _clean(
                    [
                        ("numerator", k.ratio.numerator),
                        ("denominator", k.ratio.denominator),
                        ("scale", None if k.ratio.scale == 1 else k.ratio.scale),
                    ]
                )
                if k.ratio
                else None,
            ),
            ("range", {"low": _num(k.range.low), "high": _num(k.range.high)} if k.range else None),
            ("baseline", _baseline(k.baseline)),
            ("target", {"value": _num(k.target.value), "by": k.target.by} if k.target else None),
            ("targets", _period_values(k.targets)),
            ("unit_targets", {unit: _unit_target(t) for unit, t in k.unit_targets}),
            ("tolerance", k.tolerance),
            ("tolerance_abs", k.tolerance_abs),
            (
                "bounds",
                _clean([("min", k.bounds.min), ("max", k.bounds.max)]) if k.bounds else None,
            ),
            (
                "benchmark",
                _clean([("value", k.benchmark.value), ("source", k.benchmark.source)])
                if k.benchmark
                else None,
            ),
            ("source", source),
            ("due_days", k.due_days),
            ("lint", _lint(k.lint)),
        ]
    )


def scoring_to_plain(scoring: m.Scoring) -> Plain | None:
    if scoring == m.Scoring():
        return None
    return {"green_at": _num(scoring.green_at), "amber_at": _num(scoring.amber_at)}


def checks_to_plain(checks: m.ChecksConfig) -> Plain | None:
    out = _clean(
        [
            ("select", list(checks.select)),
            ("ignore", list(checks.ignore)),
            ("options", {code: dict(options) for code, options in checks.options}),
        ]
    )
    return out or None


def source_to_plain(source: m.Source) -> Plain:
    """A KPI's source as written: the kind is left out when it is the named source's."""
    settings = dict(source.settings)
    if "from" in settings:
        return settings
    return {"kind": source.kind.value, **settings}


def sources_to_plain(sources: tuple[m.NamedSource, ...]) -> Plain | None:
    """The `sources:` section (None when there is none); secrets stay `env:NAME`."""
    if not sources:
        return None
    return {s.name: {"kind": s.kind.value, **dict(s.settings)} for s in sources}


def organization_to_plain(org: m.Organization) -> Plain:
    """The whole organisation in the strategy file's form, keys in the documented order."""
    preferences = dict(org.notifications.people)
    organization = _clean(
        [
            ("name", org.name),
            (
                "calendar",
                _clean(
                    [
                        ("fiscal_year_start", org.calendar.fiscal_year_start),
                        (
                            "due_days",
                            None
                            if org.calendar.due_days == m.Calendar().due_days
                            else org.calendar.due_days,
                        ),
                    ]
                )
                if org.calendar != m.Calendar()
                else None,
            ),
            ("units", [unit_to_plain(u) for u in org.units]),
            ("people", [_person_with_preferences(p, preferences) for p in org.people]),
        ]
    )
    return _clean(
        [
            ("version", 1),
            ("organization", organization),
            ("strategy", strategy_to_plain(org.strategy) or None),
            ("sources", sources_to_plain(org.sources)),
            ("objectives", [objective_to_plain(o) for o in org.objectives]),
            ("kpis", [kpi_to_plain(k) for k in org.kpis]),
            ("scoring", scoring_to_plain(org.scoring)),
            ("checks", checks_to_plain(org.checks)),
            ("notifications", notifications_to_plain(org.notifications)),
            ("reviews", [review_to_plain(r) for r in org.reviews] or None),
            ("actions", actions_to_plain(org.actions)),
        ]
    )


def review_to_plain(review: ReviewCadence) -> Plain:
    """One `reviews:` entry; lead_days only when not the default."""
    plain: Plain = {"unit": review.unit, "every": review.every}
    if review.day is not None:
        plain["day"] = int(review.day) if review.day.isdigit() else review.day
    if review.attendees:
        plain["attendees"] = list(review.attendees)
    if review.lead_days != DEFAULT_LEAD_DAYS:
        plain["lead_days"] = review.lead_days
    return plain


def _person_with_preferences(person: m.Person, preferences: dict[str, PersonPreferences]) -> Plain:
    plain = person_to_plain(person)
    chosen = preferences.get(person.id)
    prefs = person_preferences_to_plain(chosen) if chosen is not None else None
    if prefs is not None:
        plain["notifications"] = prefs
        if "lint" in plain:  # keep the file's key order: lint comes last
            plain["lint"] = plain.pop("lint")
    return plain


class _Dumper(yaml.SafeDumper):
    """Block style, with short lists of scalars inline so files stay readable."""

    def ignore_aliases(self, data: Any) -> bool:
        # Items read from the store share equal dates (one object per deadline): written
        # out, each is the date itself, never `&id001` and `*id001`.
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = bool(data) and all(isinstance(x, str | int | float) for x in data) and len(data) <= 8
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """YAML text of plain data, keys in the given order."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def dump_organization(org: m.Organization) -> str:
    """A strategy file that `los apply` reads back to the same organisation."""
    header = "# Line of Sight strategy file, format version 1 (`los schema` prints its schema).\n"
    return header + dump_yaml(organization_to_plain(org))
