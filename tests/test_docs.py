"""The README documents every command, and its quick start is what CI runs."""

from __future__ import annotations

from pathlib import Path

from lineofsight.cli.app import app

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_every_command_is_in_the_readme() -> None:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert names
    missing = [n for n in names if f"`los {n}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in README.split("## A tour")[0]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_subcommand_is_in_the_readme() -> None:
    import typer.main

    missing = []
    for group_name, group in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        for name in getattr(group, "commands", {}):
            if f"`los {group_name} {name}" not in README:
                missing.append(f"{group_name} {name}")
    assert not missing, f"undocumented subcommands: {missing}"


def test_no_table_of_the_readme_is_split() -> None:
    """A table row after a blank line starts a table only when a header separator follows it:
    otherwise a stray blank line has cut a table in two and the rest renders as plain pipes."""
    lines = README.split("\n")
    cut = [
        number + 1
        for number, line in enumerate(lines)
        if line.startswith("|")
        and number > 0
        and not lines[number - 1].strip()
        and not (number + 1 < len(lines) and lines[number + 1].startswith("|--"))
    ]
    assert not cut, f"README lines where a table goes on after a blank line: {cut}"


def test_every_api_endpoint_is_in_the_web_api_doc() -> None:
    """Each operation of the JSON API has its row in docs/web-api.md's table (`GET reviews`,
    `POST notifications/{id}/resend`; several methods as `GET/POST users`)."""
    import re

    from fastapi import FastAPI

    from lineofsight.web.api import router

    said = set()
    for line in (ROOT / "docs" / "web-api.md").read_text().splitlines():
        if line.startswith("| `"):
            for span in re.findall(r"`([^`]+)`", line.split(" | ")[0]):
                methods, _, path = span.partition(" ")
                shape = re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])
                said |= {(method, shape) for method in methods.split("/")}
    site = FastAPI()
    site.include_router(router)
    missing = [
        f"{method.upper()} {path}"
        for path, operations in site.openapi()["paths"].items()
        for method in operations
        if (method.upper(), re.sub(r"\{[^}]*\}", "{}", path.lstrip("/"))) not in said
    ]
    assert not missing, f"API endpoints docs/web-api.md does not describe: {missing}"


def test_the_readme_reviews_and_books_name_the_worked_example_s_units_and_people() -> None:
    """The reviews section's examples run in the demo (`make demo`): its units and people."""
    import re

    import yaml

    example = ROOT / "src" / "lineofsight" / "examples" / "techinnovate" / "strategy.yaml"
    org = yaml.safe_load(example.read_text())["organization"]
    units, people = {u["id"] for u in org["units"]}, {p["id"] for p in org["people"]}
    section = README.split("## Reviews and briefing books", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"los brief (\w+) --period", section)
    reviews = [
        yaml.safe_load(line[4:]) for line in section.splitlines() if line.startswith("  - {unit:")
    ]
    assert named and reviews
    assert [u for u in named + [r["unit"] for r in reviews] if u not in units] == []
    assert [p for r in reviews for p in r["attendees"] if p not in people] == []
