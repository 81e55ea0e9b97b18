"""Every rule is documented: code and name from its module, docstring sections, and an entry
in docs/checks.md, which must match what the code generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lineofsight.checks.docs import SECTIONS, render, rule_sections
from lineofsight.checks.registry import all_rules

DOCS = Path(__file__).parents[2] / "docs" / "checks.md"
SPEC_CODES = [
    "AL01",
    "AL02",
    "AL03",
    "AL04",
    "AL05",
    "AL06",
    "SM01",
    "SM02",
    "SM03",
    "SM04",
    "SM05",
    "OW01",
    "OW02",
    "OW03",
    "DA01",
    "DA02",  # beyond the specification's: a stored ratio that makes no ratio
    "CF01",
    "CF02",
    "CF03",
    "CF04",
    "AC01",
    "AC02",
]


def test_the_rules_of_the_spec_exist_and_no_other() -> None:
    assert sorted(rule.code for rule in all_rules()) == sorted(SPEC_CODES)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_docstring_has_every_section(rule) -> None:  # type: ignore[no-untyped-def]
    doc = type(rule).__doc__ or ""
    for section in SECTIONS:
        assert section in doc, f"{rule.code} docstring lacks {section!r}"
    parts = rule_sections(rule)
    for section in ("Why it matters", "Bad", "Good"):
        assert parts[section].strip(), f"{rule.code}: empty {section}"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert type(rule).__module__.endswith(f"{rule.code.lower()}_{rule.name.replace('-', '_')}")


def test_docs_file_is_in_step_with_the_code() -> None:
    assert DOCS.read_text() == render(), (
        "docs/checks.md is out of date: run `python -m lineofsight.checks.docs > docs/checks.md`"
    )


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_is_in_the_reference(rule) -> None:  # type: ignore[no-untyped-def]
    assert f"## {rule.code} {rule.name}" in DOCS.read_text()
