"""`los status` and `los tree`: the scorecard as tables, JSON, CSV or the cascade tree."""

from __future__ import annotations

import io
import sys
from collections.abc import Generator, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lineofsight.cli.common import (
    AsOfOption,
    Console,
    DbOption,
    err,
    escape,
    format_for,
    is_stdout,
    output_done,
    text_console,
    write_output,
)
from lineofsight.cli.trimmed import TrimmedLines
from lineofsight.errors import UsageError
from lineofsight.services.workspace import open_store

if TYPE_CHECKING:
    from lineofsight.store.database import Store


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
    given_format: Annotated[
        StatusFormat | None,
        typer.Option(
            "--format",
            metavar="text|json|csv|parquet",
            help="text (or table), json, csv or parquet (default: the ending of -o FILE, else "
            "text).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file (-: standard output; parquet on a terminal needs a file).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """KPI, objective and unit scores and statuses."""
    output_format = format_for(given_format, output, StatusFormat, StatusFormat.TEXT)
    # Imported here, and only what the format needs: the JSON of a whole scorecard kept up to
    # date in the store is written from its stored rows, loading neither Polars nor the engine.
    if output_format is StatusFormat.PARQUET and is_stdout(output) and _stdout_is_terminal():
        raise UsageError(
            "--format parquet writes binary data: give -o FILE, or redirect standard output"
        )
    if output_format is StatusFormat.JSON and unit is None:
        from lineofsight.services.snapshots import scorecard

        with open_store(db) as store:
            kept = scorecard(store, period, as_of, later=True, say_unkept=True)
            # Written out first; a scorecard computed here is kept in the store after (also
            # when the output could not be written whole: a reader that stopped early).
            aside = False
            stream = _ahead(kept.status_json_stream(), b"\n")
            try:
                write_output(stream, output)
                if kept.pending is not None and is_stdout(output):
                    # Its end seen by the reader now; the saving is then left to a second
                    # process (this one's own output was the process's: not a test's runner).
                    aside = output_done()
            finally:
                stream.close()  # its thread stopped before the scorecard is kept
                kept.keep(aside=aside)
            _say_keeper_failures(store)
        return
    from lineofsight.cli.render_status import (
        frames_csv,
        frames_json,
        frames_parquet,
        frames_tables,
    )
    from lineofsight.services.scorecard_frames import scorecard_frames

    with open_store(db) as store:
        card = scorecard_frames(store, period, as_of, unit, say_unkept=True)
        _say_keeper_failures(store)
    if output_format is StatusFormat.PARQUET:
        buffer = io.BytesIO()
        frames_parquet(card, buffer)
        write_output(buffer.getvalue(), output)
    elif output_format is StatusFormat.JSON:
        write_output(frames_json(card), output)
    elif output_format is StatusFormat.CSV:
        write_output(frames_csv(card), output)
    elif is_stdout(output):
        console = text_console(200)
        for table in frames_tables(card.evaluation(), card.names()):
            console.print(table)
    else:
        text = io.StringIO()
        console = Console(highlight=False, width=200, file=TrimmedLines(text))
        for table in frames_tables(card.evaluation(), card.names()):
            console.print(table)
        write_output(text.getvalue(), output)


def _ahead(
    pieces: Iterator[bytes | memoryview], last: bytes
) -> Generator[bytes | memoryview, None, None]:
    """The pieces, then `last`, each made in a second thread while the one before is written
    out (joining tens of megabytes of rows by commas takes as long as writing them to a
    pipe; a write leaves Python's lock free). The thread stops when the writing does."""
    import queue
    import threading

    made: queue.Queue[tuple[bytes | memoryview | None, BaseException | None]] = queue.Queue(2)
    stop = threading.Event()

    def give(item: tuple[bytes | memoryview | None, BaseException | None]) -> bool:
        while not stop.is_set():  # the writing stopped (a reader gone): given up
            try:
                made.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for piece in pieces:
                if not give((piece, None)):
                    return
            if give((last, None)):
                give((None, None))
        except BaseException as exc:  # given to the writing thread, which raises it
            give((None, exc))

    thread = threading.Thread(target=make, name="los-status-pieces", daemon=True)
    thread.start()
    try:
        while True:
            piece, failed = made.get()
            if failed is not None:
                raise failed
            if piece is None:
                return
            yield piece
    finally:
        stop.set()
        thread.join()


def _say_keeper_failures(store: Store) -> None:
    """Say on standard error why scorecards that earlier statuses left to a second process to
    save were not saved (that process has no terminal); this status's result is not changed."""
    from lineofsight.services.snapshot_keeper import take_failures

    for failure in take_failures(store):
        err.print(f"[bold yellow]warning:[/] {escape(failure)}")


def _stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (where binary data would be garbage)."""
    return sys.stdout.isatty()


def tree(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    unit: UnitOption = None,
    db: DbOption = None,
) -> None:
    """The cascade from the mission down, coloured by status (the scores of `los status`)."""
    from lineofsight.cli.render_status import cascade_tree
    from lineofsight.services.evaluate import evaluate_store, unit_subtree

    with open_store(db) as store:
        org, ev = evaluate_store(store, period, as_of)
    keep = unit_subtree(org, unit) if unit is not None else None
    # A tree's lines are cut at the console's width: when not writing to a terminal (a file,
    # a pipe), give them room; on a terminal, each line wraps under its branch (a terminal's
    # own wrapping of a line wider than it would cut through the guides).
    console = text_console(240)
    console.print(cascade_tree(ev, org, keep), soft_wrap=False)
    console.print(f"[dim]as of {ev.as_of}[/]")
