"""The line of sight: every path up from a KPI, an objective or a person to the mission."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from lineofsight.domain import model as m
from lineofsight.domain.formula import parse_formula, references
from lineofsight.engine.trace import MISSION, ItemKind, PathEnd, Trace, TracePath, trace
from tests.orgs import organizations

M, D, C = PathEnd.MISSION, PathEnd.DANGLING, PathEnd.CYCLE


def _kpi(kpi_id: str, **links: object) -> m.Kpi:
    return m.Kpi(
        id=kpi_id,
        name=kpi_id.title(),
        unit="co",
        frequency=m.Frequency.MONTHLY,
        direction=m.Direction.INCREASE,
        **links,  # type: ignore[arg-type]
    )


def _objective(
    objective_id: str, parent: str | None = None, owner: str | None = None
) -> m.Objective:
    return m.Objective(
        id=objective_id,
        title=objective_id.title(),
        level=m.Level.TACTICAL,
        unit="co",
        parent=parent,
        owner=owner,
    )


def _supports(*objectives: str) -> tuple[m.Support, ...]:
    return tuple(m.Support(o) for o in objectives)


def _to(*kpis: str) -> tuple[m.Contribution, ...]:
    return tuple(m.Contribution(k) for k in kpis)


ORG = m.Organization(
    name="Traced",
    units=(m.Unit("co", "Co", m.UnitLevel.COMPANY),),
    people=(m.Person("ann", "Ann", "co"), m.Person("bob", "Bob", "co")),
    strategy=m.Strategy(mission="Be useful."),
    objectives=(
        _objective("top"),
        _objective("mid", parent="top", owner="ann"),
        _objective("stray", parent="ghost"),  # a parent the organisation does not hold
        _objective("loop_a", parent="loop_b"),
        _objective("loop_b", parent="loop_a"),
        _objective("mission"),  # an id may be "mission" without ending the line early
    ),
    kpis=(
        _kpi("by_support", supports=_supports("mid"), owner="ann"),
        _kpi("target", supports=_supports("top")),
        _kpi("by_contribution", contributes_to=_to("target")),
        _kpi("input_a"),
        _kpi("input_b"),
        _kpi("total", formula="input_a + 2 * input_b + twice", supports=_supports("top")),
        _kpi("twice", contributes_to=_to("total")),  # linked twice to `total`: one path
        _kpi("every_link", supports=_supports("mid"), contributes_to=_to("target")),
        _kpi("diamond", contributes_to=_to("left", "right")),
        _kpi("left", supports=_supports("top")),
        _kpi("right", supports=_supports("top")),
        _kpi("lonely"),
        _kpi("unknown_links", supports=_supports("ghost"), contributes_to=_to("phantom")),
        _kpi("spin_a", contributes_to=_to("spin_b")),
        _kpi("spin_b", supports=_supports("top"), contributes_to=_to("spin_a")),
        _kpi("self_loop", contributes_to=_to("self_loop")),
        _kpi("in_loop", supports=_supports("loop_a")),
        _kpi("named_mission", supports=_supports("mission")),
        _kpi("input_c"),
        _kpi("nested", formula="input_c * 2", contributes_to=_to("total")),
        _kpi("input_and_link", supports=_supports("top")),
        _kpi("uses", formula="input_and_link", supports=_supports("mid")),
    ),
)

CASES: list[tuple[str, ItemKind, list[tuple[list[str], PathEnd]]]] = [
    # a KPI that supports an objective, up the parents to the mission
    ("by_support", ItemKind.KPI, [(["by_support", "mid", "top", MISSION], M)]),
    # a KPI that contributes to a KPI
    ("by_contribution", ItemKind.KPI, [(["by_contribution", "target", "top", MISSION], M)]),
    # a formula input is linked to the formula KPI
    ("input_b", ItemKind.KPI, [(["input_b", "total", "top", MISSION], M)]),
    # a formula KPI that is an input of nothing but contributes on
    ("input_c", ItemKind.KPI, [(["input_c", "nested", "total", "top", MISSION], M)]),
    # contributes to `total` and is read by its formula: the same path once
    ("twice", ItemKind.KPI, [(["twice", "total", "top", MISSION], M)]),
    # the links in file order: supports, contributes_to, formula users
    (
        "every_link",
        ItemKind.KPI,
        [(["every_link", "mid", "top", MISSION], M), (["every_link", "target", "top", MISSION], M)],
    ),
    (
        "input_and_link",
        ItemKind.KPI,
        [
            (["input_and_link", "top", MISSION], M),
            (["input_and_link", "uses", "mid", "top", MISSION], M),
        ],
    ),
    # a diamond: two ways up to the same objective are two paths
    (
        "diamond",
        ItemKind.KPI,
        [(["diamond", "left", "top", MISSION], M), (["diamond", "right", "top", MISSION], M)],
    ),
    # an objective; a top objective
    ("mid", ItemKind.OBJECTIVE, [(["mid", "top", MISSION], M)]),
    ("top", ItemKind.OBJECTIVE, [(["top", MISSION], M)]),
    # dangling: no link up, links to nothing known, a parent that is not there
    ("lonely", ItemKind.KPI, [(["lonely"], D)]),
    ("unknown_links", ItemKind.KPI, [(["unknown_links"], D)]),
    ("stray", ItemKind.OBJECTIVE, [(["stray"], D)]),
    # cycles: the path stops before repeating an id; other ways up still count
    (
        "spin_a",
        ItemKind.KPI,
        [(["spin_a", "spin_b", "top", MISSION], M), (["spin_a", "spin_b"], C)],
    ),
    ("self_loop", ItemKind.KPI, [(["self_loop"], C)]),
    ("in_loop", ItemKind.KPI, [(["in_loop", "loop_a", "loop_b"], C)]),
    # an objective whose id is "mission"
    ("named_mission", ItemKind.KPI, [(["named_mission", "mission", MISSION], M)]),
    # a person: each objective, then each KPI they own, the person first
    (
        "ann",
        ItemKind.PERSON,
        [(["ann", "mid", "top", MISSION], M), (["ann", "by_support", "mid", "top", MISSION], M)],
    ),
    ("bob", ItemKind.PERSON, [(["bob"], D)]),
]


@pytest.mark.parametrize(("item_id", "kind", "expected"), CASES, ids=[c[0] for c in CASES])
def test_trace(item_id: str, kind: ItemKind, expected: list[tuple[list[str], PathEnd]]) -> None:
    result = trace(ORG, item_id)
    assert result is not None
    assert result.id == item_id and result.kind is kind and not result.truncated
    assert [(list(p.ids), p.end) for p in result.paths] == expected


def test_a_cycle_names_the_id_it_would_repeat() -> None:
    result = trace(ORG, "in_loop")
    assert result is not None
    assert result.paths == (TracePath(("in_loop", "loop_a", "loop_b"), C, repeats="loop_a"),)


@pytest.mark.parametrize("item_id", ["nope", "co", "", MISSION.upper()])
def test_ids_that_are_no_kpi_objective_or_person(item_id: str) -> None:
    assert trace(ORG, item_id) is None


def test_a_limit_on_the_number_of_paths() -> None:
    full = trace(ORG, "every_link")
    cut = trace(ORG, "every_link", limit=1)
    assert full is not None and cut is not None
    assert cut == Trace("every_link", ItemKind.KPI, full.paths[:1], truncated=True)


def _ups(org: m.Organization, item_id: str) -> list[str | None]:
    """The links up, written out again from the specification; None stands for the mission."""
    kpis = {k.id: k for k in org.kpis}
    objectives = {o.id: o for o in org.objectives}
    if item_id in kpis:
        kpi = kpis[item_id]
        ups: list[str | None] = [s.objective for s in kpi.supports if s.objective in objectives]
        ups += [c.kpi for c in kpi.contributes_to if c.kpi in kpis]
        ups += [
            k.id for k in org.kpis if k.formula and item_id in references(parse_formula(k.formula))
        ]
        return list(dict.fromkeys(ups))
    objective = objectives[item_id]
    if objective.parent is None:
        return [None]
    return [objective.parent] if objective.parent in objectives else []


def _every_path(org: m.Organization, path: list[str]) -> list[tuple[tuple[str, ...], PathEnd]]:
    ups = _ups(org, path[-1])
    if not ups:
        return [(tuple(path), D)]
    found = []
    for up in ups:
        if up is None:
            found.append(((*path, MISSION), M))
        elif up in path:
            found.append((tuple(path), C))
        else:
            found += _every_path(org, [*path, up])
    return found


@settings(max_examples=60, deadline=None)
@given(organizations())
def test_every_path_up_once_in_depth_first_file_order(org: m.Organization) -> None:
    for item in (*org.kpis, *org.objectives):
        result = trace(org, item.id, limit=10**9)
        assert result is not None
        first_of_each: dict[tuple[str, ...], PathEnd] = {}
        for ids, end in _every_path(org, [item.id]):
            first_of_each.setdefault(ids, end)
        assert [(p.ids, p.end) for p in result.paths] == list(first_of_each.items())
        for path in result.paths:
            steps = path.ids[:-1] if path.reaches_mission else path.ids
            assert len(set(steps)) == len(steps)
