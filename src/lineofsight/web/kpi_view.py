"""What the KPI page shows beside the engine's numbers: the red/amber thresholds of the
period's target, period labels people read ("Oct 2026"), and the chart drawn server-side as
SVG, so the page shows its chart without JavaScript (the script draws over it)."""

from __future__ import annotations

import calendar as months
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from lineofsight.domain import model as m
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


def nice_range(values: Sequence[float]) -> tuple[float, float, list[float]]:
    """An axis for `values`: round bounds a little beyond them and 4-6 round ticks. A flat
    series gets a band around its value, never a zero-height axis."""
    low, high = min(values), max(values)
    if high == low:
        spread = abs(high) * 0.1 or 1.0
        low, high = low - spread, high + spread
    raw = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    ticks = [start + i * step for i in range(round((end - start) / step) + 1)]
    return start, end, ticks


W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 300, 64, 12, 12, 44


def fallback_chart(chart: KpiChart, title: str) -> Markup:
    """The actuals, the target path and the forecast with its 80% interval as an SVG line
    chart, with labelled axes."""
    points = chart.points
    at = {p.period: i for i, p in enumerate(points)}
    path = [
        p
        for p in (chart.forecast.path if chart.forecast is not None else ())
        if p.period.label in at
    ]
    values = [v for p in points for v in (p.actual, p.target) if v is not None]
    values += [v for p in path for v in (p.low, p.high)]
    if not points or not values:
        return Markup('<p class="muted">No values to draw yet.</p>')
    low, high, ticks = nice_range(values)
    count = len(points)

    def x(i: int) -> float:
        return LEFT + (W - LEFT - RIGHT) * (i + 0.5) / count

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (high - v) / (high - low)

    def line(series: list[float | None], css: str) -> Markup:
        runs: list[list[str]] = [[]]
        for i, v in enumerate(series):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        return Markup("").join(
            Markup('<polyline class="{0}" points="{1}"/>').format(css, " ".join(run))
            for run in runs
            if run
        )

    parts = [
        Markup(
            '<line class="axis" x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}"/>'
            '<text x="{3}" y="{4:.1f}" text-anchor="end">{5}</text>'
        ).format(LEFT, W - RIGHT, y(t), LEFT - 6, y(t) + 4, number(t))
        for t in ticks
    ]
    every = max(1, math.ceil(count / 8))  # at most 8 period labels: readable at 390 px
    shown = list(range(0, count, every))
    if count - 1 - shown[-1] >= every * 0.75:  # the last period too, when it does not crowd
        shown.append(count - 1)
    parts += [
        Markup('<text x="{0:.1f}" y="{1}" text-anchor="{2}">{3}</text>').format(
            x(i),
            H - BOTTOM + 18,
            "end" if i == count - 1 and i > 0 else "middle",
            readable_period(points[i].period),
        )
        for i in shown
    ]
    if path:
        band = [f"{x(at[p.period.label]):.1f},{y(p.high):.1f}" for p in path]
        band += [f"{x(at[p.period.label]):.1f},{y(p.low):.1f}" for p in reversed(path)]
        parts.append(Markup('<polygon class="interval" points="{0}"/>').format(" ".join(band)))
        projected: list[float | None] = [None] * count
        for p in path:
            projected[at[p.period.label]] = p.value
        parts.append(line(projected, "forecast"))
    parts.append(line([p.target for p in points], "target"))
    parts.append(line([p.actual for p in points], "actual"))
    return Markup(
        '<svg class="fallback" viewBox="0 0 {w} {h}" role="img" aria-label="{title}: actual '
        '(solid), target path (dashed){fc}, {first} to {last}">{parts}'
        '<text x="{lx}" y="{ly}">— actual   - - target path{fc_key}</text></svg>'
    ).format(
        w=W,
        h=H,
        title=title,
        fc=", forecast with its 80% interval (shaded)" if path else "",
        fc_key="   ·-· forecast (shaded: 80% interval)" if path else "",
        first=readable_period(points[0].period),
        last=readable_period(points[-1].period),
        parts=Markup("").join(parts),
        lx=LEFT,
        ly=H - 6,
    )
