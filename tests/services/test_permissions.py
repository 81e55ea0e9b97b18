"""The permission table: each role's actions, scoped to a unit subtree."""

from __future__ import annotations

import pytest

from lineofsight.services.accounts import Account, Grant
from lineofsight.services.permissions import UnitTree, allows, readable_units

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
