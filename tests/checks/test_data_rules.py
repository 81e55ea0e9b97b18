"""Which rules look at measurements: the store check reads none when no selected rule does."""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import replace

from lineofsight.checks.base import Selection
from lineofsight.checks.registry import all_rules
from lineofsight.checks.runner import reads_data, run_checks
from lineofsight.spec.files import parse_strategy


def test_every_rule_that_looks_at_measurements_says_so() -> None:
    for rule in all_rules():
        looks = "ctx.measurements" in inspect.getsource(inspect.getmodule(type(rule)))  # type: ignore[arg-type]
        declared = rule.needs_data or rule.reads_data
        assert looks == declared, rule.code


def test_values_are_wanted_only_for_a_selected_rule_that_reads_them() -> None:
    assert reads_data(Selection())
    assert not reads_data(Selection(select=frozenset({"AL01", "OW02"})))
    assert reads_data(Selection(select=frozenset({"AL01", "CF01"})))
    assert not reads_data(Selection(ignore=frozenset({"AC01", "CF01", "DA01", "DA02", "SM03"})))
    assert reads_data(Selection(select=frozenset({"AC01"})))


def test_an_overdue_action_on_an_item_no_longer_defined_is_not_reported() -> None:
    # Actions entered in the web app stay when a later apply removes their KPI or objective.
    strategy = """\
version: 1
organization:
  name: Gone
  units: [{id: co, name: Co, level: company}]
  people: [{id: ann, name: Ann, unit: co}]
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co}
kpis:
  - {id: revenue, name: Revenue, unit: co, frequency: monthly, direction: increase}
  - {id: visits, name: Visits, unit: co, frequency: monthly, direction: increase}
actions:
  - {id: a1, kpi: revenue, title: Call, due: 2026-10-31}
  - {id: a2, kpi: visits, title: Post, due: 2026-10-31}
  - {id: a3, objective: grow, title: Plan, due: 2026-10-31}
"""
    org = parse_strategy(strategy, "gone.yml")
    selection = Selection(select=frozenset({"AC02"}))
    day = dt.date(2026, 11, 22)
    every = run_checks(org, day, None, selection).findings
    assert sorted(f.subject.id for f in every) == ["grow", "revenue", "visits"]
    gone = replace(org, kpis=tuple(k for k in org.kpis if k.id != "revenue"), objectives=())
    left = run_checks(gone, day, None, selection).findings
    assert [(f.subject.kind.value, f.subject.id) for f in left] == [("kpi", "visits")]
