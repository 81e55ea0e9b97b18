"""Numbers and tables for people, in notebooks (HTML) and consoles (text): 34,320 rather than
3.432e+04, each value with its unit of measure, units by their names, statuses in words with an
icon and a colour. The frames themselves keep full precision; only what is shown is rounded."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only the tables take frames: the numbers and times load no Polars
    import polars as pl

COLOURS = {
    "green": "#1a7f37",
    "amber": "#9a6700",
    "red": "#cf222e",
    "no_data": "#6e7781",
    "no_target": "#6e7781",
}
ICONS = {"green": "✓", "amber": "▲", "red": "✗", "no_data": "?", "no_target": "–"}
MAX_ROWS = 50  # rows shown of a longer frame; the frame itself keeps them all
SIGNIFICANT = 4


def human(value: float | int | None, significant: int = SIGNIFICANT) -> str:
    """A number as people write it: thousands separated, no exponent, about `significant`
    digits (34,320; 1,234,568; 72.1; 0.0523); "-" for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 10 ** (significant - 1):
        return f"{value:,.0f}"
    places = min(12, significant - 1 - math.floor(math.log10(magnitude)))
    text = f"{value:,.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def score(value: float | None) -> str:
    """A score as every table, page, book and notebook writes it: one decimal at most, cut
    rather than rounded (66.6 for 66.67, 89.9 for 89.96, 100 and 0 whole), so that a score
    shown never reaches a band edge its exact score has not (an amber KPI is never shown 100,
    an amber objective of 89.96 never 90, a red 49.97 never 50); "-" for none. The frames,
    JSON, CSV and Parquet keep the exact score."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    # Rounded to a millionth of a tenth first: 66.7 stored as 66.699999999 is still 66.7.
    tenths = math.floor(round(value * 10, 6))
    text = f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"
    return "0" if text == "-0" else text


def with_measure(value: float | None, measure: str | None) -> str:
    """A value with its unit of measure: 72.1%, 2.58 hours, 34,320 USD; bare without one."""
    text = human(value)
    if value is None or not measure:
        return text
    if measure == "%":
        return f"{text}%"
    return f"{text} {measure}"


def tick(value: float) -> str:
    """A chart's axis value, as the pages, the book and its PDF label their axes: thousands
    separated as every other number (34,320; 2,500; 105.25; 0.05), millions short (1.5M,
    1,250M) to keep the axis narrow. Ticks are round numbers, so each is written whole, to
    six significant digits."""
    if abs(value) >= 1e6:
        return f"{human(value / 1e6, 6)}M"
    return human(value, 6)


def interval(low: float | None, high: float | None, measure: str | None) -> str:
    """A span of values (a forecast's 80% interval, a range target) as every table, page,
    book, email and notebook writes it: each end as `with_measure` writes a value, the unit
    of measure once, after the high end (4.86 – 9.79%, 47,149 – 57,958 followers); "-" when
    an end is missing."""
    if _missing(low) or _missing(high):
        return "-"
    return f"{human(low)} – {with_measure(high, measure)}"


def chance(probability: float | None) -> str:
    """The chance of meeting a target (a forecast's `probability`, 0 to 1) as every table,
    page, book, email and notebook writes it: a whole percent, and at the ends `<1%` and
    `>99%` rather than 0% or 100%, which a forecast never is (a 0.4% chance is not shown as
    impossible, 99.6% not as certain); "-" for none. JSON, CSV and Parquet keep the exact
    probability."""
    if probability is None or math.isnan(probability):
        return "-"
    percent = math.floor(probability * 100 + 0.5)  # half up: 12.5% is 13%, as people round
    if percent < 1:
        return "<1%"
    if percent > 99:
        return ">99%"
    return f"{percent}%"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True, slots=True)
class Column:
    """One shown column: its heading, how a row gives its text, and whether it is a number."""

    heading: str
    cell: Any  # Callable[[dict[str, Any]], str | None]
    number: bool = False
    status: bool = False


def value(name: str, measure: str | None = "unit_of_measure") -> Any:
    """A cell of a number column, with the row's unit of measure when the frame has one."""
    return lambda row: with_measure(row.get(name), row.get(measure) if measure else None)


def score_cell(name: str = "score") -> Any:
    """A cell of a score column (`score`)."""
    return lambda row: score(row.get(name))


def chance_cell(name: str = "probability") -> Any:
    """A cell of a chance column (`probability`, 0 to 1), as `chance` writes it."""
    return lambda row: chance(row.get(name))


def interval_cell(low: str, high: str, measure: str | None = "unit_of_measure") -> Any:
    """A cell of an interval column (`low` to `high`), as `interval` writes it."""
    return lambda row: interval(row.get(low), row.get(high), row.get(measure) if measure else None)


def text(name: str) -> Any:
    return lambda row: _plain(row.get(name))


def percent(name: str) -> Any:
    return lambda row: "-" if row.get(name) is None else f"{row[name]:.0%}"


def _plain(cell: Any) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float | int):
        return human(cell)
    if isinstance(cell, dt.datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    return str(cell)


def status_cell(name: str = "status") -> Column:
    return Column(name, lambda row: row.get(name), status=True)


def auto_columns(frame: pl.DataFrame) -> list[Column]:
    """Every column of a frame, numbers formatted for people."""
    return [
        Column(name, text(name), number=dtype.is_numeric(), status=name == "status")
        for name, dtype in frame.schema.items()
        if not isinstance(dtype, _nested())
    ]


def html_table(frame: pl.DataFrame, columns: Sequence[Column], title: str = "") -> str:
    """A frame as an HTML table (every string escaped), at most MAX_ROWS rows."""
    head = "".join(
        f'<th style="text-align:{"right" if c.number else "left"}">{html.escape(c.heading)}</th>'
        for c in columns
    )
    rows = []
    for row in frame.head(MAX_ROWS).iter_rows(named=True):
        cells = []
        for c in columns:
            shown = c.cell(row)
            if c.status and shown is not None:
                cells.append(
                    f'<td style="color:{COLOURS.get(shown, "#000")};font-weight:600">'
                    f"{ICONS.get(shown, '')} {html.escape(str(shown))}</td>"
                )
            elif c.number:
                cells.append(f'<td style="text-align:right">{_escaped(shown)}</td>')
            else:
                cells.append(f"<td>{_escaped(shown)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = _more(frame)
    caption = f"<h4>{html.escape(title)}</h4>" if title else ""
    tail = f"<p>{html.escape(more)}</p>" if more else ""
    return (
        f"{caption}<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{tail}"
    )


def _escaped(shown: str | None) -> str:
    return "-" if shown is None else html.escape(shown)


def text_table(frame: pl.DataFrame, columns: Sequence[Column], title: str = "") -> str:
    """A frame as aligned plain text, at most MAX_ROWS rows."""
    grid = [[c.heading for c in columns]]
    for row in frame.head(MAX_ROWS).iter_rows(named=True):
        line = []
        for c in columns:
            shown = c.cell(row)
            if c.status and shown is not None:
                shown = f"{ICONS.get(shown, '')} {shown}"
            line.append("-" if shown is None else shown)
        grid.append(line)
    widths = [max(len(r[i]) for r in grid) for i in range(len(columns))]
    lines = [title] if title else []
    for r in grid:
        lines.append(
            "  ".join(
                cell.rjust(w) if c.number else cell.ljust(w)
                for cell, w, c in zip(r, widths, columns, strict=True)
            ).rstrip()
        )
    more = _more(frame)
    if more:
        lines.append(more)
    return "\n".join(lines)


def _more(frame: pl.DataFrame) -> str:
    hidden = frame.height - MAX_ROWS
    return f"… and {hidden:,} more rows (the frame holds them all)" if hidden > 0 else ""


def utc_minute(value: dt.datetime | None) -> str:
    """A moment as people read it, to the minute in UTC (`2026-10-05 07:30 UTC`); `-` for none.

    A naive value is taken as UTC: the store keeps UTC, and SQLite gives it back without a zone.
    """
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _nested() -> tuple[type, ...]:
    import polars as pl

    return (pl.Struct, pl.List)
