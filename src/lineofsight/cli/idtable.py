"""Tables whose ids are never cut, however narrow the terminal.

An id (a KPI's, a unit's) is what a user copies from a table into the next command. Rich
fits a table to the terminal by wrapping, then cutting every column alike; a column of ids
cut to `rev…` helps nobody, nor a number cut to `13…`. In an `IdTable` a column given a
`min_width` (the longest id it shows) never gets narrower: the name beside an id wraps below
it; a `no_wrap` column (numbers, periods, statuses) keeps its widest value; the other columns
wrap between words instead, the widest first. A table that still does not fit is printed
wider than the terminal (its lines wrap there), never with a number blank.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions


def longest_id(frame: pl.DataFrame, column: str) -> int:
    """The length of the longest id in `column`: text ids, or the `id` of structs (a row's
    `worst` item)."""
    ids = frame.get_column(column)
    if ids.dtype == pl.Struct:
        ids = ids.struct.field("id")
    widest = ids.str.len_chars().max()
    return int(widest) if isinstance(widest, int) else 1


class IdTable(Table):
    """A rich `Table` whose columns with a `min_width` keep it when the terminal is narrow,
    and whose `no_wrap` columns (numbers, periods, statuses) keep their widest value."""

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        # Rich's own widths, then each column widened back to its least width: a `no_wrap`
        # column to its widest value, any other to its longest word (text wraps between
        # words, never cuts one) and never below its `min_width` (an id column: its longest
        # id). Rich's measure of a column has its padding and its `min_width` in it already,
        # so both are counted there, once. What that adds is taken from the columns that
        # wrap, the widest first, down to their least width; a table that still does not fit
        # is wider than the terminal rather than showing numbers blank or cut.
        widths = super()._calculate_column_widths(console, options)
        measure = getattr(self, "_measure_column", None)
        if measure is None:
            return widths  # a Rich without this helper: its own widths
        least = []
        for column in self.columns:
            measured = measure(console, options, column)
            least.append(measured.maximum if column.no_wrap else measured.minimum)
        widths = [max(width, at_least) for width, at_least in zip(widths, least, strict=True)]
        excess = sum(widths) - options.max_width  # the borders are not in max_width
        free = [index for index, column in enumerate(self.columns) if not column.no_wrap]
        while excess > 0:
            room = [index for index in free if widths[index] > least[index]]
            if not room:
                break
            widest = max(room, key=lambda index: widths[index] - least[index])
            widths[widest] -= 1
            excess -= 1
        return widths
