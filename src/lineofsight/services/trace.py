"""`los trace`: the line of sight from a KPI, an objective or a person, on the store or a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lineofsight.domain import model as m
from lineofsight.domain.text import did_you_mean
from lineofsight.engine.trace import Trace, trace
from lineofsight.errors import UsageError
from lineofsight.spec.files import read_strategy
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization


@dataclass(frozen=True, slots=True)
class TraceResult:
    """The trace, with the organisation it was traced in (for names, titles and the mission)."""

    trace: Trace
    org: m.Organization


def trace_item(item_id: str, *, file: Path | None, store: Store | None) -> TraceResult:
    """Trace an id in a strategy file, or in the store when no file is given."""
    if file is not None:
        org = read_strategy(file)
    else:
        assert store is not None
        with store.reading() as conn:
            found = read_organization(conn)
        if found is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        org = found
    result = trace(org, item_id)
    if result is None:
        raise UsageError(_unknown(org, item_id))
    return TraceResult(result, org)


def _unknown(org: m.Organization, item_id: str) -> str:
    if any(u.id == item_id for u in org.units):
        return f"'{item_id}' is a unit: trace one of its KPIs, objectives or people instead"
    known = [k.id for k in org.kpis] + [o.id for o in org.objectives] + [p.id for p in org.people]
    return f"unknown id '{item_id}': no KPI, objective or person has it" + did_you_mean(
        item_id, known
    )
