"""Export the store's definitions as a strategy file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lineofsight.domain.model import Organization
from lineofsight.errors import UsageError
from lineofsight.services import notify_settings, review_settings
from lineofsight.services.declared_actions import read_declared
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.files import write_strategy
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization


def stored_organization(store: Store) -> Organization:
    """Everything the store defines, notification settings included: what `los export`
    writes and what an edit in the browser starts from."""
    with store.reading() as conn:
        org = read_organization(conn)
        if org is not None:
            org = dataclasses.replace(
                org,
                notifications=notify_settings.read_settings(conn),
                reviews=review_settings.read_cadences(conn),
                actions=read_declared(conn),
            )
    if org is None:
        raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    return org


def export_strategy(store: Store, path: Path | None = None) -> str:
    """The store's strategy file text; written to `path` too when given."""
    org = stored_organization(store)
    if path is not None:
        write_strategy(org, path)
    return dump_organization(org)
