"""The findings of the alignment check an attention list shows, and what the list says of
each subject (its name, unit and who answers for it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from lineofsight.services.attention_scope import Organisation, Scope
from lineofsight.store.attention_reads import Responsibilities
from lineofsight.store.database import Store

__all__ = ["findings_in_scope", "subject_of"]


def findings_in_scope(
    store: Store,
    day: dt.date,
    kpis: pl.DataFrame,
    objectives: pl.DataFrame,
    resp: Responsibilities,
    org: Organisation,
    scope: Scope,
) -> tuple[list[Any], Mapping[tuple[str, str], Mapping[str, Any]]]:
    """The findings of the check report kept for this date (run and kept when there is none),
    and what the list says of each subject in scope."""
    from lineofsight.services.check import check

    findings = check(file=None, store=store, as_of=day).findings
    wanted: dict[str, set[str]] = {}
    for f in findings:
        wanted.setdefault(f.subject.kind.value, set()).add(f.subject.id)
    subjects: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, frame in (("kpi", kpis), ("objective", objectives)):
        chosen = frame.filter(pl.col("id").is_in(list(wanted.get(kind, ()))))
        for row in chosen.iter_rows(named=True):
            subjects[(kind, row["id"])] = {
                "name": row["name"],
                "unit": row["unit"],
                "unit_name": row["unit_name"],
                "owner": row["owner_id"],
                "owner_name": row["owner_name"],
                "status": str(row["status"]),
                **({"period": row["period"]} if kind == "kpi" else {}),
            }
    for unit, lead in (
        resp.units.filter(pl.col("id").is_in(list(wanted.get("unit", ()))))
        .select("id", "lead_id")
        .iter_rows()
    ):
        if scope.holds(unit, lead):
            subjects[("unit", unit)] = subject_of(org, org.units.get(unit, unit), unit, lead)
    for person, unit in (
        resp.people.filter(pl.col("id").is_in(list(wanted.get("person", ()))))
        .select("id", "unit_id")
        .iter_rows()
    ):
        if scope.holds(unit, person):
            subjects[("person", person)] = subject_of(
                org, org.people.get(person, person), unit, person
            )
    return findings, subjects


def subject_of(org: Organisation, name: str, unit: str, owner: str | None) -> dict[str, Any]:
    """What a finding on a unit or a person shows: its name, unit and who answers for it."""
    return {
        "name": name,
        "unit": unit,
        "unit_name": org.units.get(unit),
        "owner": owner,
        "owner_name": org.people.get(owner) if owner else None,
    }
