"""Every alignment rule, found in the `rules` package and ordered by code."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from lineofsight.checks import rules as rules_package
from lineofsight.checks.base import Rule


@cache
def all_rules() -> tuple[Rule, ...]:
    """One instance of each rule, ordered by code."""
    for module in pkgutil.iter_modules(rules_package.__path__):
        importlib.import_module(f"{rules_package.__name__}.{module.name}")
    found = [cls() for cls in _subclasses(Rule)]
    return tuple(sorted(found, key=lambda rule: rule.code))


def rule_by_code() -> dict[str, Rule]:
    return {rule.code: rule for rule in all_rules()}


def _subclasses(cls: type[Rule]) -> list[type[Rule]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found
