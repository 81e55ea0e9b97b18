"""A closed objective (`status: closed`) keeps its own row but is out of its parent's score,
coverage, counts and worst item: the globalhealth example closes `ed_rapid_assessment`, a
project delivered in June 2025, whose red must not mark down "Timely care"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lineofsight.examples
from lineofsight.domain import model as m
from lineofsight.spec.files import read_strategy
from tests.conftest import Los
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

CLOSED, PARENT = "ed_rapid_assessment", "timely_care"


@pytest.fixture
def los(request: pytest.FixtureRequest, unmade_db_url: str) -> Los:
    copy_example(request, unmade_db_url, "globalhealth")  # as `los init --example` leaves it
    return Los(unmade_db_url)


def test_a_closed_objective_is_out_of_its_parents_roll_up(los: Los) -> None:
    org = read_strategy(
        Path(lineofsight.examples.__file__).parent / "globalhealth" / "strategy.yaml"
    )
    objectives = {o.id: o for o in org.objectives}
    assert objectives[CLOSED].status is m.ObjectiveStatus.CLOSED
    assert objectives[CLOSED].parent == PARENT
    result = los("status", "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    rows = {row["id"]: row for row in document["objectives"]}
    # Its own row stays, scored as it ended (red: the example's data leaves it far short).
    assert rows[CLOSED]["status"] == "red"
    assert rows[CLOSED]["score"] is not None
    # The parent's direct items: its supporting KPIs at their own units, and its open children.
    items: list[tuple[str, float, float | None, str]] = []
    for kpi in org.kpis:
        for support in kpi.supports:
            if support.objective == PARENT:
                row = next(
                    r for r in document["kpis"] if r["id"] == kpi.id and r["unit"] == kpi.unit
                )
                items.append((kpi.id, support.weight, row["score"], row["status"]))
    for child in org.objectives:
        if child.parent == PARENT and child.status is not m.ObjectiveStatus.CLOSED:
            child_row = rows[child.id]
            items.append((child.id, child.weight, child_row["score"], child_row["status"]))
    assert items
    scored = [(w, s) for _, w, s, _ in items if s is not None]
    want = sum(w * s for w, s in scored) / sum(w for w, _ in scored)
    parent = rows[PARENT]
    assert parent["score"] == pytest.approx(want, rel=1e-12)
    assert sum(parent["counts"].values()) == len(items)
    for status in ("green", "amber", "red"):
        assert parent["counts"][status] == sum(1 for *_, s in items if s == status)
    assert parent["worst"]["id"] != CLOSED
    # The tree says which objective is closed.
    tree = los("tree", "--period", "2026-10")
    assert tree.exit_code == 0, tree.output
    words = " ".join(tree.output.split())  # lines wrapped under their branch, put back
    assert f"{CLOSED} · emergency · closed" in words
