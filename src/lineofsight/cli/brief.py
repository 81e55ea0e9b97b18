"""`los brief`: the briefing book of a unit's subtree for a period, as PDF, HTML or text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lineofsight.cli.common import AsOfOption, DbOption, out
from lineofsight.cli.scorecard import PeriodOption
from lineofsight.errors import UsageError
from lineofsight.services.workspace import open_store


def brief(
    unit: Annotated[str, typer.Argument(metavar="UNIT", help="The unit (with its subtree).")],
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the book to FILE.pdf or FILE.html; default: a summary as text.",
            show_default=False,
        ),
    ] = None,
    levels: Annotated[
        int | None,
        typer.Option(
            "--levels",
            min=1,
            metavar="N",
            help="Only the first N levels of units (default: all; the first 2 above 10,000 KPIs).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The briefing book of a review: scorecard, red and amber KPIs with charts, findings.

    Without --period, of the period the unit's review looks back at today, or on the day
    --as-of gives (by its cadence the last whole week, month or quarter; else the last month).
    That book, and a week's, shows each KPI at its latest period with a value or due by the
    period's end; --period of a month, quarter or year is the report of that period."""
    from lineofsight.services.brief import build_book

    kind = output.suffix.lower() if output is not None else None
    if kind not in (None, ".pdf", ".html", ".htm"):
        raise UsageError(f"-o {output}: write a .pdf or an .html file")
    with open_store(db) as store:
        book = build_book(store, unit, period=period, as_of=as_of, levels=levels)
    if output is None:
        sys.stdout.write("\n".join(book_text(book)) + "\n")
        return
    if kind == ".pdf":
        from lineofsight.services.brief_pdf import book_pdf

        data = book_pdf(book)
    else:
        from lineofsight.services.brief_html import book_document

        data = book_document(book).encode()
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"-o {output}: cannot write it ({exc.strerror})") from None
    out.print(
        f"Wrote the briefing book of {book.unit_name} for {book.period} to {output} "
        f"({len(book.reds)} red, {book.amber_count} amber)."
    )


def book_text(book: object) -> list[str]:
    """The book's summary as text: cover, counts, and each red KPI's value and commentary."""
    from lineofsight.services.brief import BriefingBook
    from lineofsight.services.brief_html import cover_lines, kpi_sentence, summary_items

    assert isinstance(book, BriefingBook)
    lines = [f"Briefing book: {book.unit_name}", *cover_lines(book)]
    lines += [" · ".join(summary_items(book)), ""]
    if not book.reds:
        lines.append(book.no_reds_sentence)
    for k in book.reds:
        lines.append(f"Red: {k.name} ({k.unit_name}) {kpi_sentence(k)}")
        if k.comment is not None and k.comment.analysis:
            lines.append(f"  Analysis: {k.comment.analysis}")
        if k.comment is not None and k.comment.recommendation:
            lines.append(f"  Recommendation: {k.comment.recommendation}")
        for a in k.actions:
            due = f", due {a.due.isoformat()}" if a.due else ""
            lines.append(f"  Action: {a.title} ({book.person(a.owner)}{due})")
    lines += ["", "Write the whole book with -o book.pdf or -o book.html."]
    return lines
