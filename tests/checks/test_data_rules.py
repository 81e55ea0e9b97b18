"""Which rules look at measurements: the store check reads none when no selected rule does."""

from __future__ import annotations

import inspect

from lineofsight.checks.base import Selection
from lineofsight.checks.registry import all_rules
from lineofsight.checks.runner import reads_data


def test_every_rule_that_looks_at_measurements_says_so() -> None:
    for rule in all_rules():
        looks = "ctx.measurements" in inspect.getsource(inspect.getmodule(type(rule)))  # type: ignore[arg-type]
        declared = rule.needs_data or rule.reads_data
        assert looks == declared, rule.code


def test_values_are_wanted_only_for_a_selected_rule_that_reads_them() -> None:
    assert reads_data(Selection())
    assert not reads_data(Selection(select=frozenset({"AL01", "OW02"})))
    assert reads_data(Selection(select=frozenset({"AL01", "CF01"})))
    assert not reads_data(Selection(ignore=frozenset({"AC01", "CF01", "DA01", "SM03"})))
    assert reads_data(Selection(select=frozenset({"AC01"})))
