"""The organisation's graph: trees, supporters, feeders and formula inputs, walked safely."""

from __future__ import annotations

import datetime as dt

from lineofsight.checks.runner import run_checks
from lineofsight.domain import model as m
from lineofsight.domain.graph import (
    OrgGraph,
    PerOrganisation,
    organisation_graph,
    reachable,
    reachable_in,
)
from lineofsight.spec.dump import dump_yaml
from lineofsight.spec.files import parse_strategy

M, INC = m.Frequency.MONTHLY, m.Direction.INCREASE


def _org(kpis: list[m.Kpi], objectives: tuple[m.Objective, ...] = ()) -> m.Organization:
    return m.Organization(
        name="Org",
        units=(
            m.Unit("co", "Company", m.UnitLevel.COMPANY),
            m.Unit("sales", "Sales", m.UnitLevel.DEPARTMENT, parent="co"),
            m.Unit("east", "East", m.UnitLevel.TEAM, parent="sales"),
            m.Unit("west", "West", m.UnitLevel.TEAM, parent="sales"),
            m.Unit("ops", "Operations", m.UnitLevel.DEPARTMENT, parent="co"),
        ),
        objectives=objectives,
        kpis=tuple(kpis),
    )


def _kpi(kpi_id: str, unit: str = "co", **fields: object) -> m.Kpi:
    return m.Kpi(kpi_id, kpi_id.title(), unit, M, INC, **fields)  # type: ignore[arg-type]


def test_unit_children_and_subtrees_follow_the_file() -> None:
    graph = OrgGraph(_org([]))
    assert graph.unit_children == {"co": ["sales", "ops"], "sales": ["east", "west"]}
    assert graph.subtree("sales") == {"sales", "east", "west"}
    assert graph.subtree("co") == {"co", "sales", "east", "west", "ops"}
    assert graph.subtree("east") == {"east"}
    assert graph.within("west", "co") and not graph.within("ops", "sales")
    assert graph.unit_parents["east"] == "sales"


def test_supporters_and_objectives_below() -> None:
    objectives = (
        m.Objective("grow", "Grow", m.Level.STRATEGIC, "co"),
        m.Objective("sell", "Sell more", m.Level.TACTICAL, "sales", parent="grow"),
        m.Objective("ship", "Ship faster", m.Level.TACTICAL, "ops", parent="grow"),
    )
    revenue = _kpi("revenue", supports=(m.Support("grow", 2.0),))
    deals = _kpi("deals", "sales", supports=(m.Support("sell"), m.Support("grow")))
    graph = OrgGraph(_org([revenue, deals], objectives))
    assert [(k.id, s.weight) for k, s in graph.supporters["grow"]] == [
        ("revenue", 2.0),
        ("deals", 1.0),
    ]
    assert [k.id for k, _ in graph.supporters["sell"]] == ["deals"]
    assert graph.objectives_below("grow") == {"grow", "sell", "ship"}
    assert [o.id for o in graph.child_objectives["grow"]] == ["sell", "ship"]


def test_nested_formula_inputs_are_followed_to_measured_kpis() -> None:
    kpis = [
        _kpi("margin", formula="profit / revenue"),
        _kpi("profit", formula="revenue - costs"),
        _kpi("revenue"),
        _kpi("costs"),
        _kpi("leads", contributes_to=(m.Contribution("revenue"),)),
        _kpi("ghost_reader", formula="revenue + unknown_kpi"),
    ]
    graph = OrgGraph(_org(kpis))
    assert graph.formula_inputs["margin"] == ("profit", "revenue")
    assert graph.formula_inputs["ghost_reader"] == ("revenue",)  # known KPIs only
    assert graph.measured_inputs("margin") == {"revenue", "costs"}
    assert graph.measured_inputs("costs") == {"costs"}
    assert graph.formula_users["revenue"] == ["margin", "profit", "ghost_reader"]
    assert graph.kpi_ups["revenue"] == ["margin", "profit", "ghost_reader"]
    assert graph.kpi_ups["leads"] == ["revenue"]
    assert graph.feeding(["margin"]) == {"margin", "profit", "revenue", "costs", "leads"}
    assert graph.read_through(["margin", "nowhere"]) == {"margin", "profit", "revenue", "costs"}
    assert graph.read_through(["leads"]) == {"leads"}


def test_a_formula_is_parsed_once_per_organisation() -> None:
    org = _org([_kpi("a"), _kpi("b", formula="a * 2")])
    graph = organisation_graph(org)
    assert organisation_graph(org) is graph
    assert graph.formulas["b"] is organisation_graph(org).formulas["b"]
    other = _org([_kpi("a"), _kpi("b", formula="a * 2")])  # equal, but another object
    assert organisation_graph(other) is not graph


def test_what_is_made_per_organisation_keeps_the_last_two() -> None:
    made: list[int] = []

    def make(org: object) -> int:
        made.append(id(org))
        return len(made)

    memo = PerOrganisation(make)
    first, second, third = (_org([_kpi("a")]) for _ in range(3))
    assert (memo(first), memo(second), memo(first)) == (1, 2, 1)  # kept: made once each
    assert memo(third) == 3  # the oldest (first) goes
    assert memo(second) == 2
    assert memo(first) == 4  # made again


def test_cycles_end_the_walks_and_are_still_reported() -> None:
    kpis = [
        _kpi("a", formula="b + 1"),
        _kpi("b", formula="a + 1"),
        _kpi("c", contributes_to=(m.Contribution("d"),)),
        _kpi("d", contributes_to=(m.Contribution("c"),)),
    ]
    objectives = (m.Objective("loop", "Loop", m.Level.STRATEGIC, "co", parent="loop"),)
    org = _org(kpis, objectives)
    graph = OrgGraph(org)
    assert graph.measured_inputs("a") == set()  # only formulas, round and round
    assert graph.feeding(["c"]) == {"c", "d"}
    assert graph.objectives_below("loop") == {"loop"}
    report = run_checks(org, dt.date(2026, 11, 22))
    cycles = sorted(f.message for f in report.findings if f.code == "AL04")
    assert cycles == [
        "KPIs form a cycle through contributes_to or formulas: a -> b -> a",
        "KPIs form a cycle through contributes_to or formulas: c -> d -> c",
        "objective parents form a cycle: loop -> loop",
    ]


def test_a_walk_along_a_mapping_finds_what_the_walk_by_calls_finds() -> None:
    edges = {"a": ["b", "c"], "b": ["a"], "c": ["d", "x"], "d": [], "e": ["a"]}
    for start in (["a"], ["e"], ["d"], ["x"], [], ["c", "e"]):
        by_calls = reachable(start, lambda node: edges.get(node, ()))
        assert reachable_in(iter(start), edges) == by_calls
    assert reachable_in(["e"], edges) == {"e", "a", "b", "c", "d", "x"}


def test_a_formula_kpi_and_its_contributors_are_both_below_it() -> None:
    kpis = [
        _kpi("total", formula="part * 2"),
        _kpi("part"),
        _kpi("helper", contributes_to=(m.Contribution("total"),)),
    ]
    graph = OrgGraph(_org(kpis))
    assert graph.kpi_downs == {"total": ["helper", "part"]}
    assert graph.feeding(["total"]) == {"total", "part", "helper"}
    assert graph.feeding(["part"]) == {"part"}


def test_a_unit_cycle_in_a_broken_organisation_ends_the_walks() -> None:
    org = m.Organization(
        name="Org",
        units=(
            m.Unit("a", "A", m.UnitLevel.DEPARTMENT, parent="b"),
            m.Unit("b", "B", m.UnitLevel.DEPARTMENT, parent="a"),
        ),
    )
    graph = OrgGraph(org)
    assert graph.subtree("a") == {"a", "b"}
    assert not graph.within("a", "elsewhere")


def test_the_graph_of_a_strategy_file_matches_its_links() -> None:
    text = dump_yaml(
        {
            "version": 1,
            "organization": {
                "name": "Org",
                "units": [
                    {"id": "co", "name": "Company", "level": "company"},
                    {"id": "t", "name": "Team", "level": "team", "parent": "co"},
                ],
            },
            "objectives": [{"id": "o", "title": "O", "level": "strategic", "unit": "co"}],
            "kpis": [
                {
                    "id": "x",
                    "name": "X",
                    "unit": "t",
                    "frequency": "monthly",
                    "direction": "increase",
                    "supports": ["o"],
                },
                {
                    "id": "y",
                    "name": "Y",
                    "unit": "co",
                    "frequency": "monthly",
                    "direction": "increase",
                    "formula": "x * 2",
                },
            ],
        }
    )
    graph = OrgGraph(parse_strategy(text, "strategy.yaml"))
    assert graph.formula_inputs == {"y": ("x",)}
    assert [k.id for k in graph.kpis_of_unit["t"]] == ["x"]
    assert graph.subtree("co") == {"co", "t"}
