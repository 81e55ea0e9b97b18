"""Tables whose ids are never cut, however narrow the terminal.

An id (a KPI's, a unit's) is what a user copies from a table into the next command. Rich
fits a table to the terminal by wrapping, then cutting every column alike; a column of ids
cut to `rev…` helps nobody. In an `IdTable` a column given a `min_width` (the longest id
it shows) never gets narrower: the name beside an id wraps below it, and the other
columns give way instead, the widest first.
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
    """A rich `Table` whose columns with a `min_width` keep it when the terminal is narrow."""

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        # Rich's own widths, then the id columns widened back to their least width; what that
        # adds is taken from the other columns, the widest first.
        widths = super()._calculate_column_widths(console, options)
        least = [
            0 if column.min_width is None else column.min_width + self._get_padding_width(index)
            for index, column in enumerate(self.columns)
        ]
        widths = [max(width, at_least) for width, at_least in zip(widths, least, strict=True)]
        excess = sum(widths) - options.max_width  # the borders are not in max_width
        free = [index for index, at_least in enumerate(least) if not at_least]
        while excess > 0 and free:
            widest = max(free, key=lambda index: widths[index])
            if widths[widest] == 0:
                break
            widths[widest] -= 1
            excess -= 1
        return widths
