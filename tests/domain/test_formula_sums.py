"""Formulas of KPI ids joined by + and - get, built straight from the text, the tree Python's
reading of the text gives them (ids that are Python keywords too), and only they do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lineofsight.domain.formula_parse import _read_text, _sum_of_ids
from lineofsight.domain.formula_tree import FormulaError

_IDS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    st.sampled_from(["in", "if", "not", "and", "lambda", "yield", "min", "abs", "e5", "true"]),
)
_SPACES = st.sampled_from(["", " ", "  "])


@st.composite
def _sums(draw: st.DrawFn) -> str:
    text = draw(_SPACES) + draw(_IDS)
    for _ in range(draw(st.integers(0, 17))):
        text += draw(_SPACES) + draw(st.sampled_from("+-")) + draw(_SPACES) + draw(_IDS)
    return text + draw(_SPACES)


@given(_sums())
def test_a_sum_of_ids_is_read_as_python_reads_it(text: str) -> None:
    quick = _sum_of_ids(text)
    if quick is not None:
        assert quick == _read_text(text)
    else:  # only longer sums are left to the full reading
        assert text.count("+") + text.count("-") > 15


@given(st.text(alphabet="ab_+-*/() 1.\t", max_size=12))
def test_anything_else_is_left_to_the_full_reading(text: str) -> None:
    quick = _sum_of_ids(text)
    if quick is None:
        return
    try:
        assert quick == _read_text(text)
    except FormulaError as error:
        raise AssertionError(f"{text!r} read quickly but refused: {error}") from None


def test_examples() -> None:
    assert _sum_of_ids("a + b - c") == _read_text("a + b - c")
    assert _sum_of_ids("a * b") is None
    assert _sum_of_ids("a - -b") is None
    assert _sum_of_ids("A + b") is None
    assert _sum_of_ids("a\t+ b") is None
