"""Property: a strategy file written by `export` reads back to the same organisation."""

from __future__ import annotations

from hypothesis import given, settings

from lineofsight.domain import model as m
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.files import parse_strategy
from tests.orgs import organizations


@given(organizations())
@settings(max_examples=150, deadline=None)
def test_dump_then_parse_is_identity(org: m.Organization) -> None:
    text = dump_organization(org)
    assert parse_strategy(text, "dumped.yaml") == org
