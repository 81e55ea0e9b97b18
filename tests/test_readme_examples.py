"""Every `$ los ...` example with output in the README runs, and prints what the README shows.

Each ```text block with `$ ` lines is a session: its commands run in the workspace named in
`SESSIONS` (made as the README says: `los init demo --example techinnovate` and so on), and
their output must equal the text under them. A line holding only `…` stands for any number of
lines; the workspaces' temporary folder is shown as `…`, as in the README.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import invoke

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
FIXTURES = Path(__file__).parent / "fixtures" / "readme"

# The first command of each session -> the folder it runs in (below the temporary root).
SESSIONS = {
    "los init demo --example techinnovate": ".",
    "los apply strategy.yaml": "acme",
    "los load data/october.csv": "acme",
    "los check --as-of 2026-11-22 --select CF02": "mf",
    "los status --as-of 2026-12-05 --unit sales": "demo",
    "los tree --period 2026-10 --unit customer_service": "demo",
    "los trace qualified_meetings_na": "demo",
    "los inbox --person samuel_osei --as-of 2026-12-05": "demo",
    "los brief customer_service --as-of 2026-12-07": "demo",
    "los explain ccc --from FY2026-Q4 --to FY2027-Q2": "mf",
    "los forecast --as-of 2026-11-22": "mf",
    "los library search NPS": ".",
    "los load day.csv": "over",
    "los notify --dry-run --as-of 2026-11-03": "notify",
    "los refresh --all": "shop",
}


def _sessions() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Each README block with commands: its first command and (command, output lines) pairs."""
    found = []
    for block in re.findall(r"```text\n(.*?)```", README, flags=re.DOTALL):
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        if steps:
            found.append((steps[0][0], steps))
    return found


SESSION_LIST = _sessions()


def test_every_readme_session_is_run() -> None:
    assert len(SESSION_LIST) >= 8
    unknown = [first for first, _ in SESSION_LIST if first not in SESSIONS]
    assert not unknown, f"README examples this test does not know where to run: {unknown}"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The workspaces the README's examples run in."""
    folder = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LOS_DATABASE_URL", raising=False)
        mp.chdir(folder)
        for argv in (
            ["init", "mf", "--example", "manufacturing"],
            ["init", "over", "--example", "manufacturing"],
            ["init", "acme"],
            ["init", "notify"],
            ["init", "shop"],
        ):
            assert invoke(argv).exit_code == 0
        shutil.copy(FIXTURES / "strategy.yaml", folder / "acme" / "strategy.yaml")
        shutil.copy(FIXTURES / "october.csv", folder / "acme" / "data" / "october.csv")
        for name in ("day.csv", "november.csv"):
            shutil.copy(FIXTURES / name, folder / "over" / name)
        _shop(folder / "shop")
        mp.chdir(folder / "notify")
        shutil.copy(FIXTURES / "notify.yaml", folder / "notify" / "strategy.yaml")
        shutil.copy(FIXTURES / "notify.csv", folder / "notify" / "data" / "values.csv")
        for argv in (["apply", "strategy.yaml"], ["load", "data/values.csv"]):
            assert invoke(argv).exit_code == 0
        yield folder


def _shop(folder: Path) -> None:
    """The README's sources example: its strategy and an SQLite file of orders beside it."""
    import sqlite3

    shutil.copy(FIXTURES / "shop.yaml", folder / "strategy.yaml")
    orders = [
        ("2026-09-03", "north", 120.0, 0),
        ("2026-09-18", "south", 80.0, 1),
        ("2026-10-02", "north", 150.0, 0),
        ("2026-10-21", "south", 95.0, 0),
    ]
    with sqlite3.connect(folder / "facts.sqlite") as conn:
        conn.execute("CREATE TABLE orders (day TEXT, region TEXT, amount REAL, returned INTEGER)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
    conn.close()
    assert (
        invoke(
            [
                "apply",
                str(folder / "strategy.yaml"),
                "--db",
                f"sqlite:///{folder / '.lineofsight' / 'lineofsight.db'}",
            ],
        ).exit_code
        == 0
    )


def _pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.strip() == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(re.escape(line.rstrip()) + r"\n")
    return re.compile("".join(parts))


@pytest.mark.parametrize("session", SESSION_LIST, ids=[first for first, _ in SESSION_LIST])
def test_the_readme_example_prints_what_it_shows(
    root: Path, monkeypatch: pytest.MonkeyPatch, session: tuple[str, list[tuple[str, list[str]]]]
) -> None:
    first, steps = session
    monkeypatch.delenv("LOS_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_URL", raising=False)
    if first.startswith("los init demo") and (root / "demo").exists():
        shutil.rmtree(root / "demo")
    folder = root / SESSIONS[first]
    if not folder.exists():  # the demo folder, which the README's first session makes
        monkeypatch.chdir(root)
        assert invoke(["init", "demo", "--example", "techinnovate"]).exit_code == 0
    for command, expected in steps:
        cwd = folder
        if command.startswith("cd "):
            into, command = command[3:].split(" && ", 1)
            cwd = folder / into
        monkeypatch.chdir(cwd)
        words = shlex.split(command)
        assert words[0] == "los"
        result = invoke(words[1:], catch_exceptions=False)
        actual = "".join(
            line.rstrip() + "\n" for line in result.output.replace(str(root), "/…").splitlines()
        )
        while expected and not expected[-1].strip():
            expected = expected[:-1]
        assert _pattern(expected).fullmatch(actual), (
            f"$ {command}\n--- README ---\n" + "\n".join(expected) + f"\n--- actual ---\n{actual}"
        )
