"""Every exception Line of Sight raises on purpose, in one place.

    LineOfSightError
    ├── InputError        a user's mistake: exit code 2, every problem listed, no traceback
    │   ├── SpecError     the strategy file has problems
    │   ├── LoadError     a measurement file has problems; nothing of it was stored
    │   └── UsageError    a bad argument or a missing workspace
    │       └── UndoRefused   an apply that would undo changes made in the web app
    ├── StoreError        the store cannot be opened or is of an unknown version
    │   ├── StoreDamaged  its SQLite file is damaged or not a database (exit code 2)
    │   └── StoreBusy     another write held the store longer than this one may wait:
    │                     nothing was written, try again (exit code 3, HTTP 503)
    └── SourceError       a data source could not be read (unreachable, timeout, a query
                          error, a missing secret): one line, never a secret

Any other exception is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem in a user's file: where it is and why it is a problem."""

    file: str
    line: int
    message: str
    is_row: bool = False  # `line` counts rows of a table (a spreadsheet's row numbers)

    def __str__(self) -> str:
        if not self.line:
            return f"{self.file}: {self.message}"
        if self.is_row:
            return f"{self.file}: row {self.line}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class LineOfSightError(Exception):
    """Base of the exceptions raised on purpose."""


class InputError(LineOfSightError):
    """A user's mistake; `problems` lists every one found, `str()` is a one-line summary."""

    def __init__(self, summary: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = list(problems)


class SpecError(InputError):
    """The strategy file has problems."""


class LoadError(InputError):
    """A measurement file has problems; nothing of it was stored.

    `unlisted`: bad rows counted but not listed (beyond the first 200); when there are some,
    the last problem is the line saying how many more.
    """

    def __init__(self, summary: str, problems: Iterable[Problem] = (), unlisted: int = 0) -> None:
        super().__init__(summary, problems)
        self.unlisted = unlisted


class ColumnsError(LoadError):
    """A measurement file's header, or a query's columns, are not the columns expected: no
    row of it could be read (so none is counted as a bad row)."""


class UsageError(InputError):
    """A bad command-line argument or a missing workspace."""


class UndoRefused(UsageError):
    """A whole strategy applied would undo changes made in the web app since a file was last
    applied: nothing was written (HTTP 409); applied with force, it undoes them."""


class StoreError(LineOfSightError):
    """The store cannot be opened or used."""


class StoreDamaged(StoreError):
    """The store's SQLite file is damaged or is not a database: restore it from a backup."""


class StoreBusy(StoreError):
    """Another write held the store for longer than this write may wait; nothing was written.

    `waited` is how long this one waited, in seconds, and `allowed` the wait it was allowed
    (the store's busy timeout): a write refused sooner than allowed met a lock that SQLite
    does not wait for. Writes take turns (one at a time on a store); this one gave up its
    turn, so trying again later is always safe.
    """

    def __init__(self, waited: float, allowed: float | None = None) -> None:
        of = f" of the {allowed:g} s allowed" if allowed is not None else ""
        super().__init__(
            f"the store is busy: another write is running (waited {_seconds(waited)} s{of}); "
            "nothing was written, try again"
        )
        self.waited = waited
        self.allowed = allowed

    def __reduce__(self) -> tuple[type[StoreBusy], tuple[float, float | None]]:
        # from a worker process, as it was raised
        return (StoreBusy, (self.waited, self.allowed))


def _seconds(value: float) -> str:
    """Seconds as a person reads them: 0.3, 2.1, 300."""
    return f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"


class SendError(LineOfSightError):
    """A run of the notifications' sender could not send them all: some were put back for a
    retry or given up (each recorded with its reason); the message is the run's summary."""


class SourceError(LineOfSightError):
    """A data source could not be read; nothing of it was stored.

    `kind` says what went wrong: `secret` (an environment variable is not set), `setup` (a
    URL or driver that cannot work), `unreachable`, `timeout`, `query` (the source refused
    the query), `columns` (its columns are not those expected: `problems` names them),
    `rows` (its rows are bad: `problems` lists them), `files` (no file matches).
    The message is one line and never holds a secret.
    """

    def __init__(self, kind: str, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.problems = list(problems)
