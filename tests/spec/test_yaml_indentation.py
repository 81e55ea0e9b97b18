"""A line indented unlike the lines around it is said in the file's terms, at the line that
is off, not in the YAML parser's words ("did not find expected '-' indicator", "mapping
values are not allowed in this context"): the same problem for `los check FILE`, `los apply`
and a strategy sent to the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineofsight.errors import SpecError
from lineofsight.spec.files import parse_strategy
from lineofsight.spec.yamlload import load_yaml

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "src/lineofsight/examples/techinnovate/strategy.yaml"
PARSER_WORDS = ("YAML syntax error", "expected", "not allowed", "indicator")


def _changed(number: int, was: str, now: str) -> str:
    """The worked example with line `number` (which reads `was`) reading `now`."""
    lines = EXAMPLE.read_text().split("\n")
    assert lines[number - 1] == was, lines[number - 1]
    lines[number - 1] = now
    return "\n".join(lines)


def _problem(text: str) -> tuple[int, str]:
    with pytest.raises(SpecError) as caught:
        parse_strategy(text, "strategy.yaml")
    [problem] = caught.value.problems
    assert not any(words in problem.message for words in PARSER_WORDS), problem.message
    return problem.line, problem.message


def test_a_key_indented_as_the_items_of_its_list() -> None:
    text = _changed(855, "    owner: lucas_moreau", "  owner: lucas_moreau")
    assert _problem(text) == (
        855,
        "'owner:' is indented 2 spaces, as the '- ' items of the list that starts at line 262,"
        " but does not start with '- '; the keys of the item above it (line 848) are indented"
        " 4 spaces",
    )


def test_a_key_less_deep_than_the_lines_on_both_sides_is_the_line_pointed_at() -> None:
    # YAML stops on line 98 (read as more of line 97's value): line 97 is the one that is off.
    text = _changed(97, "    deadline: 2027-12-31", "deadline: 2027-12-31")
    assert _problem(text) == (
        97,
        "'deadline:' is indented 0 spaces, less than the lines before and after it (line 96:"
        " 4 spaces, line 98: 2 spaces), so YAML reads line 98 as more of the value of"
        " 'deadline:', where a key cannot start",
    )


@pytest.mark.parametrize("spaces", [5, 6])
def test_a_key_deeper_than_the_key_above_it(spaces: int) -> None:
    text = _changed(96, "    start: 2026-01-01", " " * spaces + "start: 2026-01-01")
    assert _problem(text) == (
        96,
        f"'start:' is indented {spaces} spaces, more than 'perspective:' on line 95 (4 spaces),"
        " so YAML reads it as more of the value of 'perspective:', where a key cannot start:"
        " indent it as the keys it belongs with",
    )


def test_a_key_deeper_than_the_keys_before_it_after_a_quoted_value() -> None:
    line, message = _problem(
        _changed(92, "    level: strategic", "     level: strategic").replace(
            "    title: Grow market share in SMB operating software from 12% to 18% by the end"
            " of 2027\n",
            '    title: "Grow market share"\n',
        )
    )
    assert (line, message) == (
        92,
        "'level:' is indented 5 spaces, more than the keys before it (4 spaces, line 91): the"
        " keys of one mapping are indented alike",
    )


def test_an_item_indented_unlike_the_first_of_its_list() -> None:
    text = _changed(98, "  - id: delight_customers", "   - id: delight_customers")
    assert _problem(text) == (
        98,
        "this '- ' item is indented 3 spaces, the first item of its list (line 90) 2 spaces:"
        " the items of a list are indented alike",
    )


def test_a_line_between_the_levels_before_it_names_the_last_key_of_its_level() -> None:
    _data, _lines, [problem] = load_yaml("a:\n  b:\n    c: 1\n   d: 2\n")
    assert (problem.line, problem.message) == (
        4,
        "'d:' is indented 3 spaces, which matches no level of the lines before it: line 3"
        " above it is indented 4 spaces, and the keys of the mapping it is in 2 spaces (the"
        " last, 'b:', on line 2)",
    )


def test_a_value_with_a_colon_and_a_space_is_told_to_be_quoted() -> None:
    text = _changed(
        99,
        "    title: Turn customers into promoters, NPS from 32 to 45 by the end of 2027",
        "    title: Customers: promoters, NPS from 32 to 45",
    )
    assert _problem(text) == (
        99,
        "the value of 'title:' has ': ' in it, which YAML reads as one more key on the line:"
        " put the value in quotes",
    )


def test_other_syntax_errors_keep_the_parsers_words() -> None:
    _data, _lines, [problem] = load_yaml("a:\n  b: [unclosed\n  c: 1\n")
    assert problem.message == "YAML syntax error: did not find expected ',' or ']'"


def test_the_readme_shows_the_problems_as_they_are_said() -> None:
    shown = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("strategy.yaml:") and " is indented " in line
    ]
    said = [
        _problem(_changed(855, "    owner: lucas_moreau", "  owner: lucas_moreau")),
        _problem(_changed(97, "    deadline: 2027-12-31", "deadline: 2027-12-31")),
        _problem(_changed(96, "    start: 2026-01-01", "      start: 2026-01-01")),
    ]
    assert shown == [f"strategy.yaml:{line}: {message}" for line, message in said]
