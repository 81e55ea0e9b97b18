"""A KPI chart as geometry: axis range and ticks, the actual and target lines (runs broken
by gaps), the forecast path and its 80% interval, the benchmark and a range KPI's band.

Computed once here and drawn by every layout (the KPI page's SVG, the briefing book's SVG
and its PDF canvas), so they all show the same chart. Coordinates have y growing downwards
(as SVG); the PDF flips them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lineofsight.services.kpi_series import KpiChart

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ChartGeometry:
    """Everything to draw: the plot box, the lines, the ticks (text and position)."""

    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    actual: tuple[tuple[Point, ...], ...]  # runs of consecutive values (gaps break them)
    target: tuple[tuple[Point, ...], ...]
    forecast: tuple[tuple[Point, ...], ...]
    band: tuple[Point, ...]  # the 80% interval, as a closed polygon
    benchmark: float | None  # the height of the benchmark's line
    range: tuple[float, float] | None  # the top and bottom of a range KPI's green band
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    empty: bool
    slots: tuple[float, ...] = ()  # the middle of each period's slot, in order


def nice_ticks(values: Sequence[float], count: int = 5) -> list[float]:
    """Round axis values from at or below the smallest value to at or above the largest,
    about `count` steps. A flat series gets a band around its value, never a zero-height
    axis."""
    low, high = min(values), max(values)
    if high == low:
        spread = abs(high) * 0.1 or 1.0
        low, high = low - spread, high + spread
    # A span too small for the values' own precision (1e9 and 1e9 + 1e-7) is widened, so
    # that each step moves the value.
    high = max(high, low + max(abs(low), abs(high), 1e-9) * 1e-6)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    first = math.floor(low / step) * step
    steps = max(1, math.ceil((high - first) / step - 1e-9))
    return [first + step * i for i in range(steps + 1)]


def tick_text(value: float) -> str:
    """An axis value, short: 2.5, 40k, 1.2M."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _runs(points: list[Point | None]) -> tuple[tuple[Point, ...], ...]:
    runs: list[list[Point]] = [[]]
    for p in points:
        if p is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(p)
    return tuple(tuple(r) for r in runs if r)


def label_positions(count: int, most: int) -> list[int]:
    """Which of `count` periods get a label: at most `most`, evenly spaced, the last one
    too when it does not crowd the one before."""
    every = max(1, math.ceil(count / most))
    shown = list(range(0, count, every))
    if count - 1 - shown[-1] >= every * 0.75:
        shown.append(count - 1)
    return shown


def chart_geometry(
    chart: KpiChart | None,
    width: float = 520,
    height: float = 160,
    *,
    margins: tuple[float, float, float, float] = (48, 8, 8, 20),  # left, top, right, bottom
    ticks: int = 4,
    labels: int = 4,
    label: Callable[[str], str] = str,
) -> ChartGeometry:
    """The chart laid out in a `width` x `height` box, leaving `margins` for the axis labels;
    each period is a slot of equal width with its point in the middle; at most `labels`
    period labels, written by `label`."""
    left, top = float(margins[0]), float(margins[1])
    right, bottom = width - margins[2], height - margins[3]
    points = chart.points if chart is not None else ()
    index = {p.period: i for i, p in enumerate(points)}
    values = [v for p in points for v in (p.actual, p.target) if v is not None]
    extra = [chart.benchmark, chart.range_low, chart.range_high] if chart is not None else []
    values += [v for v in extra if v is not None and math.isfinite(v)]
    forecast = chart.forecast if chart is not None else None
    path: list[tuple[int, float, float, float]] = []
    if forecast is not None and forecast.path_values:
        for period, value, low, high in zip(
            forecast.path_periods,
            forecast.path_values,
            forecast.path_low or forecast.path_values,
            forecast.path_high or forecast.path_values,
            strict=False,
        ):
            if period.label in index and all(map(math.isfinite, (value, low, high))):
                path.append((index[period.label], value, low, high))
                values += [value, low, high]
    if not points or not values:
        return ChartGeometry(
            width, height, left, top, right, bottom, (), (), (), (), None, None, (), (), True
        )
    assert chart is not None
    axis = nice_ticks(values, ticks)
    y_low, y_high = axis[0], axis[-1]
    count = len(points)

    # Each slot's middle, worked out once: every line, the band and the labels stand on them.
    xs = tuple(left + (right - left) * (i + 0.5) / count for i in range(count))

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v - y_low) / (y_high - y_low)

    def runs(series: Sequence[float | None]) -> tuple[tuple[Point, ...], ...]:
        return _runs([(xs[i], y(v)) if v is not None else None for i, v in enumerate(series)])

    # The path and its interval start at the last value, so that they join the actuals.
    last = forecast.last_period.label if forecast is not None and forecast.last_period else None
    if path and last is not None and last in index:
        anchor = points[index[last]].actual
        if anchor is not None and index[last] < path[0][0]:
            path.insert(0, (index[last], anchor, anchor, anchor))
    projected: list[float | None] = [None] * count
    for i, value, _, _ in path:
        projected[i] = value
    bench = chart.benchmark
    r_low, r_high = chart.range_low, chart.range_high
    band = tuple((xs[i], y(h)) for i, _, _, h in path) + tuple(
        (xs[i], y(lo)) for i, _, lo, _ in reversed(path)
    )
    return ChartGeometry(
        width,
        height,
        left,
        top,
        right,
        bottom,
        runs([p.actual for p in points]),
        runs([p.target for p in points]),
        runs(projected),
        band,
        y(bench) if bench is not None and math.isfinite(bench) else None,
        (y(r_high), y(r_low)) if r_low is not None and r_high is not None else None,
        tuple((y(t), tick_text(t)) for t in axis),
        tuple((xs[i], label(points[i].period)) for i in label_positions(count, labels)),
        False,
        xs,
    )
