"""Property: whatever organisation is applied, the store reads it back exactly, and applying
it again changes nothing. One store takes a series of random organisations, so updates from
any organisation to any other are exercised too."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from lineofsight.domain import model as m
from lineofsight.services.apply import apply_organization
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization
from tests.orgs import organizations


@given(org=organizations())
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_store_reads_back_what_was_applied(db_url: str, org: m.Organization) -> None:
    store = Store(db_url)
    try:
        apply_organization(store, org, source="property")
        with store.reading() as conn:
            assert read_organization(conn) == org
        assert apply_organization(store, org, source="property").empty
    finally:
        store.close()
