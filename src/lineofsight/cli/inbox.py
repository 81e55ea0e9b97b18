"""`los inbox`: the attention list of a person, of a unit's subtree, or of the organisation."""

from __future__ import annotations

from typing import Annotated

import typer

from lineofsight.cli.common import AsOfOption, DbOption, Format, FormatOption, out, print_json
from lineofsight.services.workspace import open_store


def inbox(
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            metavar="ID",
            help="This person's list: what they own, and the units they lead.",
            show_default=False,
        ),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            metavar="UNIT",
            help="This unit and the units below it (with --person: that person's items there).",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """What needs attention now: red, overdue, due, off track, findings, deadlines."""
    from lineofsight.services.attention import inbox as attention_inbox

    with open_store(db) as store:
        found = attention_inbox(store, person=person, unit=unit, as_of=as_of)
    if output_format is Format.JSON:
        print_json(found.plain())
        return
    for line in render_inbox(found):
        out.print(line, markup=False)


def render_inbox(found: object) -> list[str]:
    """The list as text: a title, then each kind's items under its heading, with the reason
    and the link of each."""
    from lineofsight.services.attention import Inbox, empty_reason, grouped

    assert isinstance(found, Inbox)
    whose = found.whose[0].upper() + found.whose[1:]
    if not found.items:
        return [empty_reason(found.whose, found.as_of, found.window)]
    count = len(found.items)
    lines = [f"{whose} attention list as of {found.as_of}: {count} item{'s' if count > 1 else ''}"]
    for heading, items in grouped(found.items):
        lines += ["", f"{heading} ({len(items)})"]
        for item in items:
            where = ", ".join(x for x in (item.unit_name or item.unit, item.owner_name) if x)
            lines.append(f"  {item.name} ({where})")
            lines.append(f"    {item.reason}")
            lines.append(f"    {item.link}")
    return lines
