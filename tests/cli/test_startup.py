"""The start of a `los` process: what a command loads before its work, and that the shortcuts
taken to load less give exactly what Typer would have given."""

from __future__ import annotations

import os
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import yaml
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from lineofsight.cli import common
from lineofsight.cli.app import app, app_for
from tests.conftest import FIXTURES, Los

ROOT = Path(__file__).parents[2]


def _parameters() -> list[tuple[str, Any, Any]]:
    """(where, command, parameter) for every option and argument of every `los` command,
    `los` itself included, as the command parses them (`get_params`)."""
    found: list[tuple[str, Any, Any]] = []

    def walk(command: Any, words: list[str]) -> None:
        ctx = typer.Context(command, info_name=" ".join(["los", *words]))
        for param in command.get_params(ctx):
            found.append((" ".join(["los", *words, param.name or "?"]), command, param))
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return found


def _candidates(tmp: Path, choices: list[Any]) -> list[Any]:
    unreadable = tmp / "unreadable.csv"
    unreadable.write_text("kpi,period,value\n")
    unreadable.chmod(0)
    readable = tmp / "values.csv"
    readable.write_text("kpi,period,value\n")
    words = ["", "x", "text", "json", "csv", "table", "sarif", "parquet", "auto", "-", "a.yaml"]
    numbers = ["0", "1", "2", "3", "007", "-1", "+3", " 4", "1_000", "65535", "99999", "1.5"]
    paths = [str(tmp), str(readable), str(unreadable), str(tmp / "missing" / "x.json")]
    singles: list[Any] = [None, True, False, 0, 1, 2, 5, *words, *numbers, *paths]
    pairs = [(), [], ("a",), ("a", "b"), ("1",), (str(readable),), ["x", "0"], (1,)]
    return [*singles, *pairs, *choices]


def test_every_value_taken_without_pydantic_is_what_typer_gives(tmp_path: Path) -> None:
    # For each parameter and each value: where the start's shortcut takes the value itself,
    # Typer's own conversion (pydantic's adapters) takes it too, as the same value of the same
    # type; a value Typer refuses is left to Typer (for its message).
    taken = 0
    parameters = _parameters()
    choices = [  # every choice of every enum-typed parameter, as itself (a default is one)
        member
        for _, _, param in parameters
        if isinstance(param.type_descriptor.annotation, type)
        and issubclass(param.type_descriptor.annotation, Enum)
        for member in param.type_descriptor.annotation
    ]
    values = _candidates(tmp_path, choices)
    for where, command, param in parameters:
        base = TyperOption if isinstance(param, TyperOption) else TyperArgument
        ctx = typer.Context(command, info_name="los")
        for value in values:
            done, plain = common._plain_value(param, ctx, value)
            if not done:
                continue
            try:
                expected = base.process_value(param, ctx, value)
            except Exception as exc:  # a refusal of Typer's (bad value, missing, not a list)
                raise AssertionError(f"{where} {value!r}: taken as {plain!r}, refused") from exc
            taken += 1
            assert type(plain) is type(expected), f"{where} {value!r}: {plain!r} {expected!r}"
            assert plain == expected, f"{where} {value!r}: {plain!r} != {expected!r}"
    assert taken > 1000  # the shortcut is the common case, not a corner of it


_LOADED = """
import sys
from lineofsight.cli.app import app_for
try:
    app_for(sys.argv[2:])(sys.argv[2:], prog_name="los")
except SystemExit:
    pass
print(sorted(m for m in sys.argv[1].split(",") if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--help"],
        ["check", "--help"],
        ["check", "--select", "DQ01", "--select", "OW02", "--as-of", "2026-11-22", "-o", "OUT"],
        ["status", "--as-of", "2026-11-22", "--format", "json", "-o", "OUT"],
        ["history", "--limit", "5"],
        ["load", "VALUES", "--format", "json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_command_with_plain_values_does_not_load_pydantic(
    args: list[str], tmp_path: Path
) -> None:
    # pydantic (through Typer's adapters) is a fifth of a second of a process's start; a
    # command given only plain values (text, numbers, paths, choices) does not load it.
    values = tmp_path / "values.csv"
    values.write_text("kpi,period,value\n")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    argv = [
        str(tmp_path / "out.json") if a == "OUT" else str(values) if a == "VALUES" else a
        for a in args
    ]
    if "--help" not in argv:
        argv += ["--db", url]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, "pydantic,typer._adapters", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def _paths(command: Any, words: list[str]) -> list[list[str]]:
    subcommands = getattr(command, "commands", None) or {}
    found = [words] if words else []
    for name, sub in subcommands.items():
        found += _paths(sub, [*words, name])
    return found


def test_the_app_of_a_command_line_holds_the_command_it_names_only() -> None:
    def names(args: list[str]) -> list[str]:
        return list(typer.main.get_command(app_for(args)).commands)  # type: ignore[attr-defined]

    every = list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert names(["-v", "status", "--as-of", "2026-11-22"]) == ["status"]
    assert names(["user", "add", "ana"]) == ["user"]
    assert names(["--help"]) == names([]) == names(["stauts"]) == names(["-q"]) == every
    assert len(every) == 23


def test_every_command_line_does_with_its_command_alone_what_it_does_with_all() -> None:
    # `los` runs a command line with an app holding only the command it names (`app_for`):
    # every command's help, and its refusal of a wrong option, are the same as with every
    # command registered.
    runner = CliRunner()
    for words in _paths(typer.main.get_command(app), []):
        for args in ([*words, "--help"], [*words, "--no-such-option"], ["-q", *words, "--help"]):
            alone = runner.invoke(app_for(args), args, prog_name="los")
            full = runner.invoke(app, args, prog_name="los")
            assert (alone.exit_code, alone.output) == (full.exit_code, full.output), args


def test_a_command_loads_neither_the_other_commands_nor_rich_when_it_prints_no_table() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    others = "lineofsight.cli.checks,lineofsight.cli.web_commands,lineofsight.cli.analysis"
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, f"rich,{others}", "status", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Usage: los status [OPTIONS]" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_a_check_a_status_and_a_load_on_a_store_load_neither_yaml_nor_rich_nor_pydantic(
    tmp_path: Path,
) -> None:
    # Writing JSON, none of them needs YAML (the strategy is in the store), rich (no table)
    # nor pydantic (plain values): ~0.3 s of CPU of their start together.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text((FIXTURES / "specs" / "valid" / "full.yaml").read_text())
    runner = Los(url)
    runner.make_empty_store()
    assert runner("apply", str(strategy)).exit_code == 0
    kpi = yaml.safe_load(strategy.read_text())["kpis"][0]["id"]
    values = tmp_path / "values.csv"
    values.write_text(f"kpi,period,value\n{kpi},2026-10,5\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    for args in (
        ["check", "--as-of", "2026-11-22", "--format", "json"],
        ["status", "--as-of", "2026-11-22", "--format", "json"],
        ["load", str(values), "--format", "json"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", _LOADED, "yaml,rich,pydantic", *args, "--db", url],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in done.stderr and done.stdout.startswith(("{", "[")), done
        assert done.stderr.strip().splitlines()[-1] == "[]", (args, done.stderr)


def test_the_shortcut_reads_what_the_installed_typer_keeps() -> None:
    # The shortcut reads Typer's record of each parameter (not a documented name). When a
    # Typer release keeps it otherwise, every value goes through Typer again (the commands
    # work, each start a fifth of a second slower): this fails, loudly, until
    # `common._described` is brought up to date.
    parameters = _parameters()
    for where, _, param in parameters:
        if getattr(getattr(param, "type_descriptor", None), "is_file", False):
            continue  # a file object: Typer's to open
        assert common._described(param) is not None, (
            f"{where}: Typer {typer.__version__} keeps no `type_descriptor` with an annotation "
            f"and the settings {common.SETTINGS_READ}: update lineofsight/cli/common.py"
        )


def test_the_shortcut_needs_no_private_module_of_typer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paths are checked as `typer.Option` asks, with no function of Typer's private modules
    # (`typer._param_types.coerce_cli_path` was one).
    import typer._param_types

    parameters = _parameters()
    monkeypatch.delattr(typer._param_types, "coerce_cli_path")
    folder, values = tmp_path / "folder", tmp_path / "values.csv"
    folder.mkdir()
    values.write_text("kpi,period,value\n")
    taken = 0
    for where, command, param in parameters:
        described = common._described(param)
        if described is None or described[0] is not Path:
            continue
        ctx = typer.Context(command, info_name="los")
        for value in (str(values), str(folder), str(tmp_path / "missing.csv")):
            done, plain = common._plain_value(param, ctx, value)
            taken += done
            assert not done or isinstance(plain, Path), where
    assert taken > 20


def test_a_parameter_typer_keeps_otherwise_is_left_to_typer() -> None:
    # A Typer whose parameters keep no `type_descriptor`: the shortcut takes nothing, and
    # raises nothing (the value goes through Typer).
    from types import SimpleNamespace

    bare = SimpleNamespace(callback=None, multiple=False, nargs=1, required=False)
    for value in (None, "x", "3", ["a"]):
        assert common._plain_value(bare, None, value) == (False, None)
    partial = SimpleNamespace(
        callback=None,
        multiple=False,
        nargs=1,
        required=False,
        type_descriptor=SimpleNamespace(annotation=str, is_file=False, parameter_info=object()),
    )
    assert common._plain_value(partial, None, "x") == (False, None)
