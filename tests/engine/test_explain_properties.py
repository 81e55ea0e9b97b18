"""What must always hold for explanations: Shapley contributions add up to the change, an input
the formula ignores gets nothing, and a sum gives each input its own change."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.formula import (
    BinOp,
    Call,
    Expr,
    Neg,
    Number,
    Ref,
    evaluate,
    references,
    to_text,
)
from lineofsight.domain.periods import parse_period
from lineofsight.engine.explain import explain, shapley
from lineofsight.engine.values import ValueTable, measurements_frame

NAMES = ("a", "b", "c", "d")
VALUE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)

leaves = st.sampled_from([Ref(n) for n in NAMES]) | st.builds(Number, st.floats(0, 100))
formulas: st.SearchStrategy[Expr] = st.recursive(
    leaves,
    lambda inner: (
        st.builds(Neg, inner)
        | st.builds(BinOp, st.sampled_from(["+", "-", "*", "/"]), inner, inner)
        | st.builds(Call, st.sampled_from(["min", "max"]), st.tuples(inner, inner))
        | st.builds(Call, st.just("abs"), st.tuples(inner))
    ),
    max_leaves=8,
)
points = st.fixed_dictionaries({n: VALUE for n in NAMES})


def _names(expr: Expr) -> list[str]:
    return list(references(expr))


def _mixes(expr: Expr, before: dict[str, float], after: dict[str, float]) -> list[float | None]:
    names = _names(expr)
    return [
        evaluate(expr, {n: after[n] if mask >> i & 1 else before[n] for i, n in enumerate(names)})
        for mask in range(1 << len(names))
    ]


@settings(max_examples=300)
@given(formulas, points, points)
def test_shapley_contributions_add_up_to_the_change(
    expr: Expr, before: dict[str, float], after: dict[str, float]
) -> None:
    mixes = _mixes(expr, before, after)
    assume(all(v is not None for v in mixes))
    values = [v for v in mixes if v is not None]
    shares = shapley(expr, before, after)
    assert set(shares) == set(_names(expr))
    change = values[-1] - values[0]  # every input at P1, minus every input at P0
    scale = max([1.0] + [abs(v) for v in values])
    assert math.isclose(math.fsum(shares.values()), change, rel_tol=1e-9, abs_tol=1e-9 * scale)


@given(formulas, points, points)
def test_an_input_the_formula_ignores_gets_nothing(
    expr: Expr, before: dict[str, float], after: dict[str, float]
) -> None:
    # `expr + 0 * e`: e changes, but no value of the formula depends on it
    padded = BinOp("+", expr, BinOp("*", Number(0), Ref("e")))
    before, after = before | {"e": 1.0}, after | {"e": 7.0}
    assume(all(v is not None for v in _mixes(padded, before, after)))
    assert shapley(padded, before, after)["e"] == 0


@given(st.lists(VALUE, min_size=4, max_size=4), st.lists(VALUE, min_size=4, max_size=4))
def test_a_sum_gives_each_input_its_own_change(x0: list[float], x1: list[float]) -> None:
    expr = BinOp("-", BinOp("+", BinOp("+", Ref("a"), Ref("b")), Ref("c")), Ref("d"))
    shares = shapley(expr, dict(zip(NAMES, x0, strict=True)), dict(zip(NAMES, x1, strict=True)))
    signs = {"a": 1, "b": 1, "c": 1, "d": -1}
    for i, name in enumerate(NAMES):
        assert math.isclose(shares[name], signs[name] * (x1[i] - x0[i]), rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(formulas, points, points)
def test_explain_adds_up_through_the_value_table(
    expr: Expr, before: dict[str, float], after: dict[str, float]
) -> None:
    """The same through stored values: V(P1) - V(P0) is the sum of the contributions."""
    mixes = _mixes(expr, before, after)
    assume(all(v is not None for v in mixes))
    assume(_names(expr))
    kpis = [
        m.Kpi(
            id=n, name=n, unit="co", frequency=m.Frequency.MONTHLY, direction=m.Direction.INCREASE
        )
        for n in NAMES
    ]
    kpis.append(
        m.Kpi(
            id="f",
            name="F",
            unit="co",
            frequency=m.Frequency.MONTHLY,
            direction=m.Direction.INCREASE,
            formula=to_text(expr),
        )
    )
    org = m.Organization(
        name="P", units=(m.Unit("co", "Co", m.UnitLevel.COMPANY),), kpis=tuple(kpis)
    )
    p0, p1 = parse_period("2026-08"), parse_period("2026-09")
    rows = [
        {
            "kpi_id": name,
            "unit_id": "co",
            "period_start": period.start,
            "period_end": period.end,
            "value": point[name],
            "numerator": None,
            "denominator": None,
        }
        for period, point in ((p0, before), (p1, after))
        for name in NAMES
    ]
    e = explain(ValueTable(org, measurements_frame(rows)), org, "f", p0, p1)
    scale = max([1.0] + [abs(v) for v in mixes if v is not None])
    assert abs(e.residual) <= 1e-9 * scale
