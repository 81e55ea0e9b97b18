"""`los init`, `apply`, `export`, `history` and `schema`: the workspace and its definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lineofsight.cli.common import (
    SHORT,
    DbOption,
    Format,
    FormatOption,
    escape,
    is_stdout,
    out,
    print_json,
    short,
    write_output,
)
from lineofsight.display import utc_minute
from lineofsight.domain.text import plural
from lineofsight.errors import InputError
from lineofsight.examples import example_names
from lineofsight.services.workspace import open_store

# Commands import the services they use when they run, so that each pays only for its own
# libraries (the strategy-file schema, migrations, the engine) and `los` starts quickly.

EXAMPLE_HELP = "Fill it with a worked example: " + ", ".join(example_names())

# Past this many changed fields, apply lists the first ones and a count per kind: a first apply
# of a large organisation changes hundreds of thousands of fields, which no one reads line by line.
LISTED_CHANGES = 200


def init(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of the workspace.")] = Path(
        "."
    ),
    example: Annotated[
        str | None,
        typer.Option("--example", metavar="NAME", help=EXAMPLE_HELP, show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite strategy.yaml.")] = False,
    db: DbOption = None,
) -> None:
    """Create a workspace: a store, strategy.yaml and data/ (with --example, a worked example)."""
    from lineofsight.services import init as init_service

    result = init_service.init_workspace(folder, example=example, db=db, force=force)
    where = escape(str(result.folder))
    if not result.existed:
        what = f"the {result.example} example" if result.example else "a workspace"
        out.print(f"Created {what} in {where}")
    elif result.example:
        out.print(
            f"Put the {result.example} example in the workspace already in {where} "
            "(its store is kept)"
        )
    else:
        out.print(f"The workspace in {where} was already there (its store is kept)")
    out.print(f"  store:    {escape(result.url)}")
    state = "written" if result.created_strategy else "kept as it was"
    out.print(
        f"  strategy: {escape(str(result.strategy))} "
        f"({state}; {plural(result.added, 'definition')} applied)"
    )
    out.print(
        "  contents: "
        + ", ".join(plural(n, *_NOUNS.get(what, (what, what))) for what, n in result.counts.items())
    )
    for load in result.loads:
        out.print(f"  data:     {escape(load.file)} ({plural(load.rows, 'measurement')} loaded)")
    step = "" if folder.resolve() == Path.cwd().resolve() else f"cd {escape(str(folder))}, then "
    out.print(
        f"Next: {step}edit strategy.yaml and run `los apply strategy.yaml`; "
        "load measurements with `los load data/*.csv`."
    )


_NOUNS = {
    "unit levels": ("unit level", "unit levels"),
    "units": ("unit", "units"),
    "people": ("person", "people"),
    "objectives": ("objective", "objectives"),
    "KPIs": ("KPI", "KPIs"),
}


def apply(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The strategy file (YAML).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    show_all: Annotated[
        bool,
        typer.Option("--all", help=f"List every change, even past {LISTED_CHANGES}."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply even if it undoes changes made in the web app since."),
    ] = False,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Validate a strategy file and bring the store's definitions to it (refused, unless
    --force, when it would undo changes made in the web app since the file was applied)."""
    with open_store(db, create=True) as store:
        from lineofsight.services import apply as apply_service

        try:
            result = apply_service.apply_file(store, file, dry_run=dry_run, force=force)
        except InputError as exc:
            # A file that does not load (or an apply refused): its problems for programs
            # too, as `los check FILE --format json` writes them; the text on standard error.
            if output_format is Format.JSON:
                from lineofsight.cli.render_checks import problems_json

                write_output(problems_json(exc.summary, exc.problems), None)
            raise
    plan = result.plan
    if output_format is Format.JSON:
        from lineofsight.checks.base import finding_plain

        print_json(
            {
                "file": result.file,
                "dry_run": dry_run,
                "added": plan.count("add"),
                "changed": plan.count("change"),
                "removed": plan.count("remove"),
                "changes": [
                    {
                        "action": r.action,
                        "kind": r.kind,
                        "id": r.item_id,
                        "field": r.field,
                        "before": r.before,
                        "after": r.after,
                        "undoes": None
                        if r.undoes is None
                        else {"by": r.undoes[0], "on": r.undoes[1]},
                    }
                    for r in plan.records
                ],
                "findings": [finding_plain(f) for f in result.unknown_owners],
            }
        )
        return
    if plan.empty:
        out.print(f"No changes: the store already matches {escape(result.file)}.")
        _say_unknown_owners(result.unknown_owners)
        return
    records = plan.records if show_all else plan.records[:LISTED_CHANGES]
    out.print("\n".join(_change_line(record) for record in records))
    if len(records) < len(plan.records):
        more = len(plan.records) - len(records)
        out.print(
            f"... and {plural(more, 'more changed field')} "
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
    _say_undoing(plan, dry_run)
    _say_unknown_owners(result.unknown_owners)


def _say_undoing(plan: Any, dry_run: bool) -> None:
    """The changes that undo changes made in the web app since the file was applied (each
    marked in the list too): refused without --force, undone with it."""
    undoing = plan.undoing()
    if not undoing:
        return
    from lineofsight.services.apply import undoing_text

    changes = plural(len(undoing), "change")
    if dry_run:
        out.print(
            f"[yellow]{changes} would undo what was made in the web app since the file was "
            "last applied[/]: `los apply` refuses it without --force; to keep it, write what "
            "the store has (below) into the file."
        )
    else:
        out.print(f"[yellow]{changes} undid what was made in the web app (--force):[/]")
    for record in undoing:
        out.print(f"  {escape(undoing_text(record))}")


def _say_unknown_owners(findings: list[Any]) -> None:
    """The owners who are no person, as `los check` reports them (OW01, an error): the file
    is stored all the same (SPEC 4), and said so that nobody learns it only from the check."""
    if not findings:
        return
    for f in findings:
        where = f"{f.location}: " if f.location else ""
        out.print(f"[red]{f.code} {f.name} {f.severity.value}[/]: {escape(where + f.message)}")
    out.print(
        f"{plural(len(findings), 'owner')} not in people: add "
        f"{'it' if len(findings) == 1 else 'them'} to people or change the owner; "
        "until then `los check` reports an error (exit 1)."
    )


_ACTIONS = (("add", "added"), ("change", "changed"), ("remove", "removed"))


def _change_line(record: Any) -> str:
    """One change of an apply as a line: + added, ~ field before -> after, - removed (and
    whose change made in the web app it undoes)."""
    subject = f"{record.kind} {record.item_id}"
    undoes = ""
    if record.undoes is not None:
        actor, day = record.undoes
        undoes = f" [yellow](undoes {escape(actor)}'s change in the web app on {day})[/]"
    if record.action == "add":
        if record.kind == "organization":
            return f"[green]+[/] {record.field}: {escape(short(record.after))}"
        label = record.label
        return f"[green]+[/] {subject}" + (f": {escape(short(label))}" if label else "") + undoes
    if record.action == "remove":
        return f"[red]-[/] {subject}{undoes}"
    field, before, after = record.field, record.before, record.after
    if not (_fits(before) and _fits(after)):
        field, before, after = changed_part(field, before, after)
    return (
        f"[yellow]~[/] {subject}: {escape(field)}: {escape(short(before))} -> "
        f"{escape(short(after))}{undoes}"
    )


def _fits(value: Any) -> bool:
    """Whether `short` shows the whole value."""
    return len(short(value, SHORT + 1)) <= SHORT


def changed_part(field: str, before: Any, after: Any) -> tuple[str, Any, Any]:
    """The part that changed of a mapping too long for its line: down to the one key that
    differs (`sources.crm.timeout: 30 -> 60`), or the keys that differ side by side, so that
    a cut line shows the change and not the same start twice. A key on one side only is
    shown on that side."""
    while isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
        if len(keys) != 1 or keys[0] not in before or keys[0] not in after:
            before = {k: before[k] for k in keys if k in before}
            after = {k: after[k] for k in keys if k in after}
            break
        field, before, after = f"{field}.{keys[0]}", before[keys[0]], after[keys[0]]
    return field, before, after


def export(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="Write here instead of to standard output (- for standard output)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the store's definitions as a strategy file (apply reads it back unchanged)."""
    with open_store(db) as store:
        from lineofsight.services.export import export_strategy

        text = export_strategy(store)
    write_output(text, None if is_stdout(file) else file)


def history(
    item: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="Only this unit, person, objective or KPI id."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", min=1, help="Newest N changes.")
    ] = 50,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Show what changed in the definitions, when, by whom, and the value before."""
    with open_store(db) as store:
        from lineofsight.services import history as history_service

        records = history_service.definition_history(store, item, limit)
    if output_format is Format.JSON:
        print_json(
            [
                {
                    "changed_at": r.changed_at,
                    "actor": r.actor,
                    "source": r.source,
                    "kind": r.kind,
                    "id": r.item_id,
                    "action": r.action,
                    "field": r.field,
                    "before": r.before,
                    "after": r.after,
                }
                for r in records
            ]
        )
        return
    if not records:
        out.print("No changes recorded" + (f" for {escape(item)}." if item else "."))
        return
    for r in records:
        when = utc_minute(r.changed_at)
        subject = f"{r.kind} {r.item_id}"
        if r.action == "change":
            detail = f"{r.field}: {short(r.before)} -> {short(r.after)}"
        elif r.field:
            detail = f"{r.field}: {short(r.after)}"
        else:
            detail = "added" if r.action == "add" else "removed"
        source = f"  (from {escape(r.source)})" if r.source else ""
        out.print(f"{when}  {escape(r.actor)}  {escape(subject)}: {escape(detail)}{source}")


def schema(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to this file (- for standard output)."
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the strategy file, for editors and CI validators."""
    from lineofsight.spec.schema import json_schema

    write_output(json.dumps(json_schema(), indent=2) + "\n", output)
