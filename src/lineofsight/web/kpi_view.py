"""What the KPI page shows beside the engine's numbers: the red/amber thresholds of the
period's target, period labels people read ("Oct 2026"), and the chart drawn server-side as
SVG, so the page shows its chart without JavaScript (the script draws over it)."""

from __future__ import annotations

import calendar as months
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from lineofsight.domain import model as m
from lineofsight.services.chart_geometry import Point, chart_geometry
from lineofsight.services.kpi_series import KpiChart
from lineofsight.web.templating import number

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(FY)?(\d{4})-Q(\d)$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


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
    met, amber within the tolerance of it, red beyond. Empty without a target."""
    if target is None:
        return []
    tol = (
        kpi.tolerance_abs
        if kpi.tolerance_abs is not None
        else (kpi.tolerance if kpi.tolerance is not None else m.DEFAULT_TOLERANCE) * abs(target)
    )
    n = number
    if kpi.direction is m.Direction.INCREASE:
        return [
            Threshold("green", f"at least {n(target)}"),
            Threshold("amber", f"from {n(target - tol)} to below {n(target)}"),
            Threshold("red", f"below {n(target - tol)}"),
        ]
    if kpi.direction is m.Direction.DECREASE:
        return [
            Threshold("green", f"at most {n(target)}"),
            Threshold("amber", f"above {n(target)} up to {n(target + tol)}"),
            Threshold("red", f"above {n(target + tol)}"),
        ]
    low = target if low is None else low
    high = target if high is None else high
    return [
        Threshold("green", f"from {n(low)} to {n(high)}"),
        Threshold("amber", f"from {n(low - tol)} or up to {n(high + tol)}"),
        Threshold("red", f"below {n(low - tol)} or above {n(high + tol)}"),
    ]


W, H = 720, 300


def _points(run: Sequence[Point]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in run)


def fallback_chart(chart: KpiChart, title: str) -> Markup:
    """The actuals, the target path and the forecast with its 80% interval as an SVG line
    chart, with labelled axes (at most 8 period labels: readable at 390 px)."""
    g = chart_geometry(
        chart, W, H, margins=(64, 12, 12, 44), ticks=5, labels=8, label=readable_period
    )
    if g.empty:
        return Markup('<p class="muted">No values to draw yet.</p>')

    def lines(runs: Sequence[Sequence[Point]], css: str) -> Markup:
        return Markup("").join(
            Markup('<polyline class="{0}" points="{1}"/>').format(css, _points(run)) for run in runs
        )

    parts = []
    if g.range is not None:  # a range KPI's green band, under everything
        parts.append(
            Markup('<rect class="range" x="{0}" y="{1:.1f}" width="{2}" height="{3:.1f}"/>').format(
                g.left, g.range[0], g.right - g.left, g.range[1] - g.range[0]
            )
        )
    parts += [
        Markup(
            '<line class="axis" x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}"/>'
            '<text x="{3}" y="{4:.1f}" text-anchor="end">{5}</text>'
        ).format(g.left, g.right, y, g.left - 6, y + 4, text)
        for y, text in g.y_ticks
    ]
    parts += [
        Markup('<text x="{0:.1f}" y="{1}" text-anchor="{2}">{3}</text>').format(
            x, g.bottom + 18, "end" if n == len(g.x_ticks) - 1 and n > 0 else "middle", text
        )
        for n, (x, text) in enumerate(g.x_ticks)
    ]
    if g.band:
        parts.append(Markup('<polygon class="interval" points="{0}"/>').format(_points(g.band)))
    if g.benchmark is not None:
        parts.append(
            Markup('<line class="benchmark" x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}"/>').format(
                g.left, g.right, g.benchmark
            )
        )
    parts += [lines(g.forecast, "forecast"), lines(g.target, "target"), lines(g.actual, "actual")]
    points = chart.points
    return Markup(
        '<svg class="fallback" viewBox="0 0 {w} {h}" role="img" aria-label="{title}: actual '
        '(solid), target path (dashed){bm}{fc}, {first} to {last}">{parts}'
        '<text x="{lx}" y="{ly}">— actual   - - target path{bm_key}{fc_key}</text></svg>'
    ).format(
        bm=", benchmark (dotted)" if g.benchmark is not None else "",
        bm_key="   ··· benchmark" if g.benchmark is not None else "",
        w=W,
        h=H,
        title=title,
        fc=", forecast with its 80% interval (shaded)" if g.forecast else "",
        fc_key="   ·-· forecast (shaded: 80% interval)" if g.forecast else "",
        first=readable_period(points[0].period),
        last=readable_period(points[-1].period),
        parts=Markup("").join(parts),
        lx=g.left,
        ly=H - 6,
    )
