"""The briefing book as HTML: a fragment for the web app's page and a whole document (with its
print styles) for `los brief -o book.html` and the email. Charts are inline SVG drawn here
from the same geometry as the PDF's; nothing is fetched."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from typing import Any

from lineofsight import display
from lineofsight.display import human, with_measure
from lineofsight.domain.text import plural
from lineofsight.services.brief import BookKpi, BriefingBook
from lineofsight.services.chart_geometry import ChartGeometry, Point, chart_geometry
from lineofsight.services.shapes import items_text

# Colours of the app's stylesheet (contrast >= 4.5:1 on white for the text ones).
ACTUAL, TARGET, FORECAST, BAND = "#1f4e9c", "#5a6270", "#8a5a00", "#fff1cc"

BOOK_CSS = """
.book { max-width: 60rem; }
.book-cover { border-bottom: 2px solid #1f2328; margin-bottom: 1rem; padding-bottom: .5rem; }
.book-kicker { text-transform: uppercase; letter-spacing: .08em; color: #5a6270; margin: 0; }
.book h1 { margin: .2rem 0; overflow-wrap: anywhere; }
.book h3 { overflow-wrap: anywhere; }
.book-summary { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; padding: 0; list-style: none; }
.book-scroll { overflow-x: auto; max-width: 100%; }
.book table { border-collapse: collapse; width: 100%; }
.book th, .book td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid #d0d7de;
  vertical-align: top; overflow-wrap: break-word; }
.book td.num, .book th.num { text-align: right; white-space: nowrap; }
.book-kpi { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .75rem;
  margin: .75rem 0; }
.book-chart svg { width: 100%; height: auto; max-width: 34rem; display: block; }
.book-legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; padding: 0;
  margin: .25rem 0; font-size: .85rem; color: #3d444d; }
.book-key { display: inline-block; width: 1.2rem; height: 0; border-top: 2px solid;
  vertical-align: middle; margin-right: .3rem; }
.book-none { font-weight: 600; }
.book .status { padding: 0 .35rem; border-radius: 4px; font-size: .85em; }
.book .s-red { color: #b42318; background: #fde5e3; }
.book .s-amber { color: #8a5a00; background: #fff1cc; }
.book .s-green { color: #187533; background: #e3f4e8; }
.book .s-no_data, .book .s-no_target { color: #5a6270; background: #eef0f3; }
@media (max-width: 40rem) {
  .book table, .book tbody, .book tr, .book td { display: block; width: auto; }
  .book thead { position: absolute; left: -10000px; }
  .book tr { border-bottom: 1px solid #d0d7de; padding: .25rem 0; }
  .book td { border: 0; padding: .05rem 0; }
  .book td.num { text-align: left; }
  .book td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
}
@media print {
  @page { size: A4; margin: 14mm; }
  .topbar, .skip, .book-actions, .period-now, footer { display: none !important; }
  body { font-size: 10pt; }
  .book { max-width: none; }
  .book-kpi, .book table tr { break-inside: avoid; }
  .book h2, .book h3 { break-after: avoid; }
  .book-scroll { overflow: visible; }
  .book-section { break-before: auto; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def num(value: float | None) -> str:
    """A number as the book writes it: as the command line and the pages do
    (`display.human`: thousands grouped, about four significant digits, never an exponent);
    "–" for none."""
    return "–" if value is None else human(value)


def score_text(value: float | None) -> str:
    """A score as the book writes it: as every table and page does (`display.score`: one
    decimal at most, cut); "–" for none."""
    return "–" if value is None else display.score(value)


def _status(status: str | None) -> str:
    text = (status or "no_data").replace("_", " ")
    return f'<span class="status s-{_e(status or "no_data")}">{_e(text)}</span>'


def _path(points: Sequence[Point]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def chart_svg(g: ChartGeometry, title: str) -> str:
    """The chart as an SVG element (its numbers are in the text beside it too)."""
    if g.empty:
        return '<p class="muted">No values or targets to draw yet.</p>'
    out = [
        f'<svg viewBox="0 0 {g.width:.0f} {g.height:.0f}" role="img" '
        f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(title)}</title>",
    ]
    for y, text in g.y_ticks:
        out.append(
            f'<line x1="{g.left:.1f}" x2="{g.right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{g.left - 4:.1f}" y="{y + 3:.1f}" font-size="10" text-anchor="end" '
            f'fill="#3d444d">{_e(text)}</text>'
        )
    for i, (x, text) in enumerate(g.x_ticks):
        # The first and last labels end inside the chart, not past its edges.
        anchor = "start" if i == 0 else ("end" if i == len(g.x_ticks) - 1 else "middle")
        out.append(
            f'<text x="{x:.1f}" y="{g.height - 5:.1f}" font-size="10" text-anchor="{anchor}" '
            f'fill="#3d444d">{_e(text)}</text>'
        )
    if g.band:
        out.append(f'<polygon points="{_path(g.band)}" fill="{BAND}" stroke="none"/>')
    for run in g.target:
        out.append(
            f'<polyline points="{_path(run)}" fill="none" stroke="{TARGET}" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>'
        )
    for run in g.forecast:
        out.append(
            f'<polyline points="{_path(run)}" fill="none" stroke="{FORECAST}" '
            'stroke-width="1.5" stroke-dasharray="2 2"/>'
        )
    for run in g.actual:
        out.append(
            f'<polyline points="{_path(run)}" fill="none" stroke="{ACTUAL}" stroke-width="2"/>'
        )
        if len(run) == 1:
            x, y = run[0]
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{ACTUAL}"/>')
    out.append("</svg>")
    return "".join(out)


LEGEND = (
    '<ul class="book-legend">'
    f'<li><span class="book-key" style="border-color:{ACTUAL}"></span>actual</li>'
    f'<li><span class="book-key" style="border-color:{TARGET};border-top-style:dashed">'
    "</span>target path</li>"
    f'<li><span class="book-key" style="border-color:{FORECAST};border-top-style:dotted">'
    "</span>forecast</li>"
    f'<li><span class="book-key" style="border-color:{BAND};border-top-width:8px"></span>'
    "80% interval</li></ul>"
)


def kpi_sentence(k: BookKpi) -> str:
    """The KPI's value against its target, as the book says it (plain text)."""
    score = f", score {display.score(k.score)}" if k.score is not None else ""
    actual, target = (
        with_measure(v, k.unit_of_measure) if v is not None else num(v)
        for v in (k.actual, k.target)
    )
    return f"{k.period}: {actual} against a target of {target}{score}"


def forecast_sentence(k: BookKpi) -> str | None:
    """The KPI's forecast as the book says it (plain text), its values, interval and chance
    written as the command line, the pages and emails write them (`lineofsight.display`):
    `Forecast 6.899% (80% interval 4.859 – 9.794%) in 2027-12 against 7% by 2027-12-31: on
    track, a 52% chance of meeting it.`"""
    f = k.chart.forecast if k.chart is not None else None
    if f is None or f.projected is None:
        return None
    measure = k.unit_of_measure
    track = "on track" if f.on_track else "off track"
    chance = (
        f", a {display.chance(f.probability)} chance of meeting it"
        if f.probability is not None
        else ""
    )
    spread = (
        f" (80% interval {display.interval(f.path_low[-1], f.path_high[-1], measure)})"
        if f.path_low
        else ""
    )
    return (
        f"Forecast {with_measure(f.projected, measure)}{spread} in {f.target_period.label} "
        f"against {with_measure(f.target, measure)} by {f.deadline.isoformat()}: "
        f"{track}{chance}."
    )


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def action_line(book: BriefingBook, a: Any) -> str:
    """An action in one line: title, owner, due date, status, milestones done."""
    due = f", due {a.due.isoformat()}" if a.due else ""
    done = sum(1 for m in a.milestones if m.done)
    stones = f", milestones {done}/{len(a.milestones)} done" if a.milestones else ""
    return f"{a.title} ({book.person(a.owner)}{due}, {a.status}{stones})"


def _kpi_block(book: BriefingBook, k: BookKpi, link: Callable[[str], str] | None) -> str:
    name = _e(k.name)
    if link is not None:
        name = f'<a href="{_e(link(f"/kpis/{k.id}"))}">{name}</a>'
    parts = [
        f'<section class="book-kpi" id="kpi-{_e(k.id)}-{_e(k.unit)}">',
        f"<h3>{name} {_status(k.status)}</h3>",
        f"<p>{_e(k.unit_name)} · owner {_e(book.person(k.owner))} · {_e(kpi_sentence(k))}</p>",
    ]
    title = f"{k.name} at {k.unit_name}: actual, target path and forecast"
    parts.append(f'<div class="book-chart">{chart_svg(chart_geometry(k.chart), title)}</div>')
    if k.chart is not None and not chart_geometry(k.chart).empty:
        parts.append(LEGEND)
    sentence = forecast_sentence(k)
    if sentence:
        parts.append(f"<p>{_e(sentence)}</p>")
    c = k.comment
    if c is not None:
        of = "" if c.period == k.period else f" (written for {c.period})"
        parts.append(
            f"<p><strong>Analysis{_e(of)}:</strong> {_e(c.analysis) or '–'}</p>"
            f"<p><strong>Recommendation:</strong> {_e(c.recommendation) or '–'}</p>"
            f'<p class="muted">{_e(book.person(c.author))}, {_e(_when(c.at))}</p>'
        )
    else:
        parts.append('<p class="muted">No commentary for this period.</p>')
    if k.actions:
        items = "".join(f"<li>{_e(action_line(book, a))}</li>" for a in k.actions)
        parts.append(f"<p><strong>Open actions</strong></p><ul>{items}</ul>")
    else:
        parts.append('<p class="muted">No open action.</p>')
    parts.append("</section>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], nums: set[int]) -> str:
    cols = "".join(
        f'<th scope="col"{" class=num" if i in nums else ""}>{_e(h)}</th>'
        for i, h in enumerate(head)
    )
    # Each cell names its column: a narrow screen shows the rows as labelled lines.
    labels = [f' data-label="{_e(h)}"' for h in head]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in nums else ''}{labels[i]}>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    table = f"<table><thead><tr>{cols}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="book-scroll">{table}</div>'


def counts_text(counts: dict[str, int]) -> str:
    """The statuses of the direct items as `los status` and the web pages write them
    ("2 red, 4 no data"): the items without a value are counted beside the others."""
    return items_text(counts) or "no items"


def _counts(counts: dict[str, int]) -> str:
    return _e(counts_text(counts))


def cover_lines(book: BriefingBook) -> list[str]:
    """The cover's lines of text (shared with the PDF)."""
    lines = [f"Period {book.period} · as of {book.as_of.isoformat()} · made {_when(book.made_at)}"]
    if book.running:
        lines.append(book.running)
    if book.awaited_sentence:
        lines.append(book.awaited_sentence)
    if book.latest_sentence:
        lines.append(book.latest_sentence)
    c = book.cadence
    if c is not None:
        people = ", ".join(book.person(p) for p in c.attendees) or "no attendees listed"
        day = f" (day {c.day})" if c.day else ""
        lines.append(f"Review {c.every}{day}; attendees: {people}")
    if book.levels is not None:
        lines.append(
            f"The subtree holds {plural(book.kpi_count, 'KPI')}: this book shows its first "
            f"{plural(book.levels, 'level')} of units; the book of each unit below shows the "
            "rest."
        )
    return lines


def amber_sentence(book: BriefingBook) -> str:
    """What the amber section says when it lists none."""
    if book.amber_count:
        return (
            f"{plural(book.amber_count, 'KPI')} of these levels "
            f"{'is' if book.amber_count == 1 else 'are'} amber: the book of each unit below "
            f"shows {'it with its chart' if book.amber_count == 1 else 'them with their charts'}."
        )
    return f"No KPI is amber {book.when}."


def summary_items(book: BriefingBook) -> list[str]:
    """The cover's counts: reds, ambers, values overdue and findings."""
    return [
        f"{len(book.reds):,} red",
        f"{book.amber_count:,} amber",
        f"{book.overdue_count:,} overdue",
        plural(book.finding_count, "finding"),
    ]


def book_fragment(book: BriefingBook, link: Callable[[str], str] | None = None) -> str:
    """The book's body (no page around it)."""
    out = ['<article class="book">', '<header class="book-cover">']
    out.append('<p class="book-kicker">Briefing book</p>')
    out.append(f"<h1>{_e(book.unit_name)}</h1>")
    out += [f"<p>{_e(line)}</p>" for line in cover_lines(book)]
    out.append(
        '<ul class="book-summary">'
        + "".join(f"<li><strong>{_e(item)}</strong></li>" for item in summary_items(book))
        + "</ul></header>"
    )
    out.append('<section class="book-section" id="scorecard"><h2>Scorecard</h2>')
    if len(book.units) > 1:
        out.append("<h3>Units</h3>")
        rows = [
            [
                _e(("· " * u.depth) + u.name),
                score_text(u.score),
                _status(u.status),
                _counts(u.counts),
            ]
            for u in book.units
        ]
        out.append(_table(["Unit", "Score", "Status", "KPIs"], rows, {1}))
    out.append("<h3>Objectives</h3>")
    if book.objectives:
        rows = [
            [
                _e(o.title),
                _e(o.unit_name),
                score_text(o.score),
                _status(o.status),
                _counts(o.counts),
                _e(o.worst or "–"),
            ]
            for o in book.objectives
        ]
        head = ["Objective", "Unit", "Score", "Status", "Items", "Worst item"]
        out.append(_table(head, rows, {2}))
    else:
        out.append('<p class="muted">No objectives in these units.</p>')
    out.append("</section>")
    out.append(f'<section class="book-section" id="reds"><h2>Red KPIs ({len(book.reds)})</h2>')
    if not book.reds:
        out.append(f'<p class="book-none">{_e(book.no_reds_sentence)}</p>')
    out += [_kpi_block(book, k, link) for k in book.reds]
    out.append("</section>")
    out.append(
        f'<section class="book-section" id="ambers"><h2>Amber KPIs ({book.amber_count})</h2>'
    )
    if not book.ambers:
        out.append(f'<p class="muted">{_e(amber_sentence(book))}</p>')
    out += [_kpi_block(book, k, link) for k in book.ambers]
    out.append("</section>")
    out.append(
        f'<section class="book-section" id="findings"><h2>Alignment findings '
        f"({book.finding_count})</h2>"
    )
    if book.findings:
        rows = [[_e(f.code), _e(f.severity), _e(f.subject), _e(f.message)] for f in book.findings]
        out.append(_table(["Rule", "Severity", "About", "Finding"], rows, set()))
        if book.finding_count > len(book.findings):
            out.append(f"<p>… and {book.finding_count - len(book.findings):,} more.</p>")
    else:
        out.append('<p class="muted">No findings.</p>')
    out.append("</section>")
    out.append(
        f'<section class="book-section" id="overdue"><h2>Values overdue ({book.overdue_count})</h2>'
    )
    if book.overdue:
        rows = [
            [_e(o.name), _e(o.unit_name), _e(o.period), _e(o.due.isoformat() if o.due else "–")]
            for o in book.overdue
        ]
        out.append(_table(["KPI", "Unit", "Period", "Was due"], rows, set()))
        if book.overdue_count > len(book.overdue):
            out.append(f"<p>… and {book.overdue_count - len(book.overdue):,} more.</p>")
    else:
        out.append('<p class="muted">No value is overdue.</p>')
    out.append("</section>")
    out.append('<section class="book-section" id="previous"><h2>The previous review</h2>')
    out.append(previous_html(book))
    out.append("</section></article>")
    return "".join(out)


def previous_lines(book: BriefingBook) -> tuple[str, list[str], list[str]]:
    """The previous review as (heading line, decisions, actions) in plain text."""
    p = book.previous
    if p is None:
        return f"No review of {book.unit_name} is recorded before {book.period}.", [], []
    records = book.previous_records or [p]
    attendees = list(dict.fromkeys(a for r in records for a in r.attendees))
    people = ", ".join(book.person(a) for a in attendees) or "no attendees recorded"
    days = sorted({r.held_on.isoformat() for r in records})
    held = " and ".join(days) if len(days) <= 2 else ", ".join(days[:-1]) + " and " + days[-1]
    head = f"Held on {held} for {p.period}; attendees: {people}."
    if len(records) > 1:
        head += f" It was recorded {len(records)} times: every record's decisions are listed."
    decisions = [d for r in records for d in r.decisions]
    return head, decisions, [action_line(book, a) for a in book.previous_actions]


def previous_html(book: BriefingBook) -> str:
    head, decisions, actions = previous_lines(book)
    out = [f"<p>{_e(head)}</p>"]
    if book.previous is not None:
        out.append("<h3>Decisions</h3>")
        if decisions:
            out.append("<ul>" + "".join(f"<li>{_e(d)}</li>" for d in decisions) + "</ul>")
        else:
            out.append('<p class="muted">No decisions recorded.</p>')
        out.append("<h3>Actions created in it</h3>")
        if actions:
            out.append("<ul>" + "".join(f"<li>{_e(a)}</li>" for a in actions) + "</ul>")
        else:
            out.append('<p class="muted">No actions created in it.</p>')
    return "".join(out)


def book_document(book: BriefingBook) -> str:
    """The book as a whole HTML document (print styles inside; nothing fetched)."""
    title = f"Briefing book: {book.unit_name}, {book.period}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>"
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;"
        "margin:1rem;line-height:1.4}.muted{color:#5a6270}"
        f"{BOOK_CSS}</style></head><body>{book_fragment(book)}</body></html>"
    )
