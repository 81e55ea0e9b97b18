"""A briefing book's KPI chart as geometry: actual, target path, forecast path and interval.

Computed once here and drawn by both layouts (SVG in the HTML page, lines on the PDF
canvas), so the two show the same chart. Coordinates have y growing downwards (as SVG); the
PDF flips them.
"""

from __future__ import annotations

import math
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
    forecast: tuple[Point, ...]
    band: tuple[Point, ...]  # the 80% interval, as a closed polygon
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    empty: bool


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round axis values from at or below `low` to at or above `high` (about `count` steps)."""
    # A span too small for the values' own precision (1e9 and 1e9 + 1e-7) is widened, so
    # that each step moves the value.
    if high <= low:  # a flat line: an axis around it
        high = low + max(1.0, abs(low) * 0.1)
    high = max(high, low + max(abs(low), abs(high), 1e-9) * 1e-6)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    first = math.floor(low / step) * step
    steps = max(1, math.ceil((high - first) / step - 1e-9))
    return [first + step * i for i in range(steps + 1)]


def tick_text(value: float) -> str:
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


def chart_geometry(
    chart: KpiChart | None, width: float = 520, height: float = 160
) -> ChartGeometry:
    """The chart laid out in a `width` x `height` box with room for the axis labels."""
    left, top, right, bottom = 48.0, 8.0, width - 8.0, height - 20.0
    labels = [p.period for p in chart.points] if chart is not None else []
    index = {label: i for i, label in enumerate(labels)}
    values: list[float] = []
    if chart is not None:
        values += [p.actual for p in chart.points if p.actual is not None]
        values += [p.target for p in chart.points if p.target is not None]
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
    if not labels or not values:
        return ChartGeometry(width, height, left, top, right, bottom, (), (), (), (), (), (), True)
    ticks = _nice_ticks(min(values), max(values))
    y_low, y_high = ticks[0], ticks[-1]
    span = (y_high - y_low) or 1.0
    n = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + (right - left) * i / n

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v - y_low) / span

    assert chart is not None
    actual = _runs(
        [(x(i), y(p.actual)) if p.actual is not None else None for i, p in enumerate(chart.points)]
    )
    target = _runs(
        [(x(i), y(p.target)) if p.target is not None else None for i, p in enumerate(chart.points)]
    )
    line = tuple((x(i), y(v)) for i, v, _, _ in path)
    band = tuple((x(i), y(h)) for i, _, _, h in path) + tuple(
        (x(i), y(lo)) for i, _, lo, _ in reversed(path)
    )
    picks = sorted({0, len(labels) // 2, len(labels) - 1})
    return ChartGeometry(
        width,
        height,
        left,
        top,
        right,
        bottom,
        actual,
        target,
        line,
        band,
        tuple((y(t), tick_text(t)) for t in ticks),
        tuple((x(i), labels[i]) for i in picks),
        False,
    )
