"""Catalogue entries as strategy KPIs, and their insertion into a strategy file's text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lineofsight.library.addition import (
    InputDirection,
    NotInsertable,
    flow,
    formula_inputs,
    input_directions,
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


def _entry(kpi_id: str, direction: str, formula: str | None = None) -> str:
    measure = f"formula: {formula}" if formula else "method: Counted."
    extra = "\n    range: {low: 1, high: 2}" if direction == "range" else ""
    return (
        f"  - id: {kpi_id}\n    name: {kpi_id.title()}\n    description: {kpi_id}.\n"
        f"    measure:\n      {measure}\n    unit_of_measure: count\n"
        f"    direction: {direction}{extra}\n    aggregation: last\n    frequency: monthly\n"
        "    level: operational\n    type: lagging\n    industries: [all]\n"
    )


@pytest.fixture
def tiny(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A catalogue made for the direction rules: nested formulas, a range, a shared input."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "function: finance\nkpis:\n"
        + _entry("per_head", "increase", "output / heads")
        + _entry("output", "increase")
        + _entry("heads", "increase")
        + _entry("gap", "decrease", "per_head - band - output")
        + _entry("band", "range")
        + _entry("spread", "range", "output * 2 - heads")
        + _entry("net", "increase", "output - heads")
        + _entry("net_share", "increase", "net / output")
    )
    return load_catalogue([path])


def test_a_new_input_moves_the_way_its_formula_needs(tiny) -> None:  # type: ignore[no-untyped-def]
    chosen = input_directions(tiny, "per_head", ["output", "heads"])
    assert chosen["output"] == InputDirection("increase")  # as in the catalogue: no reason
    assert chosen["heads"].direction == "decrease"  # per_head = output / heads is to increase
    assert chosen["heads"].reason == (
        "raising it lowers 'per_head' = output / heads, which is to increase"
    )


def test_nested_formulas_pass_the_derived_direction_down(tiny) -> None:  # type: ignore[no-untyped-def]
    # gap is to decrease, so per_head must decrease, so output must fall under per_head and
    # heads must rise. Through gap = per_head - band - output, written out as
    # output / heads - band - output, output's effect cancels at 1 for every input: no need.
    chosen = input_directions(tiny, "gap", ["per_head", "band", "output", "heads"])
    assert chosen["per_head"].direction == "decrease"
    assert chosen["heads"].direction == "increase"
    assert chosen["band"] == InputDirection("range")  # a range input keeps its range
    assert chosen["output"].direction == "decrease"
    assert chosen["output"].conflict is None


def test_readers_that_need_opposite_moves_keep_the_catalogue_direction(tmp_path: Path) -> None:
    # stock / flow is to fall and owed / flow to rise: flow cannot please both.
    path = tmp_path / "two.yaml"
    path.write_text(
        "function: finance\nkpis:\n"
        + _entry("cycle", "decrease", "days_held - days_owed")
        + _entry("days_held", "decrease", "stock / flow")
        + _entry("days_owed", "increase", "owed / flow")
        + _entry("stock", "decrease")
        + _entry("owed", "increase")
        + _entry("flow", "increase")
    )
    chosen = input_directions(
        load_catalogue([path]), "cycle", ["days_held", "days_owed", "stock", "owed", "flow"]
    )
    assert chosen["flow"].direction == "increase"  # the catalogue's, since readers disagree
    assert chosen["flow"].conflict is not None


def test_a_range_formula_leaves_its_inputs_as_the_catalogue_has_them(tiny) -> None:  # type: ignore[no-untyped-def]
    chosen = input_directions(tiny, "spread", ["output", "heads"])
    assert chosen == {"output": InputDirection("increase"), "heads": InputDirection("increase")}


def test_inputs_the_strategy_has_are_not_directed(tiny) -> None:  # type: ignore[no-untyped-def]
    # Only `net` is new: `output` is in the strategy already and keeps what it has there;
    # `heads` is settled through `net` alone.
    chosen = input_directions(tiny, "net_share", ["net", "heads"])
    assert set(chosen) == {"net", "heads"}
    assert chosen["heads"].direction == "decrease"


def test_kpi_item_writes_the_chosen_direction_but_keeps_a_range() -> None:
    catalogue = load_catalogue([FIXTURES / "sample.yaml"])
    sales = kpi_item(catalogue.by_id["credit_sales"], unit="f", owner="p", direction="decrease")
    assert sales["direction"] == "decrease"
    beds = kpi_item(
        catalogue.by_id["bed_occupancy_rate"], unit="w", owner="n", direction="increase"
    )
    assert beds["direction"] == "range" and beds["range"] == {"low": 85, "high": 92}
