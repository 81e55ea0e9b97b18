"""One statement for many KPIs' queries: how a refresh asks a source for a thousand KPIs'
values in a few statements instead of a thousand.

A source engine spends most of the time of a small grouped query on the query itself
(parsing, planning, scheduling; a second on Spark), not on the facts. So the queries of one
source that have the same shape are sent together: each as a subquery with its own bound
`:since`, tagged with its place in the list, all combined with UNION ALL:

    SELECT 0 AS los_part, q.* FROM (
    <query of KPI 0, its :since renamed :since__p0>
    ) AS q
    UNION ALL
    SELECT 1 AS los_part, q.* FROM ( ... ) AS q

UNION ALL puts columns together by position and gives each a type common to all parts, so
only queries that surely give the same columns of the same types are combined: those equal
but for the literals they compare with (`where product = 'p0017'` and `... = 'p0018'`, a
comparison's result being a truth value whatever its literal). A query that is not one
SELECT (or WITH) statement, or whose text this module cannot read with certainty (dollar
quotes, backslashes, a parameter inside a literal or a comment), is run alone. Its own ORDER
BY, LIMIT or CTE stays inside its subquery, where every engine takes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TAG = "los_part"  # the column that says which query a row of a combined statement came from
# Queries per statement. Measured on DuckDB over 50 M facts (1,000 KPIs): 100 per statement
# took half the time of one statement each, 250 or 1,000 per statement more than 100 (an
# engine plans a long UNION more slowly than a few short ones).
CHUNK = 100

# The tokens of SQL text that matter here: comments, quoted literals and names, numbers,
# words, parameters and operators.
_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<literal>'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    |(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    |(?P<param>(?<![:\w]):\w+)
    |(?P<word>\w+)
    |(?P<op><>|!=|<=|>=|::|[=<>(),;])
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# A literal after one of these only takes part in a comparison: its value never changes the
# type of a column the query gives.
_COMPARED_AFTER = frozenset({"=", "<>", "!=", "<", ">", "<=", ">=", "like", "ilike", "between"})
_FIRST_WORDS = frozenset({"select", "with"})


@dataclass(frozen=True)
class Shape:
    """A query read for combining: `key` is equal for queries that give the same columns of
    the same types; `text` is the query without a trailing semicolon."""

    key: str
    text: str


def shape(query: str) -> Shape | None:
    """How `query` may be combined with others, or None when it must run alone."""
    text = query.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text or "\\" in text or "$$" in text:
        return None
    key: list[str] = []
    words: list[str] = []  # the significant tokens so far, lower-case
    in_list = False  # inside the parentheses of `IN (...)`
    for found in _TOKEN.finditer(text):
        kind, token = found.lastgroup, found.group()
        if kind in ("space", "comment"):
            if kind == "comment" and ":" in token:
                return None  # a parameter inside a comment: not read the engine's way
            key.append(token if kind == "comment" else " ")
            continue
        if kind == "literal" and ":" in token:
            return None  # a parameter inside a literal: not read the engine's way
        if kind == "param" and text[found.end() : found.end() + 1] == ":":
            return None  # `:since:...`: where the name ends depends on the engine
        lowered = token.lower()
        if kind == "op" and token == ";":
            return None  # more than one statement
        if not words and (kind != "word" or lowered not in _FIRST_WORDS):
            return None  # not one SELECT: VALUES, FROM-first, PRAGMA, ...
        if kind in ("literal", "number") and _compared(words, in_list):
            key.append("?")
        else:
            key.append(token)
        if kind == "op" and token == "(":
            in_list = len(words) > 0 and words[-1] == "in"
        elif kind == "op" and token == ")":
            in_list = False
        words.append(lowered)
    return Shape("".join(key), text)


def _compared(words: list[str], in_list: bool) -> bool:
    if not words:
        return False
    previous = words[-1]
    if previous in _COMPARED_AFTER:
        return True
    if previous == "and" and len(words) >= 3 and words[-3] == "between":
        return True  # the upper end of BETWEEN a AND b
    return in_list and previous in ("(", ",")


_PARAM = re.compile(r"(?<![:\w]):(\w+)")


@dataclass(frozen=True)
class Combined:
    """One statement for several queries, and its parameters."""

    statement: str
    params: dict[str, Any]


def combine(parts: Sequence[tuple[str, Mapping[str, Any]]]) -> Combined:
    """The UNION ALL of `parts` (each a query's text, as `Shape.text`, and its parameters),
    each tagged with its index in TAG, its parameters renamed to stay its own."""
    statements, params = [], {}
    for index, (text, values) in enumerate(parts):
        suffix = f"__p{index}"

        def renamed(found: re.Match[str], suffix: str = suffix) -> str:
            return f":{found.group(1)}{suffix}"

        # Parameters are outside literals and comments here (`shape` ran alone otherwise).
        body = _renamed_outside_quotes(text, renamed)
        statements.append(f"SELECT {index} AS {TAG}, q.* FROM (\n{body}\n) AS q")
        params.update({f"{name}{suffix}": value for name, value in values.items()})
    return Combined("\nUNION ALL\n".join(statements), params)


def _renamed_outside_quotes(text: str, renamed: Any) -> str:
    out = []
    for found in _TOKEN.finditer(text):
        token = found.group()
        out.append(_PARAM.sub(renamed, token) if found.lastgroup == "param" else token)
    return "".join(out)


def chunks(indexes: Sequence[int], size: int = CHUNK) -> list[list[int]]:
    """`indexes` in runs of at most `size`."""
    return [list(indexes[start : start + size]) for start in range(0, len(indexes), size)]
