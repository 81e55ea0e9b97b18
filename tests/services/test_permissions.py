"""The permission table: each role's actions, scoped to a unit subtree."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from lineofsight.domain import model as m
from lineofsight.services.accounts import Account, Grant
from lineofsight.services.permissions import (
    UnitTree,
    allows,
    definition_reach,
    outside,
    readable_units,
    refused_definitions,
    user_units,
    visible_organization,
    writer_reach,
)

TREE = UnitTree({"co": None, "sales": "co", "east": "sales", "ops": "co"})


def account(*grants: Grant, person: str | None = None) -> Account:
    return Account(1, "someone", "Someone", person, grants)


@pytest.mark.parametrize(
    ("grant", "action", "unit", "owner", "expected"),
    [
        (Grant("admin"), "manage_users", None, None, True),
        (Grant("admin", "sales"), "upload", "east", None, True),
        (Grant("admin", "sales"), "upload", "ops", None, False),
        (Grant("admin", "sales"), "manage_users", None, None, False),
        (Grant("admin", "co"), "manage_users", None, None, True),  # the only root: everything
        (Grant("editor"), "edit_definitions", None, None, True),
        (Grant("editor", "sales"), "edit_definitions", "east", None, True),
        (Grant("editor", "sales"), "edit_definitions", None, None, False),
        (Grant("editor"), "enter_data", "sales", "pat", False),
        (Grant("owner", "sales"), "enter_data", "east", "pat", True),
        (Grant("owner", "sales"), "enter_data", "east", "kim", False),
        (Grant("owner", "sales"), "enter_data", "ops", "pat", False),
        (Grant("owner", "sales"), "upload", "sales", "pat", False),
        (Grant("owner", "sales"), "read", "east", None, True),
        (Grant("viewer"), "read", "ops", None, True),
        (Grant("viewer"), "enter_data", "ops", "pat", False),
        (Grant("viewer", "ops"), "read", "sales", None, False),
        (Grant("viewer", "ops"), "read", "unknown", None, False),
    ],
)
def test_allows(
    grant: Grant, action: str, unit: str | None, owner: str | None, expected: bool
) -> None:
    assert (
        allows(account(grant, person="pat"), action, unit_id=unit, kpi_owner=owner, org=TREE)
        is expected
    )


def test_no_account_may_do_nothing() -> None:
    assert not allows(None, "read", unit_id="co", org=TREE)


def test_an_owner_without_a_person_enters_nothing() -> None:
    assert not allows(account(Grant("owner")), "enter_data", unit_id="co", kpi_owner=None, org=TREE)


def test_readable_units_is_the_union_of_subtrees() -> None:
    assert readable_units(account(Grant("viewer", "sales"), Grant("owner", "ops")), TREE) == {
        "sales",
        "east",
        "ops",
    }
    assert readable_units(account(Grant("viewer")), TREE) is None
    assert readable_units(None, TREE) == set()


# A change of the definitions reaches the units of what it changes and of both ends of
# every link it adds or removes: one row per kind of link and change.
ORG = m.Organization(
    name="Co",
    units=(
        m.Unit("co", "Co", m.UnitLevel.COMPANY),
        m.Unit("sales", "Sales", m.UnitLevel.DEPARTMENT, parent="co"),
        m.Unit("east", "East", m.UnitLevel.TEAM, parent="sales"),
        m.Unit("ops", "Ops", m.UnitLevel.DEPARTMENT, parent="co"),
    ),
    people=(m.Person("pat", "Pat", "sales"), m.Person("kim", "Kim", "ops")),
    objectives=(
        m.Objective("grow", "Grow", m.Level.STRATEGIC, "co"),
        m.Objective("sell", "Sell", m.Level.TACTICAL, "sales", parent="grow"),
        m.Objective("ship", "Ship", m.Level.TACTICAL, "ops", parent="grow"),
    ),
    kpis=(
        m.Kpi("revenue", "Revenue", "sales", m.Frequency.MONTHLY, m.Direction.INCREASE),
        m.Kpi("defects", "Defects", "ops", m.Frequency.MONTHLY, m.Direction.DECREASE),
    ),
)


def _kpi(**changes: object) -> m.Organization:
    revenue = dataclasses.replace(ORG.kpis[0], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(ORG, kpis=(revenue, ORG.kpis[1]))


def _objective(**changes: object) -> m.Organization:
    sell = dataclasses.replace(ORG.objectives[1], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(ORG, objectives=(ORG.objectives[0], sell, ORG.objectives[2]))


@pytest.mark.parametrize(
    ("after", "units", "organization"),
    [
        (ORG, set(), False),
        (_kpi(name="Sales"), {"sales"}, False),
        (_kpi(supports=(m.Support("sell"),)), {"sales"}, False),
        (_kpi(supports=(m.Support("grow"),)), {"sales", "co"}, False),
        (_kpi(contributes_to=(m.Contribution("defects"),)), {"sales", "ops"}, False),
        (_kpi(influences=("defects",)), {"sales", "ops"}, False),
        (_kpi(formula="defects * 2"), {"sales", "ops"}, False),
        (_kpi(owner="kim"), {"sales", "ops"}, False),
        (_kpi(owner="pat"), {"sales"}, False),
        (_kpi(unit="ops"), {"sales", "ops"}, False),
        (_kpi(unit_targets=(("ops", m.UnitTarget(1.0, dt.date(2027, 1, 1))),)), {"sales", "ops"},
         False),
        (_objective(parent=None), {"sales", "co"}, False),
        (_objective(weight=2.0), {"sales", "co"}, False),
        (dataclasses.replace(ORG, kpis=ORG.kpis[1:]), {"sales"}, False),
        (dataclasses.replace(ORG, units=(*ORG.units, m.Unit("west", "W", m.UnitLevel.TEAM,
                                                             parent="ops"))), {"ops"}, False),
        (dataclasses.replace(ORG, strategy=m.Strategy(mission="Go")), set(), True),
    ],
)  # fmt: skip
def test_definition_reach(after: m.Organization, units: set[str], organization: bool) -> None:
    reach = definition_reach(ORG, after)
    assert (set(reach.units), reach.organization) == (units, organization)


def test_a_unit_editor_may_change_only_what_reaches_their_units() -> None:
    sales = account(Grant("editor", "sales"))
    assert refused_definitions(sales, ORG, _kpi(supports=(m.Support("sell"),))) == []
    assert refused_definitions(sales, ORG, _kpi(supports=(m.Support("grow"),))) == ["co"]
    assert refused_definitions(sales, None, ORG) == [None]  # nothing applied yet: all of it
    whole = account(Grant("editor"))
    assert refused_definitions(whole, ORG, _kpi(supports=(m.Support("grow"),))) == []


def test_a_new_order_is_put_down_to_the_writers_items_that_explain_it() -> None:
    # Revenue (sales) one place past Defects (ops): moving either explains it. A sales
    # editor's change is judged on sales (their KPI moved), an ops editor's on ops.
    swapped = dataclasses.replace(ORG, kpis=ORG.kpis[::-1])
    assert set(definition_reach(ORG, swapped).units) == {"ops"}  # the fewest: either one
    for unit in ("sales", "ops"):
        writer = account(Grant("editor", unit))
        assert refused_definitions(writer, ORG, swapped) == []
        assert set(writer_reach(writer, ORG, swapped).units) == {unit}
    # A writer whose items cannot explain it is judged on what moved.
    east = account(Grant("editor", "east"))
    assert set(writer_reach(east, ORG, swapped).units) == {"ops"}
    assert refused_definitions(east, ORG, swapped) == ["ops"]


def test_a_user_reaches_the_unit_of_the_person_it_acts_as() -> None:
    admin = account(Grant("admin", "sales"))
    tree = UnitTree.of(ORG)
    assert outside(admin, "manage_users", user_units([Grant("viewer", "east")], "pat", ORG),
                   tree) == []  # fmt: skip
    assert outside(admin, "manage_users", user_units([Grant("viewer", "east")], "kim", ORG),
                   tree) == ["ops"]  # fmt: skip


def test_the_visible_organization_stops_at_the_scope() -> None:
    cut = visible_organization(ORG, {"sales", "east"})
    assert [o.id for o in cut.objectives] == ["sell"]
    assert [k.id for k in cut.kpis] == ["revenue"] and [p.id for p in cut.people] == ["pat"]
    assert visible_organization(ORG, None) is ORG
