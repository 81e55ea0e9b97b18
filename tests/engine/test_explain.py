"""Explaining a change (SPEC section 3): Shapley values over a formula's inputs, each child
unit's own change for a sum across units, no breakdown for a KPI measured directly."""

from __future__ import annotations

import math
import re

import pytest

from lineofsight.domain import model as m
from lineofsight.domain.periods import parse_period
from lineofsight.engine.explain import Explanation, Method, explain, kpi_period
from lineofsight.engine.values import ValueTable, measurements_frame
from lineofsight.errors import UsageError
from lineofsight.spec.files import parse_strategy

ORG = parse_strategy(
    """
version: 1
organization:
  name: Explained
  calendar: {fiscal_year_start: 4}
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
    - {id: west, name: West, level: department, parent: co}
    - {id: north, name: North, level: department, parent: co}
kpis:
  - {id: a, name: A, unit: co, frequency: monthly, direction: increase}
  - {id: b, name: B, unit: co, frequency: monthly, direction: increase}
  - {id: c, name: C, unit: co, frequency: monthly, direction: increase}
  - {id: total, name: Total, unit: co, frequency: monthly, direction: increase, formula: a + b + c}
  - {id: gap, name: Gap, unit: co, frequency: monthly, direction: decrease, formula: a - b}
  - {id: product, name: Product, unit: co, frequency: monthly, direction: increase, formula: a * b}
  - {id: ratio, name: Ratio, unit: co, frequency: monthly, direction: increase,
     formula: gap / total * 100}
  - {id: nested, name: Nested, unit: co, frequency: monthly, direction: increase,
     formula: gap + c}
  - {id: fragile, name: Fragile, unit: co, frequency: monthly, direction: increase,
     formula: a / (b - c)}
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase, aggregation: sum}
  - {id: csat, name: CSAT, unit: co, frequency: monthly, direction: increase,
     across_units: mean}
  - {id: ccc, name: CCC, unit: co, frequency: quarterly, direction: decrease, formula: a + b - c}
""",
    "explain.yaml",
)

P0, P1 = "2026-08", "2026-09"


def values(*items: tuple[str, str, str, float]) -> ValueTable:
    rows = []
    for kpi, unit, period, value in items:
        p = parse_period(period, ORG.calendar)
        rows.append(
            {
                "kpi_id": kpi,
                "unit_id": unit,
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": None,
                "denominator": None,
            }
        )
    return ValueTable(ORG, measurements_frame(rows))


def inputs(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> ValueTable:
    items = []
    for name, pair in (("a", a), ("b", b), ("c", c)):
        items += [(name, "co", P0, pair[0]), (name, "co", P1, pair[1])]
    return values(*items)


def run(table: ValueTable, kpi: str, depth: int = 1, p0: str = P0, p1: str = P1) -> Explanation:
    return explain(
        table, ORG, kpi, parse_period(p0, ORG.calendar), parse_period(p1, ORG.calendar), depth
    )


def shares(e: Explanation) -> dict[str, float]:
    return {c.id: c.contribution for c in e.contributions}


A, B, C = (10.0, 13.0), (4.0, 2.0), (5.0, 9.0)
A0, A1, B0, B1, C0, C1 = *A, *B, *C


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        # a sum: each input's own change
        ("total", {"a": 3.0, "b": -2.0, "c": 4.0}),
        # a difference: the subtracted input's change with its sign turned
        ("gap", {"a": 3.0, "b": 2.0}),
        # x * y: dx * (y0 + y1) / 2 and dy * (x0 + x1) / 2
        ("product", {"a": 3.0 * (4 + 2) / 2, "b": -2.0 * (10 + 13) / 2}),
        # a formula over formulas: Shapley over its two direct inputs, gap and total
        (
            "ratio",
            {
                "gap": 50 * ((11 / 19 - 6 / 19) + (11 / 24 - 6 / 24)),
                "total": 50 * ((6 / 24 - 6 / 19) + (11 / 24 - 11 / 19)),
            },
        ),
    ],
)
def test_formula_contributions(kpi: str, expected: dict[str, float]) -> None:
    e = run(inputs(A, B, C), kpi)
    assert e.method is Method.FORMULA and e.exact
    assert shares(e) == pytest.approx(expected)
    assert e.residual == pytest.approx(0.0, abs=1e-12)
    assert sum(shares(e).values()) == pytest.approx(e.change)


def test_values_and_change() -> None:
    e = run(inputs(A, B, C), "product")
    assert (e.from_value, e.to_value, e.change) == (40.0, 26.0, -14.0)
    assert (e.from_period.label, e.to_period.label, e.unit) == (P0, P1, "co")
    a = e.contributions[0]
    assert (a.kind, a.id, a.from_value, a.to_value, a.own_change) == ("kpi", "a", 10, 13, 3)


def test_nested_breakdown_at_depth_2() -> None:
    table = inputs(A, B, C)
    flat = run(table, "nested")
    assert all(c.breakdown is None for c in flat.contributions)
    deep = run(table, "nested", depth=2)
    assert shares(deep) == pytest.approx({"gap": 5.0, "c": 4.0})
    gap = deep.contributions[0]
    assert gap.breakdown is not None
    assert gap.breakdown.kpi == "gap" and gap.breakdown.method is Method.FORMULA
    assert shares(gap.breakdown) == pytest.approx({"a": 3.0, "b": 2.0})
    # the outer formula is a sum, so the inner split adds up to the input's contribution
    assert sum(shares(gap.breakdown).values()) == pytest.approx(gap.contribution)
    assert deep.contributions[1].breakdown is None  # c is measured: nothing to split


def test_nested_breakdown_splits_the_inputs_own_change() -> None:
    deep = run(inputs(A, B, C), "ratio", depth=3)
    gap = deep.contributions[0]
    assert gap.breakdown is not None
    # the breakdown adds up to gap's own change (11 - 6), not to its share of the ratio's change
    assert gap.breakdown.change == pytest.approx(5.0)
    assert sum(shares(gap.breakdown).values()) == pytest.approx(5.0)


def test_quarterly_formula_over_monthly_inputs() -> None:
    table = values(
        *[(k, "co", f"2026-{mm:02d}", v) for mm in (4, 5, 6) for k, v in (("a", 1), ("b", 2))],
        *[(k, "co", f"2026-{mm:02d}", v) for mm in (4, 5, 6) for k, v in (("c", 3),)],
        *[(k, "co", f"2026-{mm:02d}", v) for mm in (7, 8, 9) for k, v in (("a", 2), ("b", 5))],
        *[(k, "co", f"2026-{mm:02d}", v) for mm in (7, 8, 9) for k, v in (("c", 1),)],
    )
    e = run(table, "ccc", p0="FY2027-Q1", p1="FY2027-Q2")
    assert (e.from_value, e.to_value) == (0.0, 6.0)
    assert shares(e) == pytest.approx({"a": 1.0, "b": 3.0, "c": 2.0})


def test_sum_across_units_gives_each_child_units_own_change() -> None:
    table = values(
        ("sales", "east", P0, 100),
        ("sales", "east", P1, 130),
        ("sales", "west", P0, 50),
        ("sales", "west", P1, 40),
        ("sales", "north", P1, 7),  # a new unit adds its whole value
    )
    e = run(table, "sales")
    assert e.method is Method.UNITS and e.exact and e.across is m.AcrossUnits.SUM
    assert (e.from_value, e.to_value) == (150, 177)
    assert [c.kind for c in e.contributions] == ["unit"] * 3
    assert shares(e) == {"east": 30.0, "north": 7.0, "west": -10.0}
    assert e.residual == 0


def test_mean_across_units_shows_the_residual() -> None:
    table = values(
        ("csat", "east", P0, 80),
        ("csat", "east", P1, 90),
        ("csat", "west", P0, 60),
        ("csat", "west", P1, 60),
    )
    e = run(table, "csat")
    assert e.method is Method.UNITS and not e.exact
    assert e.change == 5.0
    assert shares(e) == {"east": 10.0, "west": 0.0}
    assert e.residual == -5.0  # the per-unit changes do not add up for a mean


def test_own_value_wins_and_the_split_is_not_exact() -> None:
    table = values(
        ("sales", "co", P0, 1000),
        ("sales", "co", P1, 1000),
        ("sales", "east", P0, 100),
        ("sales", "east", P1, 130),
    )
    e = run(table, "sales")
    assert e.method is Method.UNITS and e.own_value and not e.exact
    assert e.residual == -30.0


def test_a_measured_kpi_has_no_breakdown() -> None:
    e = run(inputs(A, B, C), "a")
    assert e.method is Method.MEASURED
    assert e.contributions == ()
    assert e.residual == e.change == 3.0


def test_depth_reaches_child_units_of_a_formula_input() -> None:
    org = parse_strategy(
        """
version: 1
organization:
  name: Deep
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
kpis:
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase, aggregation: sum}
  - {id: double, name: Double, unit: co, frequency: monthly, direction: increase,
     formula: sales * 2}
""",
        "deep.yaml",
    )
    rows = []
    for period, value in ((P0, 1.0), (P1, 4.0)):
        p = parse_period(period)
        rows.append(
            {
                "kpi_id": "sales",
                "unit_id": "east",
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": None,
                "denominator": None,
            }
        )
    table = ValueTable(org, measurements_frame(rows))
    e = explain(table, org, "double", parse_period(P0), parse_period(P1), depth=2)
    (sales,) = e.contributions
    assert sales.contribution == 6.0
    assert sales.breakdown is not None and sales.breakdown.method is Method.UNITS
    assert shares(sales.breakdown) == {"east": 3.0}


@pytest.mark.parametrize(
    ("kpi", "p0", "p1", "message"),
    [
        ("a", "2026-07", P1, "'a' has no value for 2026-07"),
        ("total", P0, "2026-10", "'total' has no value for 2026-10 (no value of 'a', 'b', 'c')"),
        ("ccc", "2026-08", "FY2027-Q2", "2026-08 is not a period of 'ccc' (quarterly)"),
        ("nope", P0, P1, "unknown KPI 'nope'"),
        ("totl", P0, P1, "did you mean 'total'?"),
    ],
)
def test_bad_input_is_a_usage_error(kpi: str, p0: str, p1: str, message: str) -> None:
    with pytest.raises(UsageError, match=_literal(message)):
        run(inputs(A, B, C), kpi, p0=p0, p1=p1)


def test_depth_below_1_is_refused() -> None:
    with pytest.raises(UsageError, match="--depth 0"):
        run(inputs(A, B, C), "total", depth=0)


def test_a_formula_without_value_for_a_mix_of_periods_cannot_be_split() -> None:
    # a / (b - c): b - c is 1 in both periods, but b at P0 with c at P1 is 2 - 2 = 0
    table = inputs((1.0, 2.0), (2.0, 3.0), (1.0, 2.0))
    with pytest.raises(UsageError, match="cannot split the change of 'fragile'"):
        run(table, "fragile")


@pytest.mark.parametrize(
    ("kpi", "text", "expected"),
    [
        ("ccc", "FY2027-Q2", "FY2027-Q2"),
        ("ccc", "fy2027-q2", "FY2027-Q2"),
        ("ccc", "2026-Q4", "FY2027-Q3"),  # the same days as a calendar quarter
        ("ccc", "2026-Q3", "FY2027-Q2"),
        ("a", "2026-09", "2026-09"),
    ],
)
def test_kpi_period(kpi: str, text: str, expected: str) -> None:
    found = ORG.kpi(kpi)
    assert found is not None
    assert kpi_period(found, text, ORG.calendar, "--from").label == expected


@pytest.mark.parametrize(
    ("kpi", "text", "message"),
    [
        (
            "ccc",
            "2026-10",
            "--from 2026-10: 'ccc' is quarterly, so give one of its periods, such as FY2027-Q3",
        ),
        ("ccc", "2026", "'ccc' is quarterly, so give one of its periods, such as FY2026-Q4"),
        ("a", "FY2027-Q2", "'a' is monthly"),
        ("a", "2026-13", "--from '2026-13' is not a valid period: month must be 01-12"),
        ("a", "soon", "--from 'soon' is not a valid period"),
    ],
)
def test_kpi_period_refuses_other_grains(kpi: str, text: str, message: str) -> None:
    found = ORG.kpi(kpi)
    assert found is not None
    with pytest.raises(UsageError, match=_literal(message)):
        kpi_period(found, text, ORG.calendar, "--from")


def _literal(text: str) -> str:
    return re.escape(text)


def test_contributions_of_a_long_sum_add_up_exactly() -> None:
    e = run(inputs((0.1, 0.7), (0.2, 0.3), (1e-9, 3e9)), "total")
    assert math.isclose(sum(shares(e).values()), e.change, rel_tol=1e-12)
