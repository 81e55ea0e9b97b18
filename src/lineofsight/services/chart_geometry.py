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

from lineofsight import display
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


def label_positions(count: int, most: int, room: float = 0.0) -> list[int]:
    """Which of `count` periods get a label: at most `most`, evenly spaced, the last one
    too when it does not crowd the one before.

    `room`: how many periods' slots a label takes with a gap beside it (0: not known). The
    labels are then spaced at least that far apart, and the last one, which may be drawn
    ending at its slot (the others centred on theirs), 1.5 times that from the one before:
    fewer labels, still evenly spaced, rather than two drawn over each other."""
    every = max(1, math.ceil(count / most), math.ceil(room - 1e-9))
    while True:
        shown = list(range(0, count, every))
        if count - 1 - shown[-1] >= max(every * 0.75, room * 1.5):
            shown.append(count - 1)
        if len(shown) < 2 or shown[-1] - shown[-2] >= room * 1.5:
            return shown
        every += 1


# A drawing's box beside the others of one height: its width, its left and right margins, and
# how many period labels it has room for at most (`chart_geometries`).
Box = tuple[float, float, float, int]


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
    box = (width, margins[0], margins[2], labels)
    return chart_geometries(
        chart, [box], height, top=margins[1], bottom=margins[3], ticks=ticks, label=label
    )[0]


def chart_geometries(
    chart: KpiChart | None,
    boxes: Sequence[Box],
    height: float = 160,
    *,
    top: float = 8,
    bottom: float = 20,
    ticks: int = 4,
    label: Callable[[str], str] = str,
    char_width: float = 0.0,
) -> list[ChartGeometry]:
    """The chart laid out as `chart_geometry` lays it out, in each of `boxes` of one `height`
    and top and bottom margins (a laptop's drawing and a phone's): the values' axis and
    every height worked out once for all of them, only the widths for each.

    `char_width`: the width of a character of the period labels in the drawing's units (0:
    not known); with it, a narrow box gets fewer labels, so that none is drawn over another
    (`label_positions`)."""
    top_y, low_y = float(top), height - bottom
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
        return [
            ChartGeometry(
                width,
                height,
                float(left),
                top_y,
                width - right,
                low_y,
                (),
                (),
                (),
                (),
                None,
                None,
                (),
                (),
                True,
            )
            for width, left, right, _ in boxes
        ]
    assert chart is not None
    axis = nice_ticks(values, ticks)
    y_low, y_high = axis[0], axis[-1]
    count = len(points)

    def y(v: float) -> float:
        return low_y - (low_y - top_y) * (v - y_low) / (y_high - y_low)

    # The path and its interval start at the last value, so that they join the actuals.
    last = forecast.last_period.label if forecast is not None and forecast.last_period else None
    if path and last is not None and last in index:
        anchor = points[index[last]].actual
        if anchor is not None and index[last] < path[0][0]:
            path.insert(0, (index[last], anchor, anchor, anchor))
    projected: list[float | None] = [None] * count
    for i, value, _, _ in path:
        projected[i] = value
    # Every height once: each drawing stands its points on its own slots.
    lines = [
        _heights([p.actual for p in points], y),
        _heights([p.target for p in points], y),
        _heights(projected, y),
    ]
    band = [(i, y(h)) for i, _, _, h in path] + [(i, y(lo)) for i, _, lo, _ in reversed(path)]
    bench = chart.benchmark
    bench_y = y(bench) if bench is not None and math.isfinite(bench) else None
    r_low, r_high = chart.range_low, chart.range_high
    band_y = (y(r_high), y(r_low)) if r_low is not None and r_high is not None else None
    y_ticks = tuple((y(t), display.tick(t)) for t in axis)
    # A label's width with a character's gap, from the first and the last period's (the
    # periods of one chart are written alike: "Oct 2024", "Dec 2027").
    chars = max(len(label(points[0].period)), len(label(points[-1].period))) + 1
    made = []
    for width, left, right, labels in boxes:
        left_x, right_x = float(left), width - right
        room = chars * char_width * count / (right_x - left_x)
        # Each slot's middle, worked out once: every line, the band and the labels stand on them.
        xs = tuple(left_x + (right_x - left_x) * (i + 0.5) / count for i in range(count))
        actual, target, ahead = (
            tuple(tuple((xs[i], h) for i, h in run) for run in runs) for runs in lines
        )
        made.append(
            ChartGeometry(
                width,
                height,
                left_x,
                top_y,
                right_x,
                low_y,
                actual,
                target,
                ahead,
                tuple((xs[i], h) for i, h in band),
                bench_y,
                band_y,
                y_ticks,
                tuple(
                    (xs[i], label(points[i].period)) for i in label_positions(count, labels, room)
                ),
                False,
                xs,
            )
        )
    return made


def _heights(
    series: Sequence[float | None], y: Callable[[float], float]
) -> list[list[tuple[int, float]]]:
    """A line's runs of consecutive values (gaps break them) as (slot, height) pairs."""
    runs: list[list[tuple[int, float]]] = []
    run: list[tuple[int, float]] = []
    for i, v in enumerate(series):
        if v is None:
            if run:
                runs.append(run)
                run = []
        else:
            run.append((i, y(v)))
    if run:
        runs.append(run)
    return runs
