"""Catalogue entries as strategy KPIs, and their insertion into a strategy file's text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lineofsight.library.addition import (
    NotInsertable,
    flow,
    formula_inputs,
    insert_kpis,
    kpi_item,
)
from lineofsight.library.catalogue import load_catalogue

FIXTURES = Path(__file__).parent / "fixtures"
ITEM = {"id": "new_kpi", "name": "New KPI", "supports": [{"objective": "grow"}]}

HEAD = "version: 1\n# a comment that must stay\nkpis:\n"


def test_flow_quotes_only_what_needs_it() -> None:
    assert flow("Days Sales Outstanding") == "Days Sales Outstanding"
    assert flow("Measured as: a count") == '"Measured as: a count"'
    assert flow("2026-01-01") == '"2026-01-01"'  # YAML would read a date
    assert flow("yes") == '"yes"'
    assert flow("%") == '"%"'
    assert flow({"numerator": "a, b", "scale": 100.0}) == '{numerator: "a, b", scale: 100}'
    assert flow([{"objective": "grow"}]) == "[{objective: grow}]"
    assert flow(0.5) == "0.5"
    for value in ("a: b", "#x", "x #y", "[a]", "- a", "it's", 'say "hi"', "ünï"):
        assert yaml.safe_load(f"k: {flow(value)}") == {"k": value}


def test_items_go_after_the_last_kpi_keeping_everything_else() -> None:
    text = HEAD + "  - id: a\n    name: A\n\n  - id: b\n    name: B\n\n# next section\nchecks: {}\n"
    result = insert_kpis(text, [ITEM])
    assert result == (
        HEAD
        + "  - id: a\n    name: A\n\n  - id: b\n    name: B\n\n"
        + "  - id: new_kpi\n    name: New KPI\n    supports: [{objective: grow}]\n"
        + "\n# next section\nchecks: {}\n"
    )


def test_items_follow_the_files_indentation_and_spacing() -> None:
    text = "kpis:\n- id: a\n  name: A\n- id: b\n  name: B\n"
    assert insert_kpis(text, [ITEM]).endswith(
        "- id: b\n  name: B\n- id: new_kpi\n  name: New KPI\n  supports: [{objective: grow}]\n"
    )


def test_a_file_without_kpis_or_with_an_empty_list_gets_one() -> None:
    assert insert_kpis("version: 1", [ITEM]) == (
        "version: 1\n\nkpis:\n  - id: new_kpi\n    name: New KPI\n"
        "    supports: [{objective: grow}]\n"
    )
    assert insert_kpis("kpis: []\nchecks: {}\n", [ITEM]).startswith("kpis:\n  - id: new_kpi\n")
    with pytest.raises(NotInsertable):
        insert_kpis("kpis: [{id: a}]\n", [ITEM])


def test_windows_line_ends_are_kept() -> None:
    assert insert_kpis("kpis:\r\n  - id: a\r\n", [ITEM]) == (
        "kpis:\r\n  - id: a\r\n"
        "  - id: new_kpi\r\n    name: New KPI\r\n    supports: [{objective: grow}]\r\n"
    )


def test_a_catalogue_entry_maps_to_strategy_fields() -> None:
    catalogue = load_catalogue([FIXTURES / "sample.yaml"])
    dso = kpi_item(
        catalogue.by_id["days_sales_outstanding"],
        unit="finance",
        owner="fay",
        level="strategic",
        supports="collect",
    )
    assert dso == {
        "id": "days_sales_outstanding",
        "name": "Days Sales Outstanding",
        "description": "Average number of days between invoicing a sale and collecting the cash.",
        "unit_of_measure": "days",
        "level": "strategic",
        "type": "lagging",
        "unit": "finance",
        "owner": "fay",
        "frequency": "monthly",
        "direction": "decrease",
        "aggregation": "last",
        "formula": "accounts_receivable / credit_sales * 91",
        "supports": [{"objective": "collect"}],
    }
    beds = kpi_item(catalogue.by_id["bed_occupancy_rate"], unit="ward", owner="nat")
    assert beds["range"] == {"low": 85, "high": 92}
    assert beds["ratio"] == {
        "numerator": "occupied beds at midnight",
        "denominator": "staffed beds",
    }
    assert beds["level"] == "operational" and "supports" not in beds
    ar = kpi_item(catalogue.by_id["accounts_receivable"], unit="finance", owner="fay")
    assert ar["description"].endswith(
        "Measured as: Sum of open customer invoices at the end of the period."
    )
    accuracy = kpi_item(catalogue.by_id["invoice_accuracy"], unit="finance", owner="fay")
    assert accuracy["ratio"]["scale"] == 100


def test_formula_inputs_are_found_through_nested_formulas() -> None:
    catalogue = load_catalogue()
    inputs = formula_inputs(catalogue, "cash_conversion_cycle")
    assert {"days_inventory_outstanding", "days_sales_outstanding"} <= set(inputs)
    assert "accounts_receivable" in inputs  # read by days_sales_outstanding's formula
    assert len(inputs) == len(set(inputs))
