"""The drivers `library suggest` lists, and the direction each must move."""

from __future__ import annotations

from pathlib import Path

from lineofsight.library.cascade import cascade, move_for
from lineofsight.library.catalogue import load_catalogue

FIXTURES = Path(__file__).parent / "fixtures"


def test_moves_follow_the_kpis_direction_and_the_sign_of_each_effect() -> None:
    catalogue = load_catalogue([FIXTURES / "sample.yaml"])
    found = cascade(catalogue, "days_sales_outstanding", "decrease", 2, {"credit_sales"})
    moves = {d.id: (d.move, d.via, d.depth, d.in_strategy) for d in found}
    assert moves == {
        "accounts_receivable": ("decrease", "formula", 1, False),  # AR / sales: AR must fall
        "credit_sales": ("increase", "formula", 1, True),  # the denominator must rise
        "invoice_accuracy": ("increase", "driver", 1, False),  # negative effect on DSO
    }


def test_a_range_kpi_and_an_undecidable_sign() -> None:
    assert move_for("range", 1) == "hold within the KPI's range"
    assert move_for("increase", 0).startswith("depends")
    assert move_for("increase", -1) == "decrease"


def test_two_levels_multiply_the_signs_and_name_the_way_through() -> None:
    catalogue = load_catalogue()
    found = {d.id: d for d in cascade(catalogue, "cash_conversion_cycle", "decrease", 2, set())}
    dso = found["days_sales_outstanding"]
    assert (dso.depth, dso.move) == (1, "decrease")
    receivables = found["accounts_receivable"]
    assert (receivables.depth, receivables.through) == (2, "days_sales_outstanding")
    assert receivables.move == "decrease"  # + through dso, + on the cycle: must fall
    assert all(
        d.depth == 1 for d in cascade(catalogue, "cash_conversion_cycle", "decrease", 1, set())
    )
