"""`los status` and `los tree`: the scorecard as tables, JSON, CSV or the cascade tree."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from lineofsight.cli.app import DbOption, _command, out
from lineofsight.cli.render_status import (
    cascade_tree,
    evaluation_csv,
    evaluation_json,
    evaluation_tables,
)
from lineofsight.services.evaluate import evaluate_store, unit_subtree
from lineofsight.services.workspace import open_store


class StatusFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="Evaluate as of the last day of this period (e.g. 2026-Q3)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate as of this date (YYYY-MM-DD); default today."),
]
UnitOption = Annotated[
    str | None, typer.Option("--unit", help="Only this unit and the units below it.")
]


@_command()
def status(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    unit: UnitOption = None,
    output_format: Annotated[
        StatusFormat, typer.Option("--format", help="table, json or csv.")
    ] = StatusFormat.TABLE,
    db: DbOption = None,
) -> None:
    """KPI, objective and unit scores and statuses."""
    with open_store(db) as store:
        org, ev = evaluate_store(store, period, as_of)
    if unit is not None:
        keep = unit_subtree(org, unit)
        objective_units = {o.id: o.unit for o in org.objectives}
        ev = replace(
            ev,
            kpis=[r for r in ev.kpis if r.unit in keep],
            objectives=[o for o in ev.objectives if objective_units[o.id] in keep],
            units=[u for u in ev.units if u.id in keep],
        )
    if output_format is StatusFormat.JSON:
        sys.stdout.write(evaluation_json(ev))
    elif output_format is StatusFormat.CSV:
        sys.stdout.write(evaluation_csv(ev))
    else:
        console = out if out.is_terminal else Console(highlight=False, width=200)
        for table in evaluation_tables(ev, org):
            console.print(table)


@_command()
def tree(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    unit: UnitOption = None,
    db: DbOption = None,
) -> None:
    """The cascade from the mission down, coloured by status."""
    with open_store(db) as store:
        org, ev = evaluate_store(store, period, as_of)
    keep = unit_subtree(org, unit) if unit is not None else None
    # A tree's lines are cut at the console's width: when not writing to a terminal (a file,
    # a pipe), give them room.
    console = out if out.is_terminal else Console(highlight=False, width=240)
    console.print(cascade_tree(ev, org, keep))
    console.print(f"[dim]as of {ev.as_of}[/]")
