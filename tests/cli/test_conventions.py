"""What every `los` command does alike: help, output paths, option checks, stores it must not
create, formats, logging, and the ways to run it (`python -m`, shell completion, pre-commit)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from lineofsight.cli.app import app, create_app
from lineofsight.domain.text import did_you_mean, noun, plural
from tests.conftest import FIXTURES, Los, invoke

ROOT = Path(__file__).parents[2]
FULL = FIXTURES / "specs" / "valid" / "full.yaml"


def _command_paths() -> list[list[str]]:
    """Every command and subcommand of `los`, as the words that name it."""
    paths: list[list[str]] = []

    def walk(command: object, words: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*words, name])
        else:
            paths.append(words)

    walk(typer.main.get_command(app), [])
    return paths


COMMANDS = _command_paths()
# What Typer shows for an option or argument without a metavar: a Python type in brackets
# (`<str>`, `<int range>`, `<list[str]>`, `<path>`), or a required argument in braces.
PYTHON_TYPE = re.compile(r"<[a-z][a-z_ \[\]|]*>|\{[A-Za-z_]+\}")


def test_the_command_list_is_complete() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"init", "load", "check", "measurement delete", "user add", "library search"} <= names


def test_a_new_app_registers_every_command_once() -> None:
    # Registration is one explicit call per app made, not a side effect of importing the
    # command modules: a second app has the same commands, and the first none twice.
    created = create_app()
    second = create_app()
    for made in (created, second):
        names = [c.callback.__name__ for c in made.registered_commands if c.callback]
        assert len(names) == len(set(names)) == len(app.registered_commands)
        groups = {g.name: g.typer_instance for g in made.registered_groups}
        assert sorted(groups) == ["library", "measurement", "user"]
        for name, group in groups.items():
            assert group is not None
            commands = [c.name or c.callback.__name__ for c in group.registered_commands]
            assert len(commands) == len(set(commands)), name
    shown = CliRunner().invoke(created, ["user", "--help"])
    assert shown.exit_code == 0 and "revoke" in shown.output
    assert created.registered_groups[0].typer_instance is not (
        second.registered_groups[0].typer_instance
    )


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_names_what_options_take_not_python_types(words: list[str]) -> None:
    result = invoke([*words, "--help"])
    assert result.exit_code == 0, result.output
    found = PYTHON_TYPE.findall(result.output)
    assert not found, f"los {' '.join(words)} --help shows {found}:\n{result.output}"


def test_the_pluralising_helpers() -> None:
    assert plural(1, "row") == "1 row"
    assert plural(2, "row") == "2 rows"
    assert plural(0, "person", "people") == "0 people"
    assert plural(1081, "measurement") == "1,081 measurements"
    assert noun(1, "column") == "column" and noun(3, "column") == "columns"
    assert did_you_mean("revnue", ["revenue", "costs"]) == " (did you mean 'revenue'?)"
    assert did_you_mean("zzz", ["revenue"]) == ""


def test_no_message_in_the_code_pluralises_with_brackets() -> None:
    """`1 problem(s)` and `1 rows` are what `plural` is for: no "(s)" in any message."""
    offenders = []
    for path in (ROOT / "src" / "lineofsight").rglob("*.py"):
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type == tokenize.STRING and re.search(r"[a-zA-Z]\(s\)", token.string):
                    offenders.append(f"{path.relative_to(ROOT)}:{token.start[0]}: {token.string}")
    assert not offenders, "\n".join(offenders)


def test_one_row_and_one_problem_are_singular(los: Los, workdir: Path) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    data = workdir / "one.csv"
    data.write_text("kpi,period,value\ndio,2026-01,45\n")
    loaded = los("load", str(data))
    assert "1 row: 1 added" in loaded.output, loaded.output
    bad = workdir / "bad.yaml"
    bad.write_text(
        FULL.read_text().replace(
            "aggregation: last\n    formula:", "agregation: last\n    formula:"
        )
    )
    applied = los("apply", str(bad))
    assert applied.exit_code == 2
    assert re.search(r": 1 problem\b", applied.output), applied.output
    assert "(s)" not in applied.output


# ---------------------------------------------------------------- output paths


def _store_with_strategy(los: Los) -> None:
    assert los("apply", str(FULL)).exit_code == 0


OUTPUTS = {
    "export": lambda target: ["export", target],
    "schema": lambda target: ["schema", "-o", target],
    "check -o": lambda target: ["check", "--as-of", "2026-11-22", "-o", target],
    "check sarif -o": lambda target: ["check", "--format", "sarif", "-o", target],
}


@pytest.mark.parametrize("command", OUTPUTS)
def test_dash_a_missing_folder_and_a_folder_as_output_path(
    los: Los, workdir: Path, command: str
) -> None:
    _store_with_strategy(los)  # one store for the three paths: none of them writes to it
    # "-" means standard output.
    result = los(*OUTPUTS[command]("-"))
    assert result.exit_code in (0, 1), result.output
    assert not (workdir / "-").exists()
    assert result.stdout.strip(), "nothing written to standard output"
    # A missing output folder is created.
    target = workdir / "out" / "deeper" / "result.txt"
    result = los(*OUTPUTS[command](str(target)))
    assert result.exit_code in (0, 1), result.output
    assert target.is_file() and target.read_text().strip()
    assert "Traceback" not in result.output
    assert not list(target.parent.glob(".*.tmp"))
    # An output path that is a folder is a clear error.
    folder = workdir / "a_folder"
    folder.mkdir()
    result = los(*OUTPUTS[command](str(folder)))
    assert result.exit_code == 2
    assert f"cannot write {folder}" in result.stderr
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- option values


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--port", "0"], "--port"),
        (["serve", "--port", "http"], "--port"),
        (["serve", "--workers", "0"], "--workers"),
        (["history", "-n", "0"], "--limit"),
        (["explain", "ccc", "--from", "2026-Q1", "--to", "2026-Q2", "--depth", "0"], "--depth"),
        (["status", "--format", "xml"], "--format"),
        (["check", "--format", "html"], "--format"),
    ],
)
def test_bad_option_values_exit_2_before_anything_runs(
    workdir: Path, argv: list[str], option: str
) -> None:
    result = invoke(argv)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr or option in result.stderr
    assert "Serving" not in result.output
    assert not (workdir / ".lineofsight").exists()


# ---------------------------------------------------------------- stores only init/apply make

READ_ONLY = [
    ["status"],
    ["tree"],
    ["check"],
    ["export"],
    ["history"],
    ["history", "nps"],
    ["trace", "nps"],
    ["forecast"],
    ["explain", "nps", "--from", "2026-Q1", "--to", "2026-Q2"],
    ["load", "x.csv"],
    ["measurement", "delete", "nps", "2026-Q1"],
    ["user", "list"],
]


@pytest.mark.parametrize("argv", READ_ONLY, ids=[" ".join(a) for a in READ_ONLY])
def test_a_command_on_a_missing_sqlite_store_creates_nothing(
    workdir: Path, argv: list[str]
) -> None:
    store = workdir / "nowhere" / "store.db"
    result = invoke([*argv, "--db", f"sqlite:///{store}"])
    assert result.exit_code == 2, result.output
    assert f"no store at {store}: run `los init`" in result.stderr
    assert not store.parent.exists()


def test_a_command_outside_any_workspace_says_to_init(workdir: Path) -> None:
    result = invoke(["status"])
    assert result.exit_code == 2
    assert "no workspace here: run `los init`" in result.stderr
    assert not (workdir / ".lineofsight").exists()


# ---------------------------------------------------------------- formats


def test_apply_json_lists_the_changes(los: Los) -> None:
    result = los("apply", str(FULL), "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["added"] > 0
    assert {"action": "add", "kind": "kpi", "id": "ccc"}.items() <= next(
        c for c in data["changes"] if c["id"] == "ccc"
    ).items()
    again = json.loads(los("apply", str(FULL), "--format", "json").stdout)
    assert again["dry_run"] is False and again["added"] == data["added"]
    assert json.loads(los("apply", str(FULL), "--format", "json").stdout)["changes"] == []


def test_load_json_gives_the_counts_per_file(los: Los, workdir: Path) -> None:
    _store_with_strategy(los)
    good = workdir / "good.csv"
    good.write_text("kpi,period,value\ndio,2026-01,45\ndio,2026-02,46\n")
    bad = workdir / "bad.csv"
    bad.write_text("kpi,period,value\ndoi,2026-01,45\n")
    result = los("load", str(good), str(bad), "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["loaded"] == [
        {
            "file": str(good),
            "sheet": None,
            "rows": 2,
            "added": 2,
            "replaced": 0,
            "unchanged": 0,
            "warnings": [],
        }
    ]
    assert data["failed"][0]["error"].startswith(f"{bad}: 1 bad row;")


def test_history_json(los: Los) -> None:
    _store_with_strategy(los)
    data = json.loads(los("history", "ccc", "--format", "json").stdout)
    assert data and all(r["id"] == "ccc" for r in data)
    assert {"changed_at", "actor", "kind", "action", "field", "before", "after"} <= set(data[0])


def test_rules_json() -> None:
    data = json.loads(invoke(["rules", "--format", "json"]).stdout)
    assert len(data) == 22
    ow02 = next(r for r in data if r["code"] == "OW02")
    assert ow02["options"] == {"max": 5} and ow02["severity"] == "warning"
    assert ow02["help_uri"].endswith("#ow02-person-overload")


@pytest.mark.parametrize("name", ["text", "table"])
def test_text_is_the_human_format_and_table_its_other_name(los: Los, name: str) -> None:
    _store_with_strategy(los)
    for command in ("status", "forecast"):
        result = los(command, "--as-of", "2026-11-22", "--format", name)
        assert result.exit_code == 0, result.output
        assert not result.stdout.lstrip().startswith("{")


# ---------------------------------------------------------------- logging and entry points


def test_verbose_logs_to_standard_error_and_quiet_silences(los: Los) -> None:
    _store_with_strategy(los)
    verbose = los("-v", "history", "-n", "1", "--db", los.db_url or "")
    assert verbose.exit_code == 0
    assert "INFO lineofsight.services.workspace: store " in verbose.stderr
    assert "INFO" not in verbose.stdout
    plain = los("history", "-n", "1")
    assert "INFO" not in plain.stderr
    quiet = los("-q", "history", "-n", "1", "--db", los.db_url or "")
    assert quiet.exit_code == 0 and "INFO" not in quiet.stderr
    assert logging.getLogger("lineofsight").level == logging.ERROR


def test_python_dash_m_lineofsight_runs_los() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-m", "lineofsight", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("los ")


def test_shell_completion_completes_commands() -> None:
    shown = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="los")
    assert shown.exit_code == 0 and "_LOS_COMPLETE=complete_bash" in shown.output
    completed = CliRunner().invoke(
        app,
        [],
        prog_name="los",
        env={"_LOS_COMPLETE": "complete_bash", "COMP_WORDS": "los sta", "COMP_CWORD": "1"},
    )
    assert completed.output.split() == ["status"]


def test_the_pre_commit_hook_runs_los_check_on_the_strategy(workdir: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "los-check")
    assert hook["entry"].split() == ["los", "check"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert re.search(hook["files"], "strategy.yaml")
    # What pre-commit then runs: `los check strategy.yaml` (the hook's args) in the repository.
    (workdir / "strategy.yaml").write_text(FULL.read_text())
    argv = [*hook["entry"].split()[1:], *hook["args"], "--as-of", "2026-11-22"]
    assert invoke(argv).exit_code in (0, 1)
    (workdir / "strategy.yaml").write_text("version: 1\norganization: {name: x}\nkpis: 3\n")
    assert invoke(argv).exit_code == 2


def test_a_short_value_never_renders_a_huge_value_in_full() -> None:
    from lineofsight.cli.common import short

    assert short({"a": 1, "b": [1, "x"]}) == '{"a": 1, "b": [1, "x"]}'
    huge = ["x" * 100_000] * 40_000  # 4 GB of JSON if rendered in full
    text = short(huge)
    assert len(text) == 70 and text.startswith('["xxx') and text.endswith("…")
    assert short("y" * 1000, 10) == "y" * 9 + "…"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["serve", "--port", "99999"],
            "Invalid value for '--port': 99999 is not in the range 1-65535.",
        ),
        (["serve", "--port", "0"], "Invalid value for '--port': 0 is not in the range 1-65535."),
        (["serve", "--workers", "x"], "Invalid value for '--workers': 'x' is not a whole number."),
        (
            ["history", "-n", "0"],
            "Invalid value for '--limit' / '-n': 0 is less than 1, the smallest allowed.",
        ),
        (["library", "search", "x", "-n", "-3"], "-3 is less than 1, the smallest allowed."),
    ],
)
def test_a_bad_option_value_reads_like_a_command_line(
    workdir: Path, argv: list[str], message: str
) -> None:
    result = invoke(argv)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Input should" not in result.stderr


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_arguments_are_shown_in_capitals(words: list[str]) -> None:
    usage = invoke([*words, "--help"]).output.splitlines()[0]
    arguments = usage.split("[OPTIONS]", 1)[-1].replace("[", " ").replace("]", " ").split()
    assert all(a.rstrip(".").isupper() for a in arguments), usage
