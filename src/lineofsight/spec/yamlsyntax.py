"""What a YAML syntax error from a misplaced indentation means, in the file's own terms.

The YAML parser says where it stopped and what it expected there ("did not find expected '-'
indicator", "mapping values are not allowed in this context"): true, but in its grammar's
words. Most such errors in a hand-written strategy file are a line indented more or less than
the lines around it. From the parser's marks (where it stopped, and where the list or mapping
it was reading starts) and the text, `indentation_problem` says which lines disagree and by how
many spaces, and what YAML made of it; an error it cannot explain that way is left to the
parser's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

# The line breaks of YAML (and so of the parser's marks).
_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
# A line's start: its indentation, any `- ` of list items, then a `key:` if it has one.
_START = re.compile(
    r"(?P<indent> *)(?P<dashes>(?:-(?: +|$))*)"
    r"(?:(?P<key>[^\s#:'\"{[][^#:]*?|'[^']*'|\"[^\"]*\") *:(?:\s|$))?"
)


@dataclass(frozen=True)
class _Line:
    """One line of the text: its number (1-based), spaces before it, the column of what
    follows its `- ` (a list item's first key), and its key if it starts with one."""

    number: int
    indent: int
    inner: int
    key: str | None
    item: bool

    def named(self) -> str:
        return f"'{self.key}:'" if self.key else "this line"


def _line(lines: list[str], index: int) -> _Line:
    text = lines[index]
    start = _START.match(text)
    assert start is not None  # every part of the pattern may be empty
    indent = len(start["indent"])
    return _Line(
        number=index + 1,
        indent=indent,
        inner=indent + len(start["dashes"]),
        key=start["key"],
        item=bool(start["dashes"]),
    )


def _content(lines: list[str], index: int) -> bool:
    text = lines[index].strip()
    return bool(text) and not text.startswith("#")


def _before(lines: list[str], index: int) -> _Line | None:
    """The nearest line above `index` with content (not blank, not only a comment)."""
    for earlier in range(index - 1, -1, -1):
        if _content(lines, earlier):
            return _line(lines, earlier)
    return None


def _spaces(count: int) -> str:
    return f"{count} space{'' if count == 1 else 's'}"


def indentation_problem(text: str, error: yaml.MarkedYAMLError) -> tuple[int, str] | None:
    """The line to point at and what is wrong there, when `error` comes from a line indented
    unlike the lines around it; None when it does not (the parser's words then)."""
    mark = error.problem_mark
    problem = error.problem or ""
    lines = _BREAKS.split(text)
    if mark is None or not 0 <= mark.line < len(lines) or not _content(lines, mark.line):
        return None
    here = lines[mark.line]
    if "\t" in here[: len(here) - len(here.lstrip())]:
        return None  # a tab: the parser's words say it well
    if problem.startswith("mapping values are not allowed"):
        return _continued(lines, mark.line, mark.column)
    context = error.context_mark
    if context is None or not 0 <= context.line < len(lines):
        return None
    if problem == "did not find expected '-' indicator":
        return _not_an_item(lines, mark.line, mark.column, context.line, context.column)
    if problem == "did not find expected key":
        return _not_a_key(lines, mark.line, mark.column, context.line, context.column)
    return None


def _continued(lines: list[str], index: int, column: int) -> tuple[int, str] | None:
    """A `key:` where YAML reads more of a value: a value with `: ` in it, or a line
    indented deeper than the key before it (a value's text goes on on deeper lines)."""
    line = _line(lines, index)
    if line.key is not None and column > line.inner + len(line.key):
        return line.number, (
            f"the value of '{line.key}:' has ': ' in it, which YAML reads as one more key on "
            "the line: put the value in quotes"
        )
    # The line whose value this one is read as more of: the nearest one above with its key
    # (or item) less deep than this line starts.
    owner = None
    for earlier in range(index - 1, -1, -1):
        if _content(lines, earlier):
            candidate = _line(lines, earlier)
            if candidate.inner < line.indent:
                owner = candidate
                break
    if owner is None:
        return None
    what = f"the value of {owner.named()}" if owner.key else "its value"
    if owner.number == (_before(lines, index) or owner).number and _dips(lines, owner, line.indent):
        # The line above is the odd one: less deep than the lines on both sides of it.
        number, message = _dip(lines, owner, line)
        return number, (
            f"{message}, so YAML reads line {line.number} as more of {what}, where a key "
            "cannot start"
        )
    return line.number, (
        f"{line.named()} is indented {_spaces(line.indent)}, more than {owner.named()} on line "
        f"{owner.number} ({_spaces(owner.inner)}), so YAML reads it as more of {what}, where a "
        f"key cannot start: indent it as the keys it belongs with"
    )


def _not_an_item(
    lines: list[str], index: int, column: int, list_index: int, dash: int
) -> tuple[int, str] | None:
    """A line inside a list that is neither one of its `- ` items nor part of the item
    above it."""
    line = _line(lines, index)
    item = None
    for earlier in range(index - 1, list_index - 1, -1):
        if _content(lines, earlier):
            candidate = _line(lines, earlier)
            if candidate.item and candidate.indent == dash:
                item = candidate
                break
    if line.item and line.indent != dash:
        return line.number, (
            f"this '- ' item is indented {_spaces(line.indent)}, the first item of its list "
            f"(line {list_index + 1}) {_spaces(dash)}: the items of a list are indented alike"
        )
    keys = (
        f"; the keys of the item above it (line {item.number}) are indented {_spaces(item.inner)}"
        if item is not None and item.key is not None
        else ""
    )
    if column == dash:
        return line.number, (
            f"{line.named()} is indented {_spaces(column)}, as the '- ' items of the list that "
            f"starts at line {list_index + 1}, but does not start with '- '{keys}"
        )
    return line.number, (
        f"{line.named()} is indented {_spaces(column)}: not as the '- ' items of the list that "
        f"starts at line {list_index + 1} ({_spaces(dash)}){keys}"
    )


def _not_a_key(
    lines: list[str], index: int, column: int, mapping_index: int, key_column: int
) -> tuple[int, str] | None:
    """A line inside a mapping that is not one of its keys: indented deeper than them while
    the line above it is a key's value, or between the levels of the lines before it."""
    line = _line(lines, index)
    above = _before(lines, index)
    if above is None:
        return None
    if _dips(lines, above, column):
        return _dip(lines, above, line)
    if column > key_column == above.inner:
        return line.number, (
            f"{line.named()} is indented {_spaces(column)}, more than the keys before it "
            f"({_spaces(key_column)}, line {above.number}): the keys of one mapping are "
            "indented alike"
        )
    last = None
    for earlier in range(index - 1, mapping_index - 1, -1):
        if _content(lines, earlier):
            candidate = _line(lines, earlier)
            if candidate.inner == key_column and candidate.key is not None:
                last = candidate
                break
    keys = f" (the last, {last.named()}, on line {last.number})" if last is not None else ""
    return line.number, (
        f"{line.named()} is indented {_spaces(column)}, which matches no level of the lines "
        f"before it: line {above.number} above it is indented {_spaces(above.indent)}, and the "
        f"keys of the mapping it is in {_spaces(key_column)}{keys}"
    )


def _dips(lines: list[str], line: _Line, after: int) -> bool:
    """Whether `line` (a key, not a list item) is less deep than both the line above it and
    the one after it (indented `after`): then it is the odd one."""
    above = _before(lines, line.number - 1)
    return (
        above is not None
        and not line.item
        and line.key is not None
        and above.inner > line.inner < after
    )


def _dip(lines: list[str], line: _Line, after: _Line) -> tuple[int, str]:
    above = _before(lines, line.number - 1)
    assert above is not None
    return line.number, (
        f"{line.named()} is indented {_spaces(line.indent)}, less than the lines before and "
        f"after it (line {above.number}: {_spaces(above.inner)}, line {after.number}: "
        f"{_spaces(after.indent)})"
    )
