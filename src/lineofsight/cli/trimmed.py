"""A text stream for the command line's text output that keeps no trailing spaces."""

from __future__ import annotations

import sys
from typing import TextIO


class TrimmedLines:
    """A text stream that writes to `target` (default: standard output, as it is at each
    write) each line without its trailing spaces, when that is not a terminal: rich pads a
    table's title and cells to the table's width, which a file or a pipe must not keep."""

    def __init__(self, target: TextIO | None = None) -> None:
        self._target = target
        self._pending = ""

    def _file(self) -> TextIO:
        return self._target if self._target is not None else sys.stdout

    def isatty(self) -> bool:
        return self._file().isatty()

    def write(self, text: str) -> int:
        file = self._file()
        if file.isatty():
            return file.write(text)
        *lines, self._pending = (self._pending + text).split("\n")
        if lines:
            file.write("".join(line.rstrip() + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        file = self._file()
        if self._pending:  # a line without its end yet: as it is (more of it may follow)
            file.write(self._pending)
            self._pending = ""
        file.flush()
