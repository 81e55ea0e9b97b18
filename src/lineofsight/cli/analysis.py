"""`los trace`, `los explain` and `los forecast`: why a KPI matters, why it moved, where it goes."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lineofsight.cli.common import (
    AsOfOption,
    DbOption,
    Format,
    FormatOption,
    out,
    parse_date,
    text_console,
    whole_width,
)
from lineofsight.services.workspace import open_store


def trace(
    item: Annotated[str, typer.Argument(metavar="ID", help="A KPI, objective or person id.")],
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="Trace in this strategy file instead of the store."),
    ] = None,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Show the line of sight from a KPI, objective or person up to the mission, every path."""
    from lineofsight.cli import render_trace
    from lineofsight.services import trace as trace_service

    if file is not None:
        result = trace_service.trace_item(item, file=file, store=None)
    else:
        with open_store(db) as store:
            result = trace_service.trace_item(item, file=None, store=store)
    if output_format is Format.JSON:
        sys.stdout.write(render_trace.trace_json(result))
        return
    for line in render_trace.trace_text(result):
        out.print(line)


class TableFormat(StrEnum):
    """`text` for people (`table`, its earlier name, is taken too) or `json`."""

    TEXT = "text"
    TABLE = "table"
    JSON = "json"


def forecast(
    as_of: AsOfOption = None,
    output_format: Annotated[
        TableFormat,
        typer.Option("--format", metavar="text|json", help="text (or table) or json."),
    ] = TableFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Project each KPI to its target date (its method chosen per KPI): on track or not."""
    from lineofsight.cli import render_forecast
    from lineofsight.services import forecast as forecast_service

    day = parse_date(as_of, "--as-of")
    with open_store(db) as store:
        report = forecast_service.forecast_store(store, day)
    if output_format is TableFormat.JSON:
        render_forecast.write_forecast_json(report, sys.stdout)
        return
    # Not writing to a terminal (a file, a pipe): give the table room (its whole width, one
    # line a row) rather than cut ids; the notes are sentences, each on one line there (a
    # terminal wraps them at its width). A terminal too narrow for the table gets each KPI
    # stacked instead: a line with its id, unit and name, indented lines with its figures.
    table = render_forecast.forecast_table(report)
    console = text_console(200, fit=table)
    if whole_width(console, table) <= console.width:
        console.print(table)
    else:
        console.print(render_forecast.forecast_stacked(report), soft_wrap=False)
    for line in render_forecast.forecast_notes(report):
        console.print(line, soft_wrap=not console.is_terminal)


def explain(
    kpi: Annotated[str, typer.Argument(metavar="KPI", help="The KPI id.")],
    from_period: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="PERIOD",
            help="The earlier period, at the KPI's frequency (FY2026-Q4).",
        ),
    ],
    to_period: Annotated[
        str, typer.Option("--to", metavar="PERIOD", help="The later period (FY2027-Q2).")
    ],
    depth: Annotated[
        int,
        typer.Option(
            "--depth",
            metavar="N",
            min=1,
            help="Also split inputs that are formulas, N levels deep.",
        ),
    ] = 1,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            metavar="UNIT",
            help="At this unit instead of the KPI's own.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Explain what drove a KPI's change between two periods (contributions that add up)."""
    from lineofsight.cli import render_explain
    from lineofsight.services import explain as explain_service

    with open_store(db) as store:
        result = explain_service.explain_change(
            store, kpi, from_period, to_period, depth=depth, unit=unit
        )
    if output_format is Format.JSON:
        sys.stdout.write(render_explain.explain_json(result))
        return
    for line in render_explain.explain_text(result):
        out.print(line)
