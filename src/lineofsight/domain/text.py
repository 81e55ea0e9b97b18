"""Wording shared by every surface: counts of things and the closest known name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 row`, `2 rows`, `1,081 measurements`: a count with its noun in the right number."""
    return f"{count:,} {noun(count, word, words)}"


def noun(count: int, word: str, words: str | None = None) -> str:
    """The noun alone in the number `count` asks for: `column` for 1, `columns` otherwise."""
    return word if count == 1 else (words if words is not None else word + "s")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
