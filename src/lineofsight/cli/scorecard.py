"""`los status` and `los tree`: the scorecard as tables, JSON, CSV or the cascade tree."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from lineofsight.cli.common import AsOfOption, DbOption, out
from lineofsight.errors import UsageError
from lineofsight.services.workspace import open_store


class StatusFormat(StrEnum):
    """`text` for people (`table`, its earlier name, is taken too); `json`, `csv` or `parquet`
    for programs."""

    TEXT = "text"
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        metavar="PERIOD",
        help="Evaluate as of the last day of this period (e.g. 2026-Q3).",
        show_default=False,
    ),
]
UnitOption = Annotated[
    str | None,
    typer.Option(
        "--unit", metavar="UNIT", help="Only this unit and the units below it.", show_default=False
    ),
]


def status(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    unit: UnitOption = None,
    output_format: Annotated[
        StatusFormat,
        typer.Option(
            "--format",
            metavar="text|json|csv|parquet",
            help="text (or table), json, csv or parquet.",
        ),
    ] = StatusFormat.TEXT,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file instead of standard output (parquet: needed on a terminal).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """KPI, objective and unit scores and statuses."""
    from lineofsight.cli.render_status import (
        frames_csv,
        frames_json,
        frames_parquet,
        frames_tables,
    )
    from lineofsight.services.scorecard_frames import scorecard_frames

    if output_format is StatusFormat.PARQUET and output is None and sys.stdout.isatty():
        raise UsageError(
            "--format parquet writes binary data: give -o FILE, or redirect standard output"
        )
    with open_store(db) as store:
        card = scorecard_frames(store, period, as_of, unit)
    if output_format is StatusFormat.PARQUET:
        if output is not None:
            with _written(output, binary=True) as stream:
                frames_parquet(card, stream)
        else:
            buffer = io.BytesIO()
            frames_parquet(card, buffer)
            sys.stdout.buffer.write(buffer.getvalue())
            sys.stdout.flush()
        return
    if output_format is StatusFormat.JSON:
        text = frames_json(card)
    elif output_format is StatusFormat.CSV:
        text = frames_csv(card)
    else:
        console = Console(highlight=False, width=200, file=io.StringIO())
        if output is None:
            console = out if out.is_terminal else Console(highlight=False, width=200)
        for table in frames_tables(card.evaluation(), card.names()):
            console.print(table)
        if output is None:
            return
        assert isinstance(console.file, io.StringIO)
        text = console.file.getvalue()
    if output is None:
        sys.stdout.write(text)
        return
    with _written(output, binary=False) as stream:
        stream.write(text)


@contextmanager
def _written(path: Path, *, binary: bool) -> Iterator[Any]:
    """A file opened for writing; UsageError naming it when it cannot be."""
    try:
        stream = path.open("wb" if binary else "w", encoding=None if binary else "utf-8")
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def tree(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    unit: UnitOption = None,
    db: DbOption = None,
) -> None:
    """The cascade from the mission down, coloured by status."""
    from lineofsight.cli.render_status import cascade_tree
    from lineofsight.services.evaluate import evaluate_store, unit_subtree

    with open_store(db) as store:
        org, ev = evaluate_store(store, period, as_of)
    keep = unit_subtree(org, unit) if unit is not None else None
    # A tree's lines are cut at the console's width: when not writing to a terminal (a file,
    # a pipe), give them room.
    console = out if out.is_terminal else Console(highlight=False, width=240)
    console.print(cascade_tree(ev, org, keep))
    console.print(f"[dim]as of {ev.as_of}[/]")
