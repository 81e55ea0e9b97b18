"""The `los` command: the Typer app, its global options, and every command registered in one
place (`register_commands`, called when the app is made). The commands live in modules by
subject; user mistakes exit 2 with every problem listed (`common.guarded`)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from lineofsight import __version__
from lineofsight.cli.common import DbOption, LosGroup, add_command, err, out, report

__all__ = ["DbOption", "app", "create_app", "err", "main", "out", "register_commands", "report"]


def _version(value: bool) -> None:
    if value:
        out.print(f"los {__version__}")
        raise typer.Exit()


def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Log more to standard error (-vv: debugging).",
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Log only errors to standard error.")
    ] = False,
) -> None:
    """Line of Sight: cascade a strategy into owned, targeted, measured KPIs."""
    setup_logging(verbose, quiet)


def setup_logging(verbose: int, quiet: bool) -> None:
    """Send the `lineofsight` logs to standard error: warnings by default, info with -v,
    debugging with -vv, errors only with -q."""
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose >= 2
        else logging.INFO
        if verbose == 1
        else logging.WARNING
    )
    logger = logging.getLogger("lineofsight")
    for handler in list(logger.handlers):
        if getattr(handler, "_los_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._los_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def create_app() -> typer.Typer:
    """The `los` app with its global options and every command."""
    app = typer.Typer(
        name="los",
        cls=LosGroup,
        help="Line of Sight: cascade a strategy into owned, targeted, measured KPIs.",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(_main)
    register_commands(app)
    return app


def register_commands(app: typer.Typer) -> None:
    """Every command and command group of `los`, in the order `los --help` lists them."""
    from lineofsight.cli import (
        analysis,
        brief,
        checks,
        definitions,
        inbox,
        jobs,
        library,
        measurements,
        notify,
        scorecard,
        sources,
        web_commands,
    )

    for fn in (
        definitions.init,
        definitions.apply,
        definitions.export,
        measurements.load,
        sources.refresh,
        sources.sources,
        checks.check,
        checks.rules,
        scorecard.status,
        scorecard.tree,
        inbox.inbox,
        brief.brief,
        analysis.trace,
        analysis.explain,
        analysis.forecast,
        definitions.history,
        definitions.schema,
        notify.notify,
        web_commands.serve,
        jobs.jobs,
    ):
        add_command(app, fn)
    app.add_typer(measurements.measurement_group(), name="measurement")
    app.add_typer(library.group(), name="library")
    app.add_typer(web_commands.user_group(), name="user")


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


app = create_app()
