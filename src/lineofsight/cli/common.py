"""What every `los` command shares: the consoles, the common options, error reporting, output.

Conventions, for every command:
- `--format text|json` (plus `csv` or `sarif` where they make sense): `text` is the human
  format everywhere (`table` is kept as another name for it where it was the name before);
  `json` is for programs. `FormatOption` and `print_json` make that one line for a new command.
- An output path of `-` (or none) is standard output; a missing folder on the way to an output
  file is created (`write_output`).
- Every option and argument shows what it takes (`DATE`, `PERIOD`, `URL`, `FILE`, `N`, `ID`),
  never a Python type: a test reads every command's help.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast, get_args, get_origin

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from lineofsight.cli.trimmed import TrimmedLines
from lineofsight.errors import InputError, StoreBusy, StoreError, UsageError
from lineofsight.services.workspace import ENV_URL

if TYPE_CHECKING:
    from rich.console import Console as RichConsole


# rich is loaded when a command first prints through it (a table, a message), not at every
# start: about 40 ms of CPU, which a command writing JSON or CSV never needs.
def Console(**options: Any) -> RichConsole:
    """A rich `Console` with these options."""
    from rich.console import Console as RichConsole

    return RichConsole(**options)


def escape(markup: str) -> str:
    """`markup` with rich's markup escaped (rich's `escape`)."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


class _LazyConsole:
    """A rich `Console` made on its first use (see `Console`)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: RichConsole | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            self._console = Console(**self._options)
        return getattr(self._console, name)


def text_console(width: int, fit: Any = None) -> RichConsole:
    """The console for a command's text output: `out` on a terminal; else (a file, a pipe)
    one `width` columns wide, or as wide as the table `fit` is laid out whole when that is
    wider, so that tables are not cut, with no trailing spaces."""
    if out.is_terminal:
        return out
    console = Console(highlight=False, width=width, file=TrimmedLines())
    if fit is not None:
        widest = whole_width(console, fit)
        if widest > width:
            console = Console(highlight=False, width=widest, file=TrimmedLines())
    return console


def whole_width(console: RichConsole, renderable: Any) -> int:
    """How wide `renderable` (a table) is laid out whole, one line a row, on `console`:
    wider than the console when it does not fit there (on a terminal, its lines would wrap)."""
    # Measured without a limit (a console measures a table to its own width at most).
    return console.measure(renderable, options=console.options.update_width(1 << 16)).maximum


out = cast("RichConsole", _LazyConsole(highlight=False, soft_wrap=True, file=TrimmedLines()))
err = cast("RichConsole", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BUSY = 3  # another write held the store for longer than LOS_BUSY_TIMEOUT: try again

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help=f"Store URL (sqlite:///path or postgresql://...); default ${ENV_URL}, "
        "else the workspace here or above (.lineofsight/).",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="As of this date (YYYY-MM-DD); default today.",
        show_default=False,
    ),
]


class Format(StrEnum):
    """The two formats of a command that reports: for people, and for programs."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[
    Format,
    typer.Option("--format", metavar="text|json", help="text (for people) or json (for programs)."),
]


def print_json(data: Any) -> None:
    """Write `data` as indented JSON to standard output (dates as ISO text)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _plain_reason(exc: typer.BadParameter) -> None:
    """Reword Typer's check of a value (pydantic's wording) the way a command line says it.

    `Input should be less than or equal to 65535` becomes `99999 is not in the range 1-65535`,
    `Input should be a valid integer, ...` becomes `'abc' is not a whole number`.
    """
    errors = getattr(exc.__cause__, "errors", None)
    if errors is None or not errors():
        return
    error = errors()[0]
    kind, value, limits = error.get("type", ""), error.get("input"), error.get("ctx") or {}
    if kind in {"greater_than_equal", "less_than_equal"}:
        # The error names the bound crossed; the parameter has both, when it has both.
        info = getattr(getattr(exc.param, "type_descriptor", None), "parameter_info", None)
        low = limits.get("ge", getattr(info, "min", None))
        high = limits.get("le", getattr(info, "max", None))
        if low is not None and high is not None:
            exc.message = f"{value} is not in the range {low}-{high}."
        elif low is not None:
            exc.message = f"{value} is less than {low}, the smallest allowed."
        else:
            exc.message = f"{value} is more than {high}, the largest allowed."
    elif kind in {"int_parsing", "int_from_float"}:
        exc.message = f"{value!r} is not a whole number."
    elif kind in {"float_parsing", "decimal_parsing"}:
        exc.message = f"{value!r} is not a number."


def _plain_value(param: Any, ctx: Any, value: Any) -> tuple[bool, Any]:
    """(True, the value) when it needs no conversion by Typer's pydantic adapters: none given,
    or text, a whole number in range, a flag, a path or the exact value of one of its choices
    where that is what the parameter takes, or a list of those. Building those adapters loads
    pydantic, about a fifth of a second of every command's start; any other value (a wrong
    one, for its message) goes through them still. The result is what Typer would give
    (tests/cli/test_startup.py compares them for every parameter of `los`)."""
    if param.callback is not None and value is not None:
        return False, None  # an eager option acting on its value (--show-completion): Typer's way
    described = _described(param)
    if described is None:
        return False, None
    annotation, info = described
    if info.parser is not None:
        return False, None
    if param.multiple or param.nargs == -1:
        if value is None:
            plain: Any = ()
        elif isinstance(value, list | tuple) and get_origin(annotation) is list:
            (item_type,) = get_args(annotation)
            plain = []
            for item in value:
                done, one = _plain_item(item_type, info, item, param, ctx)
                if not done:
                    return False, None
                plain.append(one)
        else:
            return False, None
    elif param.nargs != 1:
        return False, None
    elif value is None:
        plain = None
    else:
        done, plain = _plain_item(annotation, info, value, param, ctx)
        if not done:
            return False, None
    if param.required and param.value_is_missing(plain):
        return False, None  # Typer says what is missing
    if param.callback is not None:
        plain = param.callback(ctx, param, plain)
    return True, plain


_WHOLE = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only, as pydantic reads a whole number


def _plain_item(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> tuple[bool, Any]:
    """(True, the value) for one value that `_plain_value` may give without pydantic."""
    if annotation is int and type(value) in (int, str):
        if type(value) is str and not _WHOLE.fullmatch(value):
            return False, None
        number = int(value)
        if info.clamp or (info.min is not None and number < info.min):
            return False, None
        if info.max is not None and number > info.max:
            return False, None
        return True, number
    if type(value) is annotation and annotation in (str, bool):
        return True, value
    if isinstance(annotation, type) and issubclass(annotation, Enum) and type(value) is annotation:
        return True, value  # the default choice
    if isinstance(annotation, type) and issubclass(annotation, Enum) and type(value) is str:
        found = [c for c in annotation if c.value == value]
        return (True, found[0]) if found else (False, None)
    if annotation is Path and type(value) is str and info.path_type is None:
        return _plain_path(value, info)
    return False, None


def _plain_path(value: str, info: Any) -> tuple[bool, Any]:
    """(True, the path) when it passes the checks the parameter asks for (`typer.Option`'s
    `exists`, `file_okay`, `dir_okay`, `readable`, `writable`, `resolve_path`), as Typer
    checks them; a path that fails one is left to Typer, for its message."""
    path = os.path.realpath(value) if info.resolve_path else value
    try:
        found = os.stat(path)
    except OSError:
        return (False, None) if info.exists else (True, Path(path))
    if not info.file_okay and stat.S_ISREG(found.st_mode):
        return False, None
    if not info.dir_okay and stat.S_ISDIR(found.st_mode):
        return False, None
    if info.readable and not os.access(path, os.R_OK):
        return False, None
    if info.writable and not os.access(path, os.W_OK):
        return False, None
    return True, Path(path)


# What `_plain_value` reads of a parameter that Typer made: its `type_descriptor` (Typer 0.2x's
# record of the annotation and of `typer.Option`'s settings, not a documented name), and of
# those settings the ones below (each a documented argument of `typer.Option`).
SETTINGS_READ = (
    "parser",
    "clamp",
    "min",
    "max",
    "path_type",
    "exists",
    "file_okay",
    "dir_okay",
    "readable",
    "writable",
    "resolve_path",
)


def _described(param: Any) -> tuple[Any, Any] | None:
    """The annotation and the `typer.Option` settings Typer keeps for `param`, or None when
    this Typer keeps them in another way, or the parameter takes a file object: then every
    value goes through Typer (the command works, its start loads pydantic).
    tests/cli/test_startup.py fails while that is so, to have this brought up to date."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    info = getattr(descriptor, "parameter_info", None)
    if annotation is None or getattr(descriptor, "is_file", True):
        return None
    if not all(hasattr(info, name) for name in SETTINGS_READ):
        return None
    return annotation, info


class _Option(TyperOption):
    """An option whose wrong values are explained in command-line words (`_plain_reason`)."""

    def process_value(self, ctx: Any, value: Any) -> Any:
        done, plain = _plain_value(self, ctx, value)
        if done:
            return plain
        try:
            return super().process_value(ctx, value)
        except typer.BadParameter as exc:
            _plain_reason(exc)
            raise


class _Argument(TyperArgument):
    """An argument shown by its metavar alone (`FILE`), without Typer's `<path>` beside it,
    whose wrong values are explained in command-line words (`_plain_reason`)."""

    def process_value(self, ctx: Any, value: Any) -> Any:
        done, plain = _plain_value(self, ctx, value)
        if done:
            return plain
        try:
            return super().process_value(ctx, value)
        except typer.BadParameter as exc:
            _plain_reason(exc)
            raise

    def display_type(self, ctx: Any) -> str:
        return ""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        many = "..." if self.nargs != 1 else ""
        if self.required:
            return self.display_name_raw + many
        return f"[{self.display_name_raw}{many}]"  # `[KPI...]`: none, one or more


class LosCommand(TyperCommand):
    """A command whose help says what each argument takes (`FILE`, `ID`), as its options do."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _Argument
                if param.metavar is None:  # `ID`, as the options show theirs, not `token_id`
                    param.metavar = (param.name or "value").upper()
            elif type(param) is TyperOption:
                param.__class__ = _Option
            if isinstance(param, TyperOption) and param.metavar is None and not param.is_flag:
                # What it takes, by name (`--role ROLE`), or its choices (`--mode a|b|c`).
                choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
                param.metavar = (
                    "|".join(str(getattr(c, "value", c)) for c in choices)
                    if choices
                    else (param.name or "value").upper()
                )

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_options(super().get_params(ctx))


class LosGroup(TyperGroup):
    """A command group (`los` itself) whose options take their values as a command's do."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_options(super().get_params(ctx))


def _plain_options(params: list[Any]) -> list[Any]:
    """The parameters, each option one that takes plain values without pydantic (`_Option`):
    also those Typer adds after the command is made (--help, the completion options)."""
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _Option
    return params


def add_command(on: typer.Typer, fn: Callable[..., Any], name: str | None = None) -> None:
    """Register `fn` as a command of `on` (`los`, or a group such as `los user`) whose user
    mistakes print every problem and exit 2, no traceback."""
    on.command(name=name, cls=LosCommand)(guarded(fn))


def guarded(fn: F) -> F:
    """The command `fn`, with a user's mistakes printed (every problem listed) and exit code 2
    instead of a traceback."""

    @functools.wraps(fn)
    def run(*args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except InputError as exc:
            report(exc)
            raise typer.Exit(2) from None
        except StoreBusy as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))} (LOS_BUSY_TIMEOUT sets the wait)")
            raise typer.Exit(EXIT_BUSY) from None
        except StoreError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None

    return run  # type: ignore[return-value]


def report(exc: InputError) -> None:
    """Print a user's mistake: the summary, then every problem on its own line.

    A lone problem of a field (no line) that the summary already says is not said again: the
    field is there for the API (`unknown user 'x'` names its `username`), the summary for people.
    """
    err.print(f"[bold red]error:[/] {escape(exc.summary)}")
    problems = exc.problems
    if len(problems) == 1 and not problems[0].line and problems[0].message in exc.summary:
        problems = []
    for problem in problems:
        err.print(f"  {escape(str(problem))}")


def is_stdout(path: Path | None) -> bool:
    """Whether an output path means standard output (none given, or `-`)."""
    return path is None or str(path) == "-"


_Kind = TypeVar("_Kind", bound=StrEnum)


def format_for(
    given: _Kind | None, output: Path | None, kinds: type[_Kind], default: _Kind
) -> _Kind:
    """The format asked for (`--format`), else the one the output file's name ends with
    (`-o card.csv`: csv), else `default`."""
    if given is not None:
        return given
    if not is_stdout(output):
        assert output is not None
        ending = output.suffix.lower().lstrip(".")
        for kind in kinds:
            if kind.value == ending:
                return kind
    return default


def output_done() -> bool:
    """Let a program reading the command's standard output through a pipe (or a file) see its
    end now, while the command finishes work that writes nothing more (keeping a scorecard in
    the store): standard output is flushed and pointed at the null device. Nothing is done on
    a terminal or when standard output is not the process's own (a test's runner). Whether
    it was done."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if fd != 1 or os.isatty(fd):
        return False
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
    finally:
        os.close(null)
    return True


def write_output(
    text: str | bytes | list[bytes | memoryview] | Iterator[bytes | memoryview],
    path: Path | None,
) -> None:
    """Write `text` (or binary data, maybe in pieces written one after the other, a list or
    an iterator of them) to `path`, or to standard output for `-` or no path.

    A missing folder on the way is created, as `mkdir -p` would; a path that cannot be
    written (a folder, no permission) is a UsageError naming it. The file is replaced in one
    step.
    """
    pieces = [text] if isinstance(text, bytes) else text
    if path is None or is_stdout(path):
        if not isinstance(pieces, str):
            sys.stdout.flush()
            if not isinstance(pieces, list) or sum(len(piece) for piece in pieces) > _WIDE_PIPE:
                _widen_pipe()
            for piece in pieces:  # one by one: a stream may watch its `write` (a test's)
                sys.stdout.buffer.write(piece)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(pieces)
        return
    # Written beside it, then moved over it: a reader never sees half a file, and a failure
    # (of the file, or of making the pieces) leaves nothing behind.
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not isinstance(pieces, str):
                with tmp.open("wb") as file:
                    file.writelines(_made(pieces))
            else:
                tmp.write_text(pieces, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException as exc:
        if tmp.exists() and not tmp.is_dir():
            tmp.unlink(missing_ok=True)
        if isinstance(exc, _MakingFailed):
            raise exc.failure from None
        raise
    err.print(f"Wrote {escape(str(path))}")


# Output larger than this is written to a pipe widened to it (`_widen_pipe`).
_WIDE_PIPE = 1 << 20


def _widen_pipe() -> None:
    """Let standard output's pipe, if it is one, hold `_WIDE_PIPE` bytes (Linux's default is
    64 KiB): tens of megabytes (the JSON of a large scorecard) then pass in sixteen times
    fewer turns between this process and the reader, which take about as long as the copying
    itself (a 50 MB status: 0.03 s written instead of 0.06-0.13 s). Nothing is done
    elsewhere, nor when the system refuses (a limit set lower)."""
    try:
        import fcntl
    except ImportError:  # not on this system (Windows)
        return
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    try:
        fd = sys.stdout.fileno()
        if setting is None or fd != 1 or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return
        if fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032)) < _WIDE_PIPE:
            fcntl.fcntl(fd, setting, _WIDE_PIPE)
    except (AttributeError, OSError, ValueError):
        pass


class _MakingFailed(Exception):
    """An OSError raised while making the output's pieces: not the output file's fault."""

    def __init__(self, failure: OSError) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _made(
    pieces: Iterable[bytes | memoryview],
) -> Iterator[bytes | memoryview]:
    """The pieces, an OSError in making one told apart from one in writing it."""
    iterator = iter(pieces)
    while True:
        try:
            piece = next(iterator)
        except StopIteration:
            return
        except OSError as exc:
            raise _MakingFailed(exc) from exc
        yield piece


def parse_date(text: str | None, option: str) -> dt.date:
    """The date an option gives (today when not given); UsageError when it is not a date."""
    if text is None:
        return dt.date.today()
    from lineofsight.domain import periods

    try:
        return periods.parse_date(text)
    except periods.PeriodError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None


SHORT = 70  # characters a value takes on a line of changes


def short(value: Any, limit: int = SHORT) -> str:
    """A value as one line of at most `limit` characters.

    Only the first `limit` characters of the JSON are ever made: a value can be large (a
    strategy file's long text, a list of thousands of items) and only its start is shown.
    """
    if isinstance(value, str):
        text = value[: limit + 1]
    else:
        parts: list[str] = []
        size = 0
        for part in _json_parts(value, limit + 1):
            parts.append(part)
            size += len(part)
            if size > limit:
                break
        text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_parts(value: Any, cut: int) -> Iterator[str]:
    """The JSON text of `value` in pieces, each string cut to `cut` characters, made lazily."""
    if isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield (", " if index else "") + json.dumps(str(key)[:cut], ensure_ascii=False) + ": "
            yield from _json_parts(item, cut)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ", "
            yield from _json_parts(item, cut)
        yield "]"
    elif isinstance(value, str):
        yield json.dumps(value[:cut], ensure_ascii=False)
    else:
        yield json.dumps(value, ensure_ascii=False, default=str)[:cut]
