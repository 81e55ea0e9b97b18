"""`los library`: search the KPI catalogue, show an entry, add it to the strategy, suggest."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lineofsight.cli.common import DbOption, add_command, escape, out
from lineofsight.display import human


class Mode(StrEnum):
    LEXICAL = "lexical"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text or json.")]


def search(
    text: Annotated[
        list[str], typer.Argument(help="What to look for: words, a name, an abbreviation.")
    ],
    function: Annotated[
        str | None, typer.Option("--function", help="Only this function, e.g. finance.")
    ] = None,
    industry: Annotated[
        str | None, typer.Option("--industry", help="Only KPIs for this industry (or all).")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="strategic, tactical or operational.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many results.")] = 10,
    mode: Annotated[
        Mode, typer.Option("--mode", help="lexical (BM25), semantic (embeddings) or hybrid.")
    ] = Mode.LEXICAL,
    semantic: Annotated[
        bool, typer.Option("--semantic", help="Short for --mode semantic.")
    ] = False,
    output_format: FormatOption = Format.TEXT,
) -> None:
    """Search the catalogue by name, abbreviation, synonym or description."""
    from lineofsight.services import library

    chosen = Mode.SEMANTIC if semantic else mode
    results = library.search(
        " ".join(text),
        function=function,
        industry=industry,
        level=level,
        limit=limit,
        mode=chosen.value,
    )
    if output_format is Format.JSON:
        out.print_json(json.dumps([asdict(r) for r in results]))
        return
    if not results:
        out.print("No KPI found. Try other words, or fewer filters.")
        return
    for rank, result in enumerate(results, 1):
        abbreviations = f" ({', '.join(result.abbreviations)})" if result.abbreviations else ""
        out.print(
            f"{rank:>2}. [bold]{escape(result.id)}[/]  {escape(result.name)}{escape(abbreviations)}"
            f"  [dim]{result.function}, {result.level}, {escape(result.unit_of_measure)}[/]"
        )
        out.print(f"    {escape(result.summary)}")


def show(
    kpi_id: Annotated[str, typer.Argument(metavar="ID", help="A catalogue id.")],
    output_format: FormatOption = Format.TEXT,
) -> None:
    """Everything about one catalogue KPI: definition, measure, drivers."""
    from lineofsight.services import library

    view = library.show(kpi_id)
    entry = view.entry
    if output_format is Format.JSON:
        data = entry.model_dump(mode="json")
        data["drivers"] = [asdict(d) for d in view.drivers]
        data["drives"] = [asdict(d) for d in view.drives]
        out.print_json(json.dumps(data))
        return
    rows = [
        ("id", entry.id),
        ("abbreviations", ", ".join(entry.abbreviations)),
        ("synonyms", ", ".join(entry.synonyms)),
        ("measure", view.measure),
        ("unit of measure", entry.unit_of_measure),
        (
            "direction",
            entry.direction
            + (f" ({human(entry.range.low)} to {human(entry.range.high)})" if entry.range else ""),
        ),
        ("aggregation", entry.aggregation),
        ("frequency", entry.frequency),
        ("level", entry.level),
        ("type", entry.type),
        ("function", entry.function),
        ("industries", ", ".join(entry.industries)),
    ]
    out.print(f"[bold]{escape(entry.name)}[/]")
    out.print(escape(" ".join(entry.description.split())))
    out.print()
    for label, value in rows:
        if value:
            out.print(f"  {label + ':':<17}{escape(value)}")
    for title, links in (("Driven by", view.drivers), ("Drives", view.drives)):
        if links:
            out.print(f"\n{title}:")
            for link in links:
                out.print(
                    f"  {escape(link.id):<40} {escape(link.name)}  [dim]({link.via}, "
                    f"{link.effect})[/]"
                )


def add(
    kpi_id: Annotated[str, typer.Argument(metavar="ID", help="The catalogue id to add.")],
    unit: Annotated[str, typer.Option("--unit", help="The unit the KPI belongs to.")],
    owner: Annotated[str, typer.Option("--owner", help="The person who owns it.")],
    supports: Annotated[
        str | None,
        typer.Option("--supports", help="The objective it measures; default the unit's only one."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Edit this strategy file; default the one last applied (in this workspace).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a catalogue KPI (and its missing formula inputs) to the strategy file and store."""
    from lineofsight.services import library
    from lineofsight.services.workspace import command_workspace, open_store

    with open_store(db) as store:
        result = library.add(
            store,
            kpi_id,
            unit=unit,
            owner=owner,
            supports=supports,
            file=file,
            workspace=command_workspace(db),
        )
    for added in result.added:
        out.print(f"Added KPI [bold]{escape(added.id)}[/] ({escape(added.name)}): {added.role}")
        if added.direction_note:
            out.print(f"  {escape(added.direction_note)}")
    if result.reused:
        out.print(f"Formula inputs already in the strategy: {', '.join(result.reused)}")
    if result.supports_chosen:
        out.print(f"It supports '{result.supports}', the only active objective of '{unit}'.")
    for warning in result.warnings:
        out.print(f"[yellow]note:[/] {escape(warning)}")
    if result.file_note:
        out.print(f"{escape(result.file_note[0].upper() + result.file_note[1:])}.")
        return
    shown = os.path.relpath(result.file)
    shown = result.file if shown.startswith("..") else shown
    which = "" if file is not None else " (the strategy file last applied)"
    out.print(
        f"Wrote {escape(shown)}{which} and applied it to the store. Next: give each new KPI a "
        "target (and a baseline), then `los check`."
    )


def suggest(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI", help="A KPI of the strategy.")],
    depth: Annotated[
        int, typer.Option("--depth", min=1, max=2, help="1: direct drivers; 2: theirs too.")
    ] = 2,
    entry_id: Annotated[
        str | None,
        typer.Option("--entry", help="The catalogue entry to follow, when the match is wrong."),
    ] = None,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Catalogue KPIs that could cascade under a strategy KPI, by the child units' functions."""
    from lineofsight.services import library
    from lineofsight.services.workspace import open_store

    with open_store(db) as store:
        suggestion = library.suggest(store, kpi_id, depth, entry_id)
    if output_format is Format.JSON:
        out.print_json(json.dumps(asdict(suggestion)))
        return
    how = {
        "id": "same id",
        "name": "matched by name",
        "closest": "closest name",
        "given": "given with --entry",
    }[suggestion.matched_by]
    out.print(
        f"[bold]{escape(suggestion.kpi_id)}[/] ({escape(suggestion.kpi_name)}, to "
        f"{suggestion.direction}): catalogue KPI '{suggestion.entry_id}' ({how})"
    )
    if not suggestion.groups:
        out.print("The catalogue lists no drivers for it.")
    for group in suggestion.groups:
        units = ", ".join(f"{name} ({uid})" for uid, name in group.units)
        where = f" - units: {units}" if units else " - no child unit of this function"
        out.print(f"\n[bold]{group.function}[/]{escape(where)}")
        for driver in group.drivers:
            through = f" via {driver.through}" if driver.through else ""
            have = "  [dim](in the strategy)[/]" if driver.in_strategy else ""
            if driver.against_usual:
                have += f"  [yellow](usually to {driver.usual_direction}: a trade-off)[/]"
            out.print(
                f"  {driver.move:<10} {escape(driver.id):<40} {escape(driver.name)}"
                f"  [dim]({driver.via}{escape(through)})[/]{have}"
            )
    for note in suggestion.notes:
        out.print(f"\n[dim]{escape(note)}[/]")


def group() -> typer.Typer:
    """`los library` with its commands, in the order its help lists them."""
    library = typer.Typer(
        name="library",
        help="The KPI library: search the catalogue, show, add to the strategy, suggest drivers.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    for fn in (search, show, add, suggest):
        add_command(library, fn)
    return library
