"""The KPI formula language: allow-listed parsing, printing, evaluation, derivative signs."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lineofsight.domain.formula import (
    MAX_DEPTH,
    BinOp,
    Call,
    Expr,
    FormulaError,
    Neg,
    Number,
    Ref,
    evaluate,
    parse_formula,
    partial_sign,
    references,
    to_text,
)

a, b, c = Ref("a"), Ref("b"), Ref("c")


def n(value: float) -> Number:
    return Number(value)


VALID: list[tuple[str, Expr]] = [
    ("dio + dso - dpo", BinOp("-", BinOp("+", Ref("dio"), Ref("dso")), Ref("dpo"))),
    ("a", a),
    ("42", n(42)),
    ("0.5", n(0.5)),
    (".5", n(0.5)),
    ("1e3", n(1000)),
    ("2.5E-3", n(0.0025)),
    ("1_000", n(1000)),
    ("1E5 + 1.5e-07 * x", BinOp("+", n(1e5), BinOp("*", n(1.5e-07), Ref("x")))),
    ("a1if", Ref("a1if")),
    ("a - b - c", BinOp("-", BinOp("-", a, b), c)),
    ("a - (b - c)", BinOp("-", a, BinOp("-", b, c))),
    ("a + b * c", BinOp("+", a, BinOp("*", b, c))),
    ("(a + b) * c", BinOp("*", BinOp("+", a, b), c)),
    ("a / b / c", BinOp("/", BinOp("/", a, b), c)),
    ("-a", Neg(a)),
    ("-2", Neg(n(2))),
    ("--a", Neg(Neg(a))),
    ("+a", a),
    ("a - -b", BinOp("-", a, Neg(b))),
    ("-a * b", BinOp("*", Neg(a), b)),
    ("-(a * b)", Neg(BinOp("*", a, b))),
    ("((a))", a),
    ("min(a, b)", Call("min", (a, b))),
    ("max(a)", Call("max", (a,))),
    ("max(a, b, c,)", Call("max", (a, b, c))),
    ("abs(a - b)", Call("abs", (BinOp("-", a, b),))),
    ("100 * sales / visits", BinOp("/", BinOp("*", n(100), Ref("sales")), Ref("visits"))),
    ("min(a, max(b, 0)) / 2", BinOp("/", Call("min", (a, Call("max", (b, n(0))))), n(2))),
    ("kpi_2 + x9_", BinOp("+", Ref("kpi_2"), Ref("x9_"))),
    # Line breaks (a YAML block) and surrounding spaces are only spacing.
    ("  a +\n  b  ", BinOp("+", a, b)),
    ("(a\n + b)", BinOp("+", a, b)),
    # Ids that Python reserves as keywords are still KPI ids here.
    ("yield * 100", BinOp("*", Ref("yield"), n(100))),
    ("return - in", BinOp("-", Ref("return"), Ref("in"))),
    ("min(if, lambda)", Call("min", (Ref("if"), Ref("lambda")))),
    ("not + a", BinOp("+", Ref("not"), a)),
    ("await - b", BinOp("-", Ref("await"), b)),
    ("(yield)", Ref("yield")),
    # A KPI may be called like a function, as long as it is not called.
    ("min + max", BinOp("+", Ref("min"), Ref("max"))),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parse_valid(text: str, expected: Expr) -> None:
    assert parse_formula(text) == expected


# text, fragment of the message, 1-based column
INVALID: list[tuple[str, str, int]] = [
    ("", "the formula is empty", 1),
    ("   \n ", "the formula is empty", 1),
    ("a +", "syntax error: unexpected end of formula", 4),
    ("a * (b + ", "syntax error: '(' was never closed", 5),
    ("a * (b +)", "syntax error: unexpected ')'", 9),
    ("(a", "'(' was never closed", 1),
    ("min(a, b", "'(' was never closed", 4),
    ("a)", "unmatched ')'", 2),
    ("a b", "syntax error: unexpected 'b'", 3),
    ("min(a b)", "missing an operator or ','", 5),
    ("a $ b", "syntax error: unexpected '$'", 3),
    ("a =  b", "syntax error: unexpected '='", 3),
    ("2a", "'2a' is not a number", 1),
    ("a + 1__0", "'1__0' is not a number", 6),
    ("09", "'09' is not a number", 1),
    # Python only warns about a number run into a keyword; here it is an error.
    ("1if a else b", "'1if' is not a number", 1),
    ("a + 1e-3b", "'1e-3b' is not a number", 5),
    ("[1for x in a]", "'1for' is not a number", 2),
    ("0x1for", "'0x1for' is not a number", 1),
    ("a % b", "'%' is not allowed (use + - * /)", 3),
    ("a + b % c", "'%' is not allowed", 7),
    ("a ** 2", "'**' is not allowed (use + - * /)", 3),
    ("(a)**(b)", "'**' is not allowed", 4),
    ("a // b", "'//' is not allowed", 3),
    ("a @ b", "'@' is not allowed", 3),
    ("a & b", "'&' is not allowed", 3),
    ("a << 1", "'<<' is not allowed", 3),
    ("not a", "'not' is not allowed", 1),
    ("~a", "'~' is not allowed", 1),
    ("a < b", "'<' is not allowed: a formula has no comparisons", 3),
    ("a + b == c", "'==' is not allowed", 7),
    ("a and b", "'and' is not allowed: a formula has no logic", 3),
    ("a or b", "'or' is not allowed", 3),
    ("a if b else c", "'if ... else' is not allowed", 3),
    ("a and", "syntax error: unexpected 'and'", 3),
    ("not(a)", "'not' is not an allowed function", 1),
    ("pow(a, 2)", "'pow' is not an allowed function (use min, max or abs)", 1),
    ("a + sqrt(b)", "'sqrt' is not an allowed function", 5),
    ("Min(a)", "'Min' is not an allowed function", 1),
    ("math.sqrt(a)", "'math.sqrt' is not an allowed function", 1),
    ("__import__('os')", "'__import__' is not an allowed function", 1),
    ("(a)(b)", "is not an allowed function", 1),
    ("min()", "min() needs at least one argument", 1),
    ("max()", "max() needs at least one argument", 1),
    ("abs()", "abs() takes exactly one argument, not 0", 1),
    ("abs(a, b)", "abs() takes exactly one argument, not 2", 1),
    ("min(a, key=b)", "min() takes no keyword arguments", 8),
    ("min(*a)", "'*' is not allowed in min()", 5),
    ("Revenue + 1", "'Revenue' is not a KPI id: ids are lower case", 1),
    ("a + nPS", "'nPS' is not a KPI id: ids are lower case", 5),
    ("a + __class__", "'__class__' is not a KPI id", 5),
    ("_a", "'_a' is not a KPI id: ids start with a lower-case letter", 1),
    ("café + 1", "'café' is not a KPI id", 1),
    ("é + Ab", "'é' is not a KPI id", 1),
    ("ﬁ + 1", "'ﬁ' is not a KPI id", 1),  # Python would fold the ligature into 'fi'
    ("a + é", "'é' is not a KPI id", 5),
    ("ab + é€", "unexpected '€'", 7),
    ("a.b", "'a.b' is not allowed: a formula has no attributes", 1),
    ("a + b.real", "'b.real' is not allowed", 5),
    ("a[0]", "'a[0]' is not allowed: a formula has no indexing", 1),
    ("[a]", "'[a]' is not allowed: a formula has no lists", 1),
    ("{a}", "a formula has no sets", 1),
    ("{a: b}", "a formula has no dictionaries", 1),
    ("a, b", "',' is only allowed between the arguments", 2),
    ("lambda: 1", "a formula has no lambda", 1),
    ("(x := 1)", "a formula has no ':='", 2),
    ("[x for x in a]", "a formula has no comprehensions", 1),
    ("True", "'True' is not allowed: a formula has no booleans", 1),
    ("a * False", "'False' is not allowed", 5),
    ("None", "'None' is not allowed", 1),
    ("...", "'...' is not allowed", 1),
    ("'x'", "text in quotes is not allowed", 1),
    ('a + "b"', "text in quotes is not allowed", 5),
    ("f'{a}'", "a formula has no text in quotes", 1),
    ("b'x'", "text in quotes is not allowed", 1),
    ("1j", "'1j' is not allowed: a formula has no complex numbers", 1),
    ("a + 2j", "complex numbers", 5),
    ("0x10", "'0x10' is not allowed: write numbers in decimal", 1),
    ("0b1 + a", "write numbers in decimal", 1),
    ("1e999", "'1e999' is too large a number", 1),
    ("a + 1" + "0" * 400, "is too large a number", 5),
    ("a # note", "'#' is not allowed: a formula has no comments", 3),
    ("a \\\n + b", "syntax error: unexpected '\\'", 3),
    ("a\u00a0+ b", "unexpected invisible character U+00A0", 2),
    ("a + \x00", "unexpected invisible character U+0000", 5),
    ("await a", "a formula has no 'await'", 1),
    ("+".join(["a"] * (MAX_DEPTH + 5)), "nested too deeply", 1),
    ("-" * 300 + "a", "nested too deeply", MAX_DEPTH + 2),
    ("(" * 250 + "a" + ")" * 250, "nested too deeply", 1),
    ("+".join(["a"] * 5000), "nested too deeply", 1),
]


@pytest.mark.parametrize(("text", "fragment", "column"), INVALID)
def test_parse_invalid(text: str, fragment: str, column: int) -> None:
    with pytest.raises(FormulaError) as caught:
        parse_formula(text)
    error = caught.value
    assert fragment in error.message
    assert error.column == column
    assert str(error) == f"column {column}: {error.message}"
    assert "Traceback" not in error.message and "<unknown>" not in error.message


def test_formula_error_is_a_value_error_with_default_column() -> None:
    error = FormulaError("unexpected '%'", 5)
    assert isinstance(error, ValueError)
    assert str(error) == "column 5: unexpected '%'"
    assert (error.message, error.column) == ("unexpected '%'", 5)
    assert FormulaError("x").column == 1


@pytest.mark.parametrize("value", [None, 42, b"a + b", ["a"]])
def test_parse_takes_text_only(value: Any) -> None:
    with pytest.raises(FormulaError, match="must be text"):
        parse_formula(value)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd').read()",
        "(lambda: 0)()",
        "a.__class__.__bases__",
        "getattr(a, 'b')",
    ],
)
def test_code_is_rejected_not_run(text: str) -> None:
    with pytest.raises(FormulaError, match=r"not allowed|not an allowed function"):
        parse_formula(text)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("dio + dso - dpo", ("dio", "dso", "dpo")),
        ("b * a + b / c - a", ("b", "a", "c")),
        ("min(x, max(y, x), abs(-z))", ("x", "y", "z")),
        ("42", ()),
        ("-(q)", ("q",)),
    ],
)
def test_references(text: str, ids: tuple[str, ...]) -> None:
    assert references(parse_formula(text)) == ids


# text, values, expected value (None: no value)
EVALUATE: list[tuple[str, dict[str, float], float | None]] = [
    ("dio + dso - dpo", {"dio": 40, "dso": 35, "dpo": 30}, 45),
    ("a * b", {"a": 2, "b": -3}, -6),
    ("a / b", {"a": 1, "b": 4}, 0.25),
    ("a - b - c", {"a": 10, "b": 3, "c": 2}, 5),
    ("a - (b - c)", {"a": 10, "b": 3, "c": 2}, 9),
    ("-a * b", {"a": 2, "b": 3}, -6),
    ("min(a, b, c)", {"a": 3, "b": 1, "c": 2}, 1),
    ("max(a, b, c)", {"a": 3, "b": 1, "c": 2}, 3),
    ("abs(a - b)", {"a": 1, "b": 4}, 3),
    ("100 * a / b", {"a": 1, "b": 8}, 12.5),
    ("2", {}, 2),
    ("a + 1", {"a": 0.5, "unused": 7}, 1.5),
    # Division by zero gives no value for that period.
    ("a / b", {"a": 1, "b": 0}, None),
    ("a / (b - c)", {"a": 1, "b": 2, "c": 2}, None),
    ("min(a, 1 / b)", {"a": 1, "b": 0}, None),
    ("0 / a", {"a": 0}, None),
    # A missing input means no value either.
    ("a + b", {"a": 1}, None),
    ("min(a, b)", {"b": 1}, None),
    ("a * 0", {}, None),
    # Overflow and NaN are no values, not numbers.
    ("a * a", {"a": 1e200}, None),
    ("a + 1", {"a": math.nan}, None),
    ("a - b", {"a": math.inf, "b": 1}, None),
]


@pytest.mark.parametrize(("text", "values", "expected"), EVALUATE)
def test_evaluate(text: str, values: dict[str, float], expected: float | None) -> None:
    result = evaluate(parse_formula(text), values)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_evaluate_treats_none_as_missing() -> None:
    values: dict[str, Any] = {"a": None, "b": 1}
    assert evaluate(parse_formula("a + b"), values) is None


# text, canonical text
CANONICAL: list[tuple[str, str]] = [
    ("dio+dso-dpo", "dio + dso - dpo"),
    ("(a + b) + c", "a + b + c"),
    ("a + (b + c)", "a + (b + c)"),
    ("a - (b + c)", "a - (b + c)"),
    ("(a * b) + c", "a * b + c"),
    ("a * (b + c)", "a * (b + c)"),
    ("(a / b) * c", "a / b * c"),
    ("a / (b * c)", "a / (b * c)"),
    ("-(a)", "-a"),
    ("-(a + b)", "-(a + b)"),
    ("-(a * b)", "-(a * b)"),
    ("(-a) * b", "-a * b"),
    ("a - (-b)", "a - -b"),
    ("- - a", "--a"),
    ("+a", "a"),
    ("1.0 + 2.50", "1 + 2.5"),
    ("1e3", "1000"),
    ("1e20", "1e+20"),
    ("0.1", "0.1"),
    ("1.5e-7", "1.5e-07"),
    ("min( a ,b )", "min(a, b)"),
    ("abs((a - b))", "abs(a - b)"),
    ("max(a,)", "max(a)"),
    ("yield*2", "yield * 2"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_to_text(text: str, canonical: str) -> None:
    expr = parse_formula(text)
    assert to_text(expr) == canonical
    assert parse_formula(canonical) == expr


def test_to_text_of_hand_built_negative_number() -> None:
    assert to_text(Number(-2.0)) == "-2"
    assert to_text(BinOp("*", a, Number(-2.0))) == "a * -2"
    assert evaluate(parse_formula(to_text(Number(-2.5))), {}) == -2.5


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_to_text_refuses_non_finite_numbers(value: float) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        to_text(Number(value))


# text, ref, point, expected sign of the partial derivative
PARTIAL: list[tuple[str, str, dict[str, float], int]] = [
    ("dio + dso - dpo", "dio", {"dio": 40, "dso": 35, "dpo": 30}, 1),
    ("dio + dso - dpo", "dso", {"dio": 40, "dso": 35, "dpo": 30}, 1),
    ("dio + dso - dpo", "dpo", {"dio": 40, "dso": 35, "dpo": 30}, -1),
    ("a * b", "a", {"a": 2, "b": -3}, -1),
    ("a * b", "b", {"a": 2, "b": -3}, 1),
    ("a * b", "a", {"a": 2, "b": 0}, 0),
    ("a / b", "a", {"a": 1, "b": 4}, 1),
    ("a / b", "b", {"a": 1, "b": 4}, -1),
    ("a / b", "b", {"a": -1, "b": 4}, 1),
    ("a / b", "a", {"a": 1, "b": -4}, -1),
    ("-a", "a", {"a": 5}, -1),
    ("-(a - b)", "b", {"a": 5, "b": 1}, 1),
    ("a - a", "a", {"a": 3}, 0),
    ("a * a", "a", {"a": -3}, -1),
    ("2 * a - 3 * a", "a", {"a": 1}, -1),
    ("min(a, b)", "a", {"a": 1, "b": 2}, 1),
    ("min(a, b)", "b", {"a": 1, "b": 2}, 0),
    ("max(a, b)", "b", {"a": 1, "b": 2}, 1),
    ("max(a, -b)", "b", {"a": 1, "b": -2}, -1),
    ("min(a, b)", "a", {"a": 1, "b": 1}, 1),  # a tie selects the first argument
    ("min(a, b)", "b", {"a": 1, "b": 1}, 0),
    ("abs(a)", "a", {"a": -2}, -1),
    ("abs(a)", "a", {"a": 2}, 1),
    ("abs(a - b)", "b", {"a": 1, "b": 4}, 1),
    ("abs(b) + a", "a", {"a": 1, "b": 0}, 1),  # the kink of abs(b) does not touch a
    ("100 * sales / visits", "visits", {"sales": 5, "visits": 50}, -1),
    ("(a + b) / (c - a)", "a", {"a": 1, "b": 1, "c": 3}, 1),
    # Undefined derivatives and absent inputs give 0.
    ("abs(a)", "a", {"a": 0}, 0),
    ("a / b", "a", {"a": 1, "b": 0}, 0),
    ("a / b", "b", {"a": 1, "b": 0}, 0),
    ("a + b", "c", {"a": 1, "b": 1}, 0),
    ("a + b", "a", {"a": 1}, 0),
    ("3", "a", {"a": 1}, 0),
]


@pytest.mark.parametrize(("text", "ref", "at", "expected"), PARTIAL)
def test_partial_sign(text: str, ref: str, at: dict[str, float], expected: int) -> None:
    assert partial_sign(parse_formula(text), ref, at) == expected


# --------------------------------------------------------------------------------------------
# Properties

ids = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    # Python keywords are plain ids in a formula.
    st.sampled_from(["not", "await", "yield", "in", "is", "if", "lambda", "for", "and"]),
)
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(float),
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
).filter(lambda x: math.copysign(1.0, x) > 0)
leaves: st.SearchStrategy[Expr] = st.one_of(numbers.map(Number), ids.map(Ref))


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        children.map(Neg),
        st.builds(BinOp, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(
            Call,
            st.sampled_from(["min", "max"]),
            st.lists(children, min_size=1, max_size=4).map(tuple),
        ),
        children.map(lambda x: Call("abs", (x,))),
    )


expressions: st.SearchStrategy[Expr] = st.recursive(leaves, _extend, max_leaves=25)


@given(expressions)
def test_to_text_round_trips(expr: Expr) -> None:
    text = to_text(expr)
    assert parse_formula(text) == expr
    # Canonical text is a fixed point.
    assert to_text(parse_formula(text)) == text


@given(expressions)
def test_references_are_the_unique_refs_in_order(expr: Expr) -> None:
    found = references(expr)
    assert len(found) == len(set(found))
    assert list(found) == list(dict.fromkeys(_all_refs(expr)))


def _all_refs(expr: Expr) -> list[str]:
    if isinstance(expr, Ref):
        return [expr.id]
    if isinstance(expr, Neg):
        return _all_refs(expr.operand)
    if isinstance(expr, BinOp):
        return _all_refs(expr.left) + _all_refs(expr.right)
    if isinstance(expr, Call):
        return [ref for arg in expr.args for ref in _all_refs(arg)]
    return []


@given(
    coefficients=st.lists(
        st.integers(min_value=-5, max_value=5).filter(bool), min_size=1, max_size=5
    ),
    point=st.lists(st.floats(min_value=-100, max_value=100), min_size=5, max_size=5),
)
def test_partial_sign_of_a_linear_formula_is_the_coefficient_sign(
    coefficients: list[int], point: list[float]
) -> None:
    names = [f"x{i}" for i in range(len(coefficients))]
    text = " + ".join(f"{k} * {name}" for k, name in zip(coefficients, names, strict=True))
    expr = parse_formula(text)
    at = dict(zip(names, point, strict=False))
    for k, name in zip(coefficients, names, strict=True):
        assert partial_sign(expr, name, at) == (1 if k > 0 else -1)


@given(
    x=st.floats(min_value=-50, max_value=50),
    y=st.floats(min_value=-50, max_value=50),
    z=st.floats(min_value=0.5, max_value=50),
)
def test_partial_sign_agrees_with_a_finite_difference(x: float, y: float, z: float) -> None:
    expr = parse_formula("(x * y - z) / z + min(x, 2 * y)")
    at = {"x": x, "y": y, "z": z}
    # Stay clear of the kink of min, where the two sides disagree.
    assume(abs(x - 2 * y) > 1e-3)
    base = evaluate(expr, at)
    assert base is not None
    for name in ("x", "y", "z"):
        step = 1e-6 * max(1.0, abs(at[name]))
        moved = evaluate(expr, {**at, name: at[name] + step})
        assert moved is not None
        change = (moved - base) / step
        assume(abs(change) > 1e-3)
        assert partial_sign(expr, name, at) == (1 if change > 0 else -1)


_FORMULA_CHARS = "abcxyzAB_019.+-*/%()[],=<>!& 'eE#\n\tjé€" + "minaxbs"


@given(st.text(alphabet=_FORMULA_CHARS, max_size=30))
def test_parse_fails_only_with_formula_error(text: str) -> None:
    try:
        expr = parse_formula(text)
    except FormulaError as error:
        assert error.column >= 1
        assert error.message
        return
    assert parse_formula(to_text(expr)) == expr


@given(st.text(max_size=20))
def test_parse_fails_only_with_formula_error_on_any_text(text: str) -> None:
    with contextlib.suppress(FormulaError):
        parse_formula(text)
