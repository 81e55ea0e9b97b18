"""The `los` command: the Typer app, its global options, and every command registered in one
place (`register_commands`, called when the app is made). The commands live in modules by
subject; user mistakes exit 2 with every problem listed (`common.guarded`)."""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
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


def create_app(only: str | None = None) -> typer.Typer:
    """The `los` app with its global options and every command (or only the command `only`,
    see `main`)."""
    app = typer.Typer(
        name="los",
        cls=LosGroup,
        help="Line of Sight: cascade a strategy into owned, targeted, measured KPIs.",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(_main)
    register_commands(app, only)
    return app


# Every command of `los`, in the order `los --help` lists them: its name, the module of
# `lineofsight.cli` that holds it, and its function; then the command groups, with the
# function that makes each.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("init", "definitions", "init"),
    ("apply", "definitions", "apply"),
    ("export", "definitions", "export"),
    ("load", "measurements", "load"),
    ("refresh", "sources", "refresh"),
    ("sources", "sources", "sources"),
    ("check", "checks", "check"),
    ("rules", "checks", "rules"),
    ("status", "scorecard", "status"),
    ("tree", "scorecard", "tree"),
    ("inbox", "inbox", "inbox"),
    ("brief", "brief", "brief"),
    ("trace", "analysis", "trace"),
    ("explain", "analysis", "explain"),
    ("forecast", "analysis", "forecast"),
    ("history", "definitions", "history"),
    ("schema", "definitions", "schema"),
    ("notify", "notify", "notify"),
    ("serve", "web_commands", "serve"),
    ("jobs", "jobs", "jobs"),
)
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("measurement", "measurements", "measurement_group"),
    ("library", "library", "group"),
    ("user", "web_commands", "user_group"),
)


def register_commands(app: typer.Typer, only: str | None = None) -> None:
    """Every command and command group of `los` (or only the one named `only`), in the order
    `los --help` lists them. A command's module is imported when it is registered."""
    for name, module, function in COMMANDS:
        if only is None or name == only:
            add_command(app, getattr(import_module(f"lineofsight.cli.{module}"), function), name)
    for name, module, function in GROUPS:
        if only is None or name == only:
            make = getattr(import_module(f"lineofsight.cli.{module}"), function)
            app.add_typer(make(), name=name)


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs the command line `args`: with only the command they name, when they
    name one of `los`, else with every command (`los --help`, a mistyped name, completion).

    Typer reads the signature of every registered command when it starts, and each command's
    module is imported to register it: about 50 ms of CPU that a command does not need. The
    command is the first word that is not an option, as `los`'s own options take no value.
    """
    named = next((arg for arg in args if not arg.startswith("-")), None)
    known = {name for name, _, _ in COMMANDS} | {name for name, _, _ in GROUPS}
    return create_app(named if named in known else None)


def main() -> None:
    """Entry point of the `los` command.

    Once the command has finished and its output is flushed, the process ends without
    tearing down the interpreter: freeing the millions of objects a large apply or load
    made takes seconds and serves no one (the store is closed by then; every write is
    committed or rolled back inside its command).
    """
    try:
        app_for(sys.argv[1:])()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


app: typer.Typer  # every command: made on first use (`__getattr__`), not by `main`


def __getattr__(name: str) -> typer.Typer:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    made = create_app()
    globals()["app"] = made
    return made
