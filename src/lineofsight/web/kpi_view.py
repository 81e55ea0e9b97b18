"""What the KPI page shows beside the engine's numbers: the red/amber thresholds of the
period's target, period labels people read ("Oct 2026"), and its two charts (actual against
target; what changed) drawn server-side as SVG, for every reader, with or without JavaScript."""

from __future__ import annotations

import calendar as months
import datetime as dt
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from lineofsight import display
from lineofsight.domain import model as m
from lineofsight.services.chart_geometry import (
    ChartGeometry,
    Point,
    chart_geometries,
    nice_ticks,
)
from lineofsight.services.kpi_series import KpiChart, LogEntry
from lineofsight.web.pagedata import item_fragment
from lineofsight.web.pagekit import cache_of
from lineofsight.web.templating import (
    context_period,
    interval,
    measured,
    number,
    signed,
    source_name,
    templates,
    with_query,
)


def kept_block(
    request: Request,
    name: str,
    block: str,
    key: tuple[Hashable, ...],
    values: Callable[[], dict[str, Any]],
) -> Markup:
    """Block `block` of template `name`, drawn from `values()` once per `key` and kept (the
    key must hold the store revision and everything the block reads: the scope of a reader
    included). The template shows the kept block instead of drawing it (`lower`)."""

    def draw() -> Markup:
        # Drawn alone, a block does not see the macros its template imports: a kept block
        # calls none (its pieces are drawn here, in Python, as `trace_paths`).
        template = templates.get_template(name)
        context = template.new_context(values())
        return Markup("".join(template.blocks[block](context)))

    return item_fragment(cache_of(request), key, draw)


def _item_link(snap: Any, item_id: str, mission: str, period: str) -> str:
    """An item of a path up, linked to its page (the mission in bold, an unknown id as text)."""
    if item_id == mission:
        return "<strong>Mission</strong>"
    if item_id in snap.kpis:
        path, name, kind = "/kpis/", snap.kpis[item_id].name, ' <span class="muted">(KPI)</span>'
    elif item_id in snap.objectives:
        path, kind = "/objectives/", ' <span class="muted">(objective)</span>'
        name = snap.objectives[item_id].title
    elif item_id in snap.people:
        path, name, kind = "/people/", snap.people[item_id].name, ""
    else:
        return str(escape(item_id))
    href = escape(with_query(path + item_id, period, {}))
    return f'<a href="{href}">{escape(name)}</a>{kind}'


@pass_context
def trace_paths(context: Context, snap: Any, paths: Sequence[Any], mission: str) -> Markup:
    """Every path up from an item (the engine's trace) as lists of links, the chosen period
    kept. (Written here, not as a macro: a KPI page seen for the first time draws a few
    dozen links, which cost more through the template than the rest of its lower half.)"""
    period = context_period(context)
    rows = []
    for n, p in enumerate(paths, 1):
        items = "".join(f"<li>{_item_link(snap, i, mission, period)}</li>" for i in p.ids)
        end = p.end.value
        if end == "dangling":
            items += '<li class="error">ends before the mission</li>'
        elif end == "cycle":
            items += f'<li class="error">cycle back to {escape(p.repeats)}</li>'
        rows.append(f'  <li><ol class="breadcrumb" aria-label="Path {n}">\n{items}  </ol></li>\n')
    if not rows:
        rows.append('  <li class="muted">No path up.</li>\n')
    return Markup(f'<ol class="paths">\n{"".join(rows)}</ol>\n')


templates.env.globals["trace_paths"] = trace_paths


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(FY)?(\d{4})-Q(\d)$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@lru_cache(maxsize=8192)
def readable_period(label: str) -> str:
    """A period label as people read it: 2026-10 -> Oct 2026, 2026-Q3 -> Q3 2026,
    FY2027-Q1 -> Q1 FY2027, 2026-W43 -> W43 2026, 2026-10-05 -> 5 Oct 2026."""
    if found := _MONTH.match(label):
        return f"{months.month_abbr[int(found.group(2))]} {found.group(1)}"
    if found := _QUARTER.match(label):
        fiscal, year, quarter = found.groups()
        return f"Q{quarter} {'FY' if fiscal else ''}{year}"
    if found := _WEEK.match(label):
        return f"W{found.group(2)} {found.group(1)}"
    if found := _DAY.match(label):
        year, month, day = found.groups()
        return f"{int(day)} {months.month_abbr[int(month)]} {year}"
    return label


@dataclass(frozen=True, slots=True)
class Threshold:
    """One status band of a target: its status and the values that give it, in words."""

    status: str
    text: str


def thresholds(
    kpi: m.Kpi, target: float | None, low: float | None = None, high: float | None = None
) -> list[Threshold]:
    """The bands the engine scores the period's value in (SPEC 3): green when the target is
    met, amber within the tolerance of it, red beyond, each value with the KPI's unit of
    measure as every page writes it (`at least 14.24%`). Empty without a target."""
    if target is None:
        return []
    tol = (
        kpi.tolerance_abs
        if kpi.tolerance_abs is not None
        else (kpi.tolerance if kpi.tolerance is not None else m.DEFAULT_TOLERANCE) * abs(target)
    )

    def n(value: float) -> str:
        return measured(value, kpi.unit_of_measure)

    if kpi.direction is m.Direction.INCREASE:
        bands = [
            Threshold("green", f"at least {n(target)}"),
            Threshold("amber", f"from {n(target - tol)} to below {n(target)}"),
            Threshold("red", f"below {n(target - tol)}"),
        ]
    elif kpi.direction is m.Direction.DECREASE:
        bands = [
            Threshold("green", f"at most {n(target)}"),
            Threshold("amber", f"above {n(target)} up to {n(target + tol)}"),
            Threshold("red", f"above {n(target + tol)}"),
        ]
    else:
        low = target if low is None else low
        high = target if high is None else high
        bands = [
            Threshold("green", f"from {n(low)} to {n(high)}"),
            Threshold(
                "amber",
                f"from {n(low - tol)} to below {n(low)}, or above {n(high)} up to {n(high + tol)}",
            ),
            Threshold("red", f"below {n(low - tol)} or above {n(high + tol)}"),
        ]
    # With no tolerance a miss is red at once (score 0): there is no amber band to show.
    return bands if tol > 0 else [band for band in bands if band.status != "amber"]


@lru_cache(maxsize=8192)
def _period_cell(label: str) -> str:
    """A period's label, escaped, with its readable name when that differs (the same few
    hundred labels on every chart: made once each)."""
    name = readable_period(label)
    named = "" if name == label else f' <span class="muted">({escape(name)})</span>'
    return f"{escape(label)}{named}"


@lru_cache(maxsize=8192)
def _escaped(text: str) -> str:
    """`text` escaped, for the few texts every page repeats (period labels, sources)."""
    return str(escape(text))


def _minute(at: dt.datetime) -> str:
    """When a value was recorded, to the minute, as stored (the values of one load share it:
    written once for all the rows of a measurement log)."""
    # With its zone in the key: two times of one instant in other zones are equal, and
    # written each in its own.
    return _minute_in(at, at.tzinfo)


@lru_cache(maxsize=1024)
def _minute_in(at: dt.datetime, zone: dt.tzinfo | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


@lru_cache(maxsize=1024)
def _source_cell(source: str | None) -> str:
    """Where a value came from, short and escaped (`source_name`; one load's rows share it)."""
    return _escaped(source_name(source))


def points_body(chart: KpiChart, unit: str | None = None) -> Markup:
    """The chart's numbers as a table body: each period (with its readable name when that
    differs), its actual and its target, with the `unit` of measure as the chart's hover
    texts write them."""
    rows = [
        f'<tr><td>{_period_cell(p.period)}</td><td class="num">{escape(measured(p.actual, unit))}'
        f'</td><td class="num">{escape(measured(p.target, unit))}</td></tr>'
        for p in chart.points
    ]
    return Markup(f"<tbody>{''.join(rows)}</tbody>")


def options(choices: Sequence[str], chosen: str) -> Markup:
    """A select's options, `chosen` selected."""
    return Markup(
        "".join(
            f"<option{' selected' if p == chosen else ''}>{_escaped(p)}</option>" for p in choices
        )
    )


_MUTED = ' class="muted"'
_REPLACED = ' <span class="hint">(replaced)</span>'


def log_body(log: Sequence[LogEntry]) -> Markup:
    """The measurement log's table body: a row per stored value (a replaced one muted), as
    the template drew it, written here (a KPI's log has dozens of rows of six cells, which
    cost a first visit of its page more through the template than all of its numbers)."""
    rows = []
    for e in log:
        value = (
            number(e.value)
            if e.value is not None
            else f"{number(e.numerator)} / {number(e.denominator)}"
        )
        muted, replaced = ("", "") if e.current else (_MUTED, _REPLACED)
        rows.append(
            f"      <tr{muted}>\n"
            f"        <td>{_escaped(e.period)}{replaced}</td>\n"
            f'        <td class="num">{value}</td>\n'
            f'        <td class="note">{escape(e.note) if e.note else ""}</td>\n'
            f'        <td class="num">{e.revision}</td>\n'
            f"        <td>{_minute(e.recorded_at)}</td>\n"
            f'        <td class="muted">{_source_cell(e.source)}</td>\n'
            "      </tr>\n"
        )
    if not rows:
        rows.append('      <tr><td colspan="6" class="muted">No measurements yet.</td></tr>\n')
    return Markup(f"<tbody>\n{''.join(rows)}    </tbody>")


W, H = 720, 300
# A phone's drawing (shown below 600 px wide, los.css): drawn at about the width it is shown,
# so that its text is as large as the page's, not scaled down to half.
NARROW_W = 360


def _points(run: Sequence[Point], texts: dict[float, str]) -> str:
    """A line's points as SVG writes them. `texts`: the coordinates written already (the
    slots' x, and the heights, which the laptop's and the phone's drawings share), to which
    this adds its own."""
    for _, y in run:
        if y not in texts:
            texts[y] = f"{y:.1f}"
    return " ".join([f"{texts[x]},{texts[y]}" for x, y in run])


def _tips(chart: KpiChart, unit: str = "") -> list[str]:
    """Each period's hover text, escaped: the period's numbers with the `unit` of measure,
    as the page's other texts write them (the same for the laptop's and the phone's drawing,
    so made once for both)."""
    forecast: dict[str, str] = {}
    f = chart.forecast
    # The path's columns as they are (`Forecast.path` makes a point object of each period).
    for period, value, low, high in (
        zip(f.path_periods, f.path_values, f.path_low, f.path_high, strict=True) if f else ()
    ):
        words = f", forecast {measured(value, unit)} ({interval(low, high, unit)})"
        forecast[period.label] = forecast.get(period.label, "") + words
    # One escape per tip (its period's name, then its numbers and unit).
    return [
        escape(
            f"{readable_period(p.period)}: actual {measured(p.actual, unit)}, "
            f"target {measured(p.target, unit)}{forecast.get(p.period, '')}"
        )
        for p in chart.points
    ]


def _hovers(g: ChartGeometry, tips: Sequence[str]) -> Markup:
    """Each period's slot, the full plot high: hovering it tells the period's numbers (its
    title, which static/charts.js shows at once; written once, not again in an attribute for
    the script). (Written with f-strings and one escape per tip: a chart has a slot per
    period, drawn twice, and `Markup.format` cost more than the rest of the chart.)"""
    half = (g.right - g.left) / len(g.slots) / 2
    y, width, height = g.top, 2 * half, g.bottom - g.top
    size = f'" y="{y}" width="{width:.1f}" height="{height}"><title>'
    return Markup(
        "".join(
            f'<rect class="hit" x="{g.slots[i] - half:.1f}{size}{tip}</title></rect>'
            for i, tip in enumerate(tips)
        )
    )


# The two drawings' boxes (`chart_geometries`): a laptop's, then a phone's (at most 8 period
# labels, 4 on the phone's, fewer where they would not fit); both 300 high with the same top
# and bottom margins.
_BOXES = ((W, 64, 12, 8), (NARROW_W, 52, 12, 4))
# The width of a character of the charts' text (los.css: 11 px system-ui) in the drawings'
# units, a little over its mean (6.2 in Chromium for "Oct 2024") so that labels keep a gap.
CHAR_W = 6.8


def fallback_charts(chart: KpiChart, title: str, unit: str = "") -> Markup:
    """`fallback_chart` drawn for a laptop, then for a phone (los.css shows the one that
    fits the screen), their heights and hover texts made once for both."""
    tips = _tips(chart, unit)
    wide, narrow = chart_geometries(
        chart, _BOXES, H, top=24, bottom=44, ticks=5, label=readable_period, char_width=CHAR_W
    )
    texts: dict[float, str] = {}
    return fallback_chart(chart, wide, title, unit, False, tips, texts) + fallback_chart(
        chart, narrow, title, unit, True, tips, texts
    )


def fallback_chart(
    chart: KpiChart,
    g: ChartGeometry,
    title: str,
    unit: str,
    narrow: bool,
    tips: Sequence[str],
    texts: dict[float, str],
) -> Markup:
    """The actuals, the target path and the forecast with its 80% interval as an SVG line
    chart laid out as `g`, with labelled axes (the values' axis titled with the `unit` of
    measure; `narrow`: the drawing for a phone); `tips`: `_tips(chart)`; `texts`: the
    coordinates written already (`_points`)."""
    w = NARROW_W if narrow else W
    if g.empty:
        return Markup('<p class="muted">No values to draw yet.</p>')

    # Written with f-strings, each text escaped once: what `Markup.format` gives, for a
    # fraction of its cost (a first visit of a KPI page draws this twice).
    for x in g.slots:
        texts[x] = f"{x:.1f}"

    def lines(runs: Sequence[Sequence[Point]], css: str) -> str:
        return "".join(f'<polyline class="{css}" points="{_points(run, texts)}"/>' for run in runs)

    parts = []
    if unit:
        parts.append(f'<text class="unit" x="4" y="{g.top - 2}">{escape(unit)}</text>')
    if g.range is not None:  # a range KPI's green band, under everything
        parts.append(
            f'<rect class="range" x="{g.left}" y="{g.range[0]:.1f}" width="{g.right - g.left}" '
            f'height="{g.range[1] - g.range[0]:.1f}"/>'
        )
    parts += [
        f'<line class="axis" x1="{g.left}" x2="{g.right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        f'<text x="{g.left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(text)}</text>'
        for y, text in g.y_ticks
    ]
    # Each period label centred on its slot; the last one ends there when, centred, it would
    # pass the drawing's right edge.
    last_tick = len(g.x_ticks) - 1
    parts += [
        f'<text class="period" x="{x:.1f}" y="{g.bottom + 18}" text-anchor="'
        f'{"end" if 0 < n == last_tick and x + len(text) * CHAR_W / 2 > w else "middle"}">'
        f"{escape(text)}</text>"
        for n, (x, text) in enumerate(g.x_ticks)
    ]
    if g.band:
        parts.append(f'<polygon class="interval" points="{_points(g.band, texts)}"/>')
    if g.benchmark is not None:
        parts.append(
            f'<line class="benchmark" x1="{g.left}" x2="{g.right}" y1="{g.benchmark:.1f}" '
            f'y2="{g.benchmark:.1f}"/>'
        )
    parts += [lines(g.forecast, "forecast"), lines(g.target, "target"), lines(g.actual, "actual")]
    parts.append(_hovers(g, tips))
    points = chart.points
    size = "narrow" if narrow else "wide"
    bm = ", benchmark (dotted)" if g.benchmark is not None else ""
    fc = ", forecast with its 80% interval (shaded)" if g.forecast else ""
    # The key of every line drawn: on one line, or on a phone's narrow drawing the forecast's
    # on a second line below (the drawing made that much higher), not left out.
    keys = ["— actual   - - target path", "··· benchmark" if g.benchmark is not None else ""]
    forecast_key = "·-· forecast (shaded: 80% interval)" if g.forecast else ""
    legend = [
        "   ".join(k for k in (*keys, "" if narrow else forecast_key) if k),
        forecast_key if narrow else "",
    ]
    tall = H + 16 if legend[1] else H
    legend_text = "".join(
        f'<text class="legend" x="{g.left}" y="{H - 6 + 16 * n}">{text}</text>'
        for n, text in enumerate(legend)
        if text
    )
    first = escape(readable_period(points[0].period))
    last = escape(readable_period(points[-1].period))
    return Markup(
        f'<svg class="fallback {size}" viewBox="0 0 {w} {tall}" role="img" aria-label="'
        f'{escape(title)}: actual (solid), target path (dashed){bm}{fc}, {first} to {last}">'
        f"{''.join(parts)}{legend_text}</svg>"
    )


def change_chart(data: dict[str, Any], *, narrow: bool = False) -> Markup:
    """What changed as an SVG waterfall: the first value, each contribution stacked on the
    running total, the last value. The bars stand on zero, so their lengths compare truly
    (+2 on 105.5 does not look like a doubling), and each carries its number."""
    names = [data["from_name"], *data["items"], data["to_name"]]
    bars: list[tuple[float, float, str, str]] = [(0.0, data["from"], "total", number(data["from"]))]
    running = data["from"]
    for value in data["values"]:
        css = "up" if value >= 0 else "down"
        bars.append((running, running + value, css, signed(value)))
        running += value
    bars.append((0.0, data["to"], "total", number(data["to"])))
    axis = nice_ticks([0.0, *(v for bar in bars for v in bar[:2])], 5)
    left, top, right, bottom, height = 52 if narrow else 64, 20, 12, 64, 300
    width = NARROW_W if narrow else W
    span = axis[-1] - axis[0]

    def y(v: float) -> float:
        return top + (height - top - bottom) * (axis[-1] - v) / span

    slot = (width - left - right) / len(bars)
    # A name's room: two slots (the names alternate between two lines), ~6.5 units a letter.
    most = max(4, min(14, int(2 * slot / 6.5)))
    parts = [
        Markup(
            '<line class="{0}" x1="{1}" x2="{2}" y1="{3:.1f}" y2="{3:.1f}"/>'
            '<text x="{4}" y="{5:.1f}" text-anchor="end">{6}</text>'
        ).format(
            "zero" if t == 0 else "axis",
            left,
            width - right,
            y(t),
            left - 6,
            y(t) + 4,
            display.tick(t),
        )
        for t in axis
    ]
    for i, ((start, end, css, text), name) in enumerate(zip(bars, names, strict=True)):
        x = left + slot * i + slot * 0.15
        top_y, low_y = min(y(start), y(end)), max(y(start), y(end))
        label_y = top_y - 5 if end >= start else low_y + 14
        short = name if len(name) <= most else name[: most - 1] + "…"
        parts.append(
            Markup(
                '<g class="bar {0}"><title>{1}: {2}</title>'
                '<rect x="{3:.1f}" y="{4:.1f}" width="{5:.1f}" height="{6:.1f}"/>'
                '<text class="value" x="{7:.1f}" y="{8:.1f}" text-anchor="middle">{2}</text>'
                '<text x="{7:.1f}" y="{9}" text-anchor="middle">{10}</text></g>'
            ).format(
                css,
                name,
                text,
                x,
                top_y,
                slot * 0.7,
                max(low_y - top_y, 1.0),
                x + slot * 0.35,
                label_y,
                height - bottom + 18 + 14 * (i % 2),
                short,
            )
        )
    return Markup(
        '<svg class="fallback waterfall {5}" viewBox="0 0 {0} {1}" role="img" aria-label="'
        'Waterfall from {2} to {3}: each bar is one contribution to the change">{4}</svg>'
    ).format(
        width, height, names[0], names[-1], Markup("").join(parts), "narrow" if narrow else "wide"
    )
