"""How each surface names the arguments that services check: the command line's options
(`--period`) or the Python API's parameters (`period`), so that a message speaks the caller's
language ("period: '2026-13' is not a valid period" in a notebook, "--period: ..." in a shell)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArgumentNames:
    """The name of each checked argument, as the caller wrote it."""

    period: str = "--period"
    as_of: str = "--as-of"
    unit: str = "--unit"
    from_period: str = "--from"
    to_period: str = "--to"
    select: str = "--select"
    ignore: str = "--ignore"
    option: str = "--option"
    # Who gave them: where a problem with one of them is said to be.
    caller: str = "the command line"


OPTIONS = ArgumentNames()
PARAMETERS = ArgumentNames(
    period="period",
    as_of="as_of",
    unit="unit",
    from_period="from_period",
    to_period="to_period",
    select="select",
    ignore="ignore",
    option="options",
    caller="the arguments",
)
