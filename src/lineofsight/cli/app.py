"""The `los` command: one Typer app; user mistakes exit 2 with every problem listed."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lineofsight import __version__
from lineofsight.errors import InputError, StoreError, UsageError
from lineofsight.examples import example_names
from lineofsight.services.workspace import ENV_URL, open_store

# Commands import the services they use when they run, so that each pays only for its own
# libraries (the strategy-file schema, migrations, the engine) and `los` starts quickly.

app = typer.Typer(
    name="los",
    help="Line of Sight: cascade a strategy into owned, targeted, measured KPIs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=f"Store URL (sqlite:///path or postgresql://...); default ${ENV_URL}, "
        "else .lineofsight/lineofsight.db here or above.",
        show_default=False,
    ),
]


class CheckFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


EXAMPLE_HELP = "Fill it with a worked example: " + ", ".join(example_names())

F = TypeVar("F", bound=Callable[..., Any])


def _command(on: typer.Typer | None = None, **kwargs: Any) -> Callable[[F], F]:
    """Register a command (on `los`, or on a group such as `los user`) whose user mistakes
    print every problem and exit 2, no traceback."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kw: Any) -> Any:
            try:
                return fn(*args, **kw)
            except InputError as exc:
                _report(exc)
                raise typer.Exit(2) from None
            except StoreError as exc:
                err.print(f"[bold red]error:[/] {escape(str(exc))}")
                raise typer.Exit(2) from None

        (on or app).command(**kwargs)(run)
        return fn

    return register


def _version(value: bool) -> None:
    if value:
        out.print(f"los {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Line of Sight: cascade a strategy into owned, targeted, measured KPIs."""


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@_command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder of the workspace.")] = Path("."),
    example: Annotated[
        str | None,
        typer.Option(
            "--example",
            help=EXAMPLE_HELP,
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite strategy.yaml.")] = False,
    db: DbOption = None,
) -> None:
    """Create a workspace: a store, strategy.yaml and data/ (with --example, a worked example)."""
    from lineofsight.services import init as init_service

    result = init_service.init_workspace(folder, example=example, db=db, force=force)
    what = f"the {result.example} example" if result.example else "a workspace"
    out.print(f"Created {what} in {escape(str(result.folder))}")
    out.print(f"  store:    {escape(result.url)}")
    state = "written" if result.created_strategy else "kept as it was"
    out.print(
        f"  strategy: {escape(str(result.strategy))} ({state}; {result.added} definitions applied)"
    )
    out.print("  contents: " + ", ".join(f"{n} {what}" for what, n in result.counts.items()))
    for load in result.loads:
        out.print(f"  data:     {escape(load.file)} ({load.rows:,} measurements loaded)")
    step = "" if folder.resolve() == Path.cwd().resolve() else f"cd {escape(str(folder))}, then "
    out.print(
        f"Next: {step}edit strategy.yaml and run `los apply strategy.yaml`; "
        "load measurements with `los load data/*.csv`."
    )


# Past this many changed fields, apply lists the first ones and a count per kind: a first apply
# of a large organisation changes hundreds of thousands of fields, which no one reads line by line.
LISTED_CHANGES = 200


@_command()
def apply(
    file: Annotated[Path, typer.Argument(help="The strategy file (YAML).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    show_all: Annotated[
        bool,
        typer.Option("--all", help=f"List every change, even past {LISTED_CHANGES}."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Validate a strategy file and bring the store's definitions to it."""
    with open_store(db) as store:
        from lineofsight.services import apply as apply_service

        result = apply_service.apply_file(store, file, dry_run=dry_run)
    plan = result.plan
    if plan.empty:
        out.print(f"No changes: the store already matches {escape(result.file)}.")
        return
    records = plan.records if show_all else plan.records[:LISTED_CHANGES]
    out.print("\n".join(_change_line(record) for record in records))
    if len(records) < len(plan.records):
        out.print(
            f"... and {len(plan.records) - len(records):,} more changed fields "
            "(--all lists them; `los history` shows them after the apply)."
        )
        for kind, counts in plan.counts_by_kind().items():
            parts = [f"{counts[action]:,} {word}" for action, word in _ACTIONS if counts[action]]
            out.print(f"  {kind}: {', '.join(parts)}")
    verb = "Would apply" if dry_run else "Applied"
    out.print(
        f"{verb} {escape(result.file)}: {plan.count('add')} added, {plan.count('change')} changed, "
        f"{plan.count('remove')} removed."
    )


_ACTIONS = (("add", "added"), ("change", "changed"), ("remove", "removed"))


def _change_line(record: Any) -> str:
    """One change of an apply as a line: + added, ~ field before -> after, - removed."""
    subject = f"{record.kind} {record.item_id}"
    if record.action == "add":
        if record.kind == "organization":
            return f"[green]+[/] {record.field}: {escape(_short(record.after))}"
        label = record.label
        return f"[green]+[/] {subject}" + (f": {escape(_short(label))}" if label else "")
    if record.action == "remove":
        return f"[red]-[/] {subject}"
    return (
        f"[yellow]~[/] {subject}: {record.field}: {escape(_short(record.before))} -> "
        f"{escape(_short(record.after))}"
    )


@_command()
def export(
    file: Annotated[
        Path | None, typer.Argument(help="Write here instead of to standard output.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the store's definitions as a strategy file (apply reads it back unchanged)."""
    with open_store(db) as store:
        from lineofsight.services.export import export_strategy

        text = export_strategy(store, file)
    if file is None:
        sys.stdout.write(text)
    else:
        err.print(f"Wrote {escape(str(file))}")


@_command()
def load(
    files: Annotated[list[Path], typer.Argument(help="CSV or XLSX files of measurements.")],
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet", help="The sheet of an XLSX file (default: 'measurements', else the first)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Load measurements (columns kpi, period, value[, unit, numerator, denominator, note]).

    Each file is loaded whole or not at all; every bad row is listed.
    """
    from lineofsight.services.measurements import load_file

    failed = 0
    with open_store(db) as store:
        for path in files:
            try:
                result = load_file(store, path, sheet=sheet)
            except InputError as exc:
                failed += 1
                _report(exc)
                continue
            where = result.file
            if result.sheet is not None:
                where += f", sheet '{result.sheet}'"
                if result.header_row != 1:
                    where += f" (header on row {result.header_row})"
            out.print(
                f"Loaded {escape(where)}: {result.rows:,} rows: {result.added:,} added, "
                f"{result.replaced:,} replaced, {result.unchanged:,} unchanged."
            )
    if failed:
        raise typer.Exit(2)


@_command()
def check(
    file: Annotated[
        Path | None,
        typer.Argument(help="Check this strategy file instead of the store (no data rules)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date the time rules use (YYYY-MM-DD); default today."),
    ] = None,
    output_format: Annotated[
        CheckFormat, typer.Option("--format", help="text, json or sarif.")
    ] = CheckFormat.TEXT,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Run only these rules (comma-separated codes)."),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="Skip these rules (comma-separated codes)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", help="A rule option, CODE.name=value (e.g. OW02.max=4)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the alignment checks; exit 1 when any finding is an error."""
    day = _parse_date(as_of, "--as-of") if as_of else dt.date.today()
    codes = [c for raw in select or [] for c in raw.split(",")]
    skip = [c for raw in ignore or [] for c in raw.split(",")]
    from lineofsight.cli import render_checks
    from lineofsight.services import check as check_service

    options = check_service.parse_options(option or [])
    if file is not None:
        report = check_service.check(
            file=file, store=None, as_of=day, select_codes=codes, ignore_codes=skip, options=options
        )
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
    if output_format is CheckFormat.JSON:
        _emit(render_checks.report_json(report), output)
    elif output_format is CheckFormat.SARIF:
        _emit(render_checks.report_sarif(report), output)
    else:
        lines = render_checks.report_text(report, source)
        if output is None:
            for line in lines:
                out.print(line)
        else:
            console = Console(file=io.StringIO(), no_color=True, highlight=False, width=200)
            for line in lines:
                console.print(line)
            _emit(console.file.getvalue(), output)  # type: ignore[attr-defined]
    if report.has_errors:
        raise typer.Exit(1)


@_command()
def rules() -> None:
    """List the alignment rules with their code, name, default severity and options."""
    from lineofsight.checks.registry import all_rules

    for rule in all_rules():
        opts = ", ".join(f"{o.name}={o.default:g}" for o in rule.options)
        out.print(
            f"[bold]{rule.code}[/] {rule.name} ({rule.severity.value})"
            + (f" [dim]options: {opts}[/]" if opts else "")
        )
        out.print(f"    {escape(rule.summary())}")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {escape(str(output))}")


def _parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


class TraceFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@_command()
def trace(
    item: Annotated[str, typer.Argument(help="A KPI, objective or person id.")],
    file: Annotated[
        Path | None,
        typer.Argument(help="Trace in this strategy file instead of the store."),
    ] = None,
    output_format: Annotated[
        TraceFormat, typer.Option("--format", help="text or json.")
    ] = TraceFormat.TEXT,
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
    if output_format is TraceFormat.JSON:
        sys.stdout.write(render_trace.trace_json(result))
        return
    for line in render_trace.trace_text(result):
        out.print(line)


class ForecastFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@_command()
def forecast(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Use the values up to this date (YYYY-MM-DD); default today."),
    ] = None,
    output_format: Annotated[
        ForecastFormat, typer.Option("--format", help="table or json.")
    ] = ForecastFormat.TABLE,
    db: DbOption = None,
) -> None:
    """Project each KPI to its target date (a line through its last 8 values): on track or not."""
    from lineofsight.cli import render_forecast
    from lineofsight.services import forecast as forecast_service

    day = _parse_date(as_of, "--as-of") if as_of else dt.date.today()
    with open_store(db) as store:
        report = forecast_service.forecast_store(store, day)
    if output_format is ForecastFormat.JSON:
        sys.stdout.write(render_forecast.forecast_json(report))
        return
    # Not writing to a terminal (a file, a pipe): give the table room rather than cut ids.
    console = out if out.is_terminal else Console(highlight=False, width=200)
    console.print(render_forecast.forecast_table(report))
    for line in render_forecast.forecast_notes(report):
        console.print(line)


class ExplainFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@_command()
def explain(
    kpi: Annotated[str, typer.Argument(help="The KPI id.")],
    from_period: Annotated[
        str, typer.Option("--from", help="The earlier period, at the KPI's frequency (FY2026-Q4).")
    ],
    to_period: Annotated[str, typer.Option("--to", help="The later period (FY2027-Q2).")],
    depth: Annotated[
        int, typer.Option("--depth", help="Also split inputs that are formulas, N levels deep.")
    ] = 1,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="At this unit instead of the KPI's own.", show_default=False),
    ] = None,
    output_format: Annotated[
        ExplainFormat, typer.Option("--format", help="text or json.")
    ] = ExplainFormat.TEXT,
    db: DbOption = None,
) -> None:
    """Explain what drove a KPI's change between two periods (contributions that add up)."""
    from lineofsight.cli import render_explain
    from lineofsight.services import explain as explain_service

    with open_store(db) as store:
        result = explain_service.explain_change(
            store, kpi, from_period, to_period, depth=depth, unit=unit
        )
    if output_format is ExplainFormat.JSON:
        sys.stdout.write(render_explain.explain_json(result))
        return
    for line in render_explain.explain_text(result):
        out.print(line)


@_command()
def history(
    item: Annotated[
        str | None, typer.Argument(help="Only this unit, person, objective or KPI id.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N changes.")] = 50,
    db: DbOption = None,
) -> None:
    """Show what changed in the definitions, when, by whom, and the value before."""
    with open_store(db) as store:
        from lineofsight.services import history as history_service

        records = history_service.definition_history(store, item, limit)
    if not records:
        out.print("No changes recorded" + (f" for {escape(item)}." if item else "."))
        return
    for r in records:
        when = r.changed_at.strftime("%Y-%m-%d %H:%M")
        subject = f"{r.kind} {r.item_id}"
        if r.action == "change":
            detail = f"{r.field}: {_short(r.before)} -> {_short(r.after)}"
        elif r.field:
            detail = f"{r.field}: {_short(r.after)}"
        else:
            detail = "added" if r.action == "add" else "removed"
        out.print(f"{when}  {escape(r.actor)}  {escape(subject)}: {escape(detail)}")


@_command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Print the JSON Schema of the strategy file, for editors and CI validators."""
    from lineofsight.spec.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {escape(str(output))}")


def _report(exc: InputError) -> None:
    err.print(f"[bold red]error:[/] {escape(exc.summary)}")
    for problem in exc.problems:
        err.print(f"  {escape(str(problem))}")


def main() -> None:
    """Entry point of the `los` command.

    Once the command has finished and its output is flushed, the process ends without
    tearing down the interpreter: freeing the millions of objects a large apply or load
    made takes seconds and serves no one (the store is closed by then; every write is
    committed or rolled back inside its command).
    """
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


from lineofsight.cli import library as _library  # noqa: E402, F401  (registers `los library`)
from lineofsight.cli import scorecard as _scorecard  # noqa: E402, F401  (registers status and tree)
from lineofsight.cli import web_commands as _web  # noqa: E402, F401  (registers serve and user)
