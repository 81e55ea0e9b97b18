"""The KPI catalogue: the shipped files are sound, and broken files are reported line by line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lineofsight.domain.formula import parse_formula, references
from lineofsight.library import validate
from lineofsight.library.catalogue import (
    CatalogueError,
    catalogue_files,
    check_catalogue,
    load_catalogue,
)
from lineofsight.library.model import FUNCTIONS, INDUSTRIES

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_shipped_catalogue_has_no_problem() -> None:
    catalogue, problems = check_catalogue()
    assert [str(p) for p in problems] == []
    assert len(catalogue.entries) >= 300


def test_every_formula_parses_and_reads_existing_entries() -> None:
    catalogue = load_catalogue()
    formulas = [e for e in catalogue.entries if e.measure.formula is not None]
    assert formulas, "the catalogue should define some KPIs by formula"
    for entry in formulas:
        assert entry.measure.formula is not None
        for ref in references(parse_formula(entry.measure.formula)):
            assert ref in catalogue.by_id, (entry.id, ref)
    for entry in catalogue.entries:
        for driver in entry.drivers:
            assert driver.kpi in catalogue.by_id, (entry.id, driver.kpi)


def test_no_two_entries_are_the_same_kpi() -> None:
    catalogue = load_catalogue()
    ids = [e.id for e in catalogue.entries]
    names = [e.name.lower() for e in catalogue.entries]
    abbreviations = [a.lower() for e in catalogue.entries for a in e.abbreviations]
    measures = [
        " ".join(e.measure.formula.split())
        if e.measure.formula
        else (e.measure.ratio.numerator.lower(), e.measure.ratio.denominator.lower())
        for e in catalogue.entries
        if e.measure.formula or e.measure.ratio
    ]
    for values in (ids, names, abbreviations, measures):
        assert len(values) == len(set(values))


def test_the_catalogue_covers_every_function_and_industry() -> None:
    functions, industries = load_catalogue().count_by()
    for function in FUNCTIONS:
        assert functions.get(function, 0) >= 10, function
    for industry in INDUSTRIES:
        assert industries.get(industry, 0) >= 5, industry


def test_every_file_is_named_by_the_package() -> None:
    names = {path.name for path in catalogue_files()}
    assert "finance.yaml" in names
    assert all(name.endswith(".yaml") for name in names)


def test_a_sound_fixture_loads_with_derived_drivers() -> None:
    catalogue = load_catalogue([FIXTURES / "sample.yaml"])
    assert len(catalogue.entries) == 5
    assert catalogue.by_id["bed_occupancy_rate"].function == "operations"
    assert catalogue.by_id["credit_sales"].function == "finance"  # the file's default
    links = {
        (link.kpi, link.via, link.sign) for link in catalogue.drivers_of("days_sales_outstanding")
    }
    assert links == {
        ("accounts_receivable", "formula", 1),
        ("credit_sales", "formula", -1),
        ("invoice_accuracy", "driver", -1),
    }


EXPECTED = [
    ("broken.yaml", 2, "unknown key 'colour'"),
    ("broken.yaml", 16, "id 'revenue' is already used by the entry at"),
    ("broken.yaml", 28, "name 'revenue' is also the name of kpi revenue"),
    ("broken.yaml", 31, "kpi gross_margin: formula: column 43: syntax error"),
    ("broken.yaml", 42, "give exactly one of formula, ratio or method (found: formula, method)"),
    ("broken.yaml", 46, "direction: input should be 'increase', 'decrease' or 'range'"),
    ("broken.yaml", 49, "frequency: input should be"),
    ("broken.yaml", 52, "industries[0]: input should be"),
    ("broken.yaml", 67, "kpi loop_a: an entry cannot drive itself"),
    ("broken.yaml", 71, "(found: formula, ratio)"),
    ("broken.yaml", 82, "formulas form a cycle: loop_c -> loop_d -> loop_c"),
    ("broken.yaml", 93, "the formula reads 'ghost_total', which is not a catalogue entry"),
    ("broken.yaml", 102, "driver 'loop_c' is a formula input already"),
    ("broken.yaml", 106, "a comma inside {...} splits the text"),
    ("broken.yaml", 114, "range is only for direction range"),
    ("broken.yaml", 128, "the id is the abbreviation 'COGS'"),
    ("sample.yaml", 42, "'DSO' is also the abbreviation of kpi cogs"),
    ("sample.yaml", 46, "the formula is also the measure of kpi cogs"),
]


def test_broken_files_report_every_problem_with_file_and_line() -> None:
    _catalogue, problems = check_catalogue([FIXTURES / "broken.yaml", FIXTURES / "sample.yaml"])
    found = [(Path(p.file).name, p.line, p.message) for p in problems]
    for name, line, text in EXPECTED:
        assert any((f, n) == (name, line) and text in message for f, n, message in found), (
            name,
            line,
            text,
            found,
        )
    assert len(found) == len(EXPECTED), "\n".join(map(str, problems))
    # A reference to an entry that is broken itself is not reported a second time.
    assert not any("reads 'loop_b'" in message for _f, _n, message in found)


def test_a_syntax_error_is_one_problem_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("function: finance\nkpis:\n  - id: x\n    name: [unclosed\n")
    _catalogue, problems = check_catalogue([path])
    assert len(problems) == 1
    assert problems[0].line >= 4 and "YAML syntax error" in problems[0].message


def test_load_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("function: mining\nkpis: {}\n")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([path])
    messages = [p.message for p in caught.value.problems]
    assert any("unknown function 'mining'" in m for m in messages)
    assert any("kpis must be a list" in m for m in messages)


def test_the_validate_entry_point_prints_problems_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = validate.main([str(FIXTURES / "broken.yaml")])
    out = capsys.readouterr()
    assert code == 1
    assert "broken.yaml:2: unknown key 'colour'" in out.out
    assert re.search(r"\b[0-9]+ problems? in the KPI catalogue", out.err)


def test_the_validate_entry_point_counts_a_sound_catalogue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert validate.main([str(FIXTURES / "sample.yaml")]) == 0
    out = capsys.readouterr().out
    assert "5 KPIs, no problems" in out
    assert "finance            4" in out
    assert "healthcare           1" in out


def test_a_formula_finer_than_an_input_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "finance.yaml"
    entry = """  - id: {id}
    name: {name}
    description: A test entry.
    measure:
      {measure}
    unit_of_measure: count
    direction: increase
    aggregation: sum
    frequency: {frequency}
    level: operational
    type: lagging
    industries: [all]
"""
    path.write_text(
        "function: finance\nkpis:\n"
        + entry.format(id="sales", name="Sales", measure="method: Counted.", frequency="monthly")
        + entry.format(
            id="weekly_double",
            name="Weekly double",
            measure="formula: sales * 2",
            frequency="weekly",
        )
    )
    _catalogue, problems = check_catalogue([path])
    assert [(p.line, p.message) for p in problems] == [
        (
            23,  # the formula's frequency
            "kpi weekly_double: a weekly formula cannot read 'sales', which is monthly: "
            "it would never have a value",
        )
    ], problems


def test_a_long_chain_of_formulas_ending_in_a_cycle_is_one_problem(tmp_path: Path) -> None:
    # Deeper than Python's recursion limit: the walk must not depend on the call stack.
    path = tmp_path / "finance.yaml"
    entry = """  - id: {id}
    name: {name}
    description: A test entry.
    measure:
      formula: {formula}
    unit_of_measure: count
    direction: increase
    aggregation: sum
    frequency: monthly
    level: operational
    type: lagging
    industries: [all]
"""
    depth = 1500
    entries = [
        entry.format(id=f"step_{i}", name=f"Step {i}", formula=f"step_{i + 1} * 2")
        for i in range(depth)
    ]
    entries.append(entry.format(id=f"step_{depth}", name="Last step", formula="step_1 + 1"))
    path.write_text("function: finance\nkpis:\n" + "".join(entries))
    _catalogue, problems = check_catalogue([path])
    messages = [p.message for p in problems]
    assert len(messages) == 1, messages[:3]
    assert messages[0].startswith("kpi step_1: formulas form a cycle: step_1 -> step_2 -> ")
    assert messages[0].endswith(f" -> step_{depth} -> step_1")
    assert problems[0].line == 2 + 13 + 4  # step_1's formula
