"""`los check` and `los rules`: the alignment checks and their rules."""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lineofsight.cli.common import (
    AsOfOption,
    Console,
    DbOption,
    Format,
    FormatOption,
    escape,
    format_for,
    is_stdout,
    out,
    parse_date,
    print_json,
    write_output,
)
from lineofsight.errors import InputError
from lineofsight.services.workspace import open_store


class CheckFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


def check(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="Check this strategy file instead of the store (no data rules).",
        ),
    ] = None,
    as_of: AsOfOption = None,
    given_format: Annotated[
        CheckFormat | None,
        typer.Option(
            "--format",
            metavar="text|json|sarif",
            help="text, json or sarif (default: the ending of -o FILE, else text).",
            show_default=False,
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select", metavar="CODES", help="Run only these rules (comma-separated codes)."
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", metavar="CODES", help="Skip these rules (comma-separated codes)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            metavar="CODE.NAME=VALUE",
            help="A rule option, e.g. OW02.max=4.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to this file (- for standard output).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the alignment checks; exit 1 when any finding is an error."""
    output_format = format_for(given_format, output, CheckFormat, CheckFormat.TEXT)
    day = parse_date(as_of, "--as-of")
    codes, skip = select or [], ignore or []  # "OW02,AL01": split by `check_service.check`
    from lineofsight.cli import render_checks
    from lineofsight.services import check as check_service

    options = check_service.parse_options(option or [])
    base = Path.cwd()  # where the checked file's name is found from (SARIF's locations)
    target = None if is_stdout(output) else output
    if file is not None:
        try:
            report = check_service.check(
                file=file,
                store=None,
                as_of=day,
                select_codes=codes,
                ignore_codes=skip,
                options=options,
            )
        except InputError as exc:
            # A file that does not load: its problems for programs and code hosts too, not
            # only as text on standard error (a CI job would show no annotation at all).
            if output_format is CheckFormat.JSON:
                write_output(render_checks.problems_json(exc.summary, exc.problems), target)
            elif output_format is CheckFormat.SARIF:
                write_output(render_checks.problems_sarif(exc.problems, base), target)
            raise
        source = str(file)
    else:
        with open_store(db) as store:
            report = check_service.check(
                file=None,
                store=store,
                as_of=day,
                select_codes=codes,
                ignore_codes=skip,
                options=options,
            )
            source = store.display_url
            # The findings name the strategy file from its workspace, not from this folder.
            if output_format is CheckFormat.SARIF:
                base = check_service.findings_folder(store) or base
    if output_format is CheckFormat.JSON:
        write_output(render_checks.report_json(report), target)
    elif output_format is CheckFormat.SARIF:
        write_output(render_checks.report_sarif(report, base), target)
    else:
        lines = render_checks.report_text(report, source)
        if target is None:
            for line in lines:
                out.print(line)
        else:
            console = Console(file=io.StringIO(), no_color=True, highlight=False, width=200)
            for line in lines:
                console.print(line)
            write_output(console.file.getvalue(), target)  # type: ignore[attr-defined]
    if report.has_errors:
        raise typer.Exit(1)


def rules(output_format: FormatOption = Format.TEXT) -> None:
    """List the alignment rules with their code, name, default severity and options."""
    from lineofsight.checks.docs import rule_help_uri
    from lineofsight.checks.registry import all_rules

    if output_format is Format.JSON:
        print_json(
            [
                {
                    "code": rule.code,
                    "name": rule.name,
                    "severity": rule.severity.value,
                    "summary": rule.summary(),
                    "options": {o.name: o.default for o in rule.options},
                    "help_uri": rule_help_uri(rule),
                }
                for rule in all_rules()
            ]
        )
        return
    for rule in all_rules():
        opts = ", ".join(f"{o.name}={o.default:g}" for o in rule.options)
        out.print(
            f"[bold]{rule.code}[/] {rule.name} ({rule.severity.value})"
            + (f" [dim]options: {opts}[/]" if opts else "")
        )
        out.print(f"    {escape(rule.summary())}")
