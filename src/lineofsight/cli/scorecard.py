"""`los status` and `los tree`: the scorecard as tables, JSON, CSV or the cascade tree."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from lineofsight.cli.common import AsOfOption, DbOption, out
from lineofsight.services.workspace import open_store


class StatusFormat(StrEnum):
    """`text` for people (`table`, its earlier name, is taken too), `json` or `csv`."""

    TEXT = "text"
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


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
        typer.Option("--format", metavar="text|json|csv", help="text (or table), json or csv."),
    ] = StatusFormat.TEXT,
    db: DbOption = None,
) -> None:
    """KPI, objective and unit scores and statuses."""
    # Imported here, and only what the format needs: the JSON of a whole scorecard kept up to
    # date in the store is written in a fraction of a second, a good part of it start-up.
    from lineofsight.services.snapshots import scorecard

    with open_store(db) as store:
        card = scorecard(store, period, as_of)
        text = output_format in (StatusFormat.TEXT, StatusFormat.TABLE)
        if text:
            from lineofsight.services.evaluate import read_names

            names = read_names(store)
    if output_format is StatusFormat.JSON and unit is None:
        sys.stdout.write(card.status_json() + "\n")
        return
    defs, ev = card.defs, card.evaluation
    if unit is not None:
        import polars as pl

        from lineofsight.services.evaluate import subtree_of

        keep = list(subtree_of(defs.units, unit))
        objectives = defs.objectives.filter(pl.col("unit_id").is_in(keep))["id"]
        ev = replace(
            ev,
            kpis=ev.kpis.filter(pl.col("unit").is_in(keep)),
            objectives=ev.objectives.filter(pl.col("id").is_in(objectives.to_list())),
            units=ev.units.filter(pl.col("id").is_in(keep)),
        )
    if output_format is StatusFormat.JSON:
        from lineofsight.services.shapes import status_json

        sys.stdout.write(status_json(ev) + "\n")
    elif output_format is StatusFormat.CSV:
        from lineofsight.cli.render_status import frames_csv

        sys.stdout.write(frames_csv(ev))
    else:
        from lineofsight.cli.render_status import frames_tables

        console = out if out.is_terminal else Console(highlight=False, width=200)
        for table in frames_tables(ev, names):
            console.print(table)


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
