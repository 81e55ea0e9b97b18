"""The one KPI chart geometry (drawn by the KPI page's SVG and the briefing book's SVG and
PDF): every line stays inside the plot box whatever the values (negative, flat, large), gaps
break the lines, the axis is round and covers every value, the forecast and its interval sit
on their periods, and period labels stay few."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.domain.periods import parse_period
from lineofsight.engine.forecast import Forecast
from lineofsight.services.chart_geometry import (
    chart_geometries,
    chart_geometry,
    label_positions,
    nice_ticks,
)
from lineofsight.services.kpi_series import KpiChart, SeriesPoint


def _chart(
    actual: list[float | None],
    target: list[float | None],
    path: Sequence[tuple[str, float, float, float]] = (),
) -> KpiChart:
    points = tuple(
        SeriesPoint(f"2026-{i + 1:02d}", dt.date(2026, 1, 1), dt.date(2026, 1, 31), a, t)
        for i, (a, t) in enumerate(zip(actual, target, strict=True))
    )
    forecast = None
    if path:
        forecast = Forecast(
            "k",
            "u",
            10.0,
            dt.date(2026, 12, 31),
            parse_period("2026-12"),
            3,
            9.0,
            False,
            path_periods=tuple(parse_period(p) for p, _, _, _ in path),
            path_values=tuple(v for _, v, _, _ in path),
            path_low=tuple(lo for _, _, lo, _ in path),
            path_high=tuple(h for _, _, _, h in path),
        )
    return KpiChart("k", "u", points, forecast, None, None, None)


values = st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=1, max_size=12))
def test_every_point_is_inside_the_plot(pairs: list[tuple[float | None, float | None]]) -> None:
    g = chart_geometry(_chart([a for a, _ in pairs], [t for _, t in pairs]))
    if g.empty:
        assert all(a is None and t is None for a, t in pairs)
        return
    for run in (*g.actual, *g.target):
        for x, y in run:
            assert g.left - 1e-6 <= x <= g.right + 1e-6
            assert g.top - 1e-6 <= y <= g.bottom + 1e-6
    assert 2 <= len(g.y_ticks) <= 12
    for y, _ in g.y_ticks:
        assert g.top - 1e-6 <= y <= g.bottom + 1e-6


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(values, values), min_size=0, max_size=14),
    st.lists(st.tuples(values, values, values), max_size=3),
)
def test_drawings_laid_out_together_are_each_as_laid_out_alone(
    pairs: list[tuple[float | None, float | None]],
    ahead: list[tuple[float | None, float | None, float | None]],
) -> None:
    # A laptop's and a phone's drawing of one chart share their heights, not their widths.
    path = [
        (f"2026-{i + 1:02d}", *(0.0 if v is None else v for v in values))
        for i, values in enumerate(ahead)
    ]
    chart = _chart([a for a, _ in pairs], [t for _, t in pairs], path)
    boxes = [(720, 64, 12, 8), (360, 52, 12, 4)]
    together = chart_geometries(chart, boxes, 300, top=24, bottom=44, ticks=5)
    alone = [
        chart_geometry(chart, w, 300, margins=(left, 24, right, 44), ticks=5, labels=labels)
        for w, left, right, labels in boxes
    ]
    assert together == alone
    # Each drawing's points stand on its own slots, at the same heights.
    if not together[0].empty:
        wide, narrow = together
        assert [[y for _, y in run] for run in wide.actual] == [
            [y for _, y in run] for run in narrow.actual
        ]
        assert wide.slots != narrow.slots


def test_a_gap_breaks_the_actual_line() -> None:
    g = chart_geometry(_chart([1, 2, None, 4, 5], [3, 3, 3, 3, 3]))
    assert [len(run) for run in g.actual] == [2, 2]
    assert [len(run) for run in g.target] == [5]


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (20, 95, ["20", "40", "60", "80", "100"]),
        (-15, -2, ["-15", "-10", "-5", "0"]),
        # A small change on a large value: the axis does not start at zero, its ticks are round.
        (105.5, 107.5, ["105.5", "106", "106.5", "107", "107.5"]),
        # A flat line gets a band around its value.
        (3, 3, ["2.6", "2.8", "3", "3.2", "3.4"]),
        # Thousands separated, as every other number of the pages and the book (34,320, not
        # 34320 nor 34.32k); millions short, to keep the axis narrow.
        (15_000, 48_000, ["10,000", "20,000", "30,000", "40,000", "50,000"]),
        (34_300, 34_340, ["34,300", "34,310", "34,320", "34,330", "34,340"]),
        (1_200, 1_950, ["1,200", "1,400", "1,600", "1,800", "2,000"]),
        (1_000_000, 3_500_000, ["1M", "2M", "3M", "4M"]),
        (1_000_000, 1_900_000, ["1M", "1.25M", "1.5M", "1.75M", "2M"]),
    ],
)
def test_the_axis_is_round_and_covers_the_values(low: float, high: float, ticks: list[str]) -> None:
    g = chart_geometry(_chart([low, high], [None, None]))
    assert [text for _, text in g.y_ticks] == ticks
    # The lowest tick is at the foot of the plot, the highest at its top.
    assert g.y_ticks[0][0] == pytest.approx(g.bottom) and g.y_ticks[-1][0] == pytest.approx(g.top)


def test_nice_ticks_takes_the_number_of_steps_asked() -> None:
    assert nice_ticks([0, 100], 4) == [0, 25, 50, 75, 100]
    assert nice_ticks([0, 100], 10) == [i * 10 for i in range(11)]


def test_the_forecast_and_its_interval_sit_on_their_periods() -> None:
    path = [("2026-04", 6.0, 5.0, 7.0), ("2026-05", 7.0, 5.0, 9.5), ("2027-01", 100, 90, 110)]
    g = chart_geometry(_chart([2, 4, 5, None, None], [1, 3, 5, 7, 9], path))
    # 2027-01 is beyond the chart's periods: left out, and it does not widen the axis.
    assert [text for _, text in g.y_ticks] == ["0", "2.5", "5", "7.5", "10"]

    def y(v: float) -> float:
        return g.bottom - (g.bottom - g.top) * v / 10

    xs = [x for x, _ in g.target[0]]
    assert g.forecast == (((xs[3], y(6)), (xs[4], y(7))),)
    # The band: the highs forward, then the lows back.
    assert g.band == ((xs[3], y(7)), (xs[4], y(9.5)), (xs[4], y(5)), (xs[3], y(5)))


def test_a_forecast_with_a_value_that_is_not_finite_is_left_out() -> None:
    g = chart_geometry(_chart([1, 2, None], [3, 3, 3], [("2026-03", float("inf"), 0, 1)]))
    assert g.forecast == () and g.band == ()


def test_each_period_is_a_slot_and_labels_stay_few() -> None:
    g = chart_geometry(
        _chart([float(i) for i in range(24)], [None] * 24),
        labels=8,
        label=lambda period: f"<{period}>",
    )
    xs = [x for x, _ in g.actual[0]]
    slot = (g.right - g.left) / 24
    assert xs[0] == pytest.approx(g.left + slot / 2) and xs[-1] == pytest.approx(g.right - slot / 2)
    assert [text for _, text in g.x_ticks][:2] == ["<2026-01>", "<2026-04>"]
    assert len(g.x_ticks) <= 9
    one = chart_geometry(_chart([5.0], [None]))
    assert one.actual[0][0][0] == pytest.approx((one.left + one.right) / 2)


@pytest.mark.parametrize(
    ("count", "most", "shown"),
    [
        (1, 8, [0]),
        (8, 8, list(range(8))),
        (24, 8, [0, 3, 6, 9, 12, 15, 18, 21]),
        (10, 4, [0, 3, 6, 9]),
    ],
)
def test_label_positions(count: int, most: int, shown: list[int]) -> None:
    assert label_positions(count, most) == shown


def test_labels_that_would_touch_are_spaced_further_apart() -> None:
    # A phone's KPI chart of 39 months (Oct 2024 to Dec 2027), each label 8 slots wide with
    # its gap: every 10th month put "Apr 2027", centred, under "Dec 2027", ending at its slot.
    assert label_positions(39, 4) == [0, 10, 20, 30, 38]
    assert label_positions(39, 4, 8.0) == [0, 12, 24, 36]
    # Labels with room to spare are placed as before.
    assert label_positions(39, 4, 2.0) == [0, 10, 20, 30, 38]
    assert label_positions(24, 8, 1.0) == [0, 3, 6, 9, 12, 15, 18, 21]


def test_a_narrow_drawing_gets_fewer_labels_the_wide_one_keeps_them() -> None:
    months = 39
    chart = _chart([float(i % 5) for i in range(months)], [None] * months)
    wide, narrow = chart_geometries(
        chart, [(900, 64, 12, 8), (360, 52, 12, 4)], 300, char_width=6.8
    )
    assert len(wide.x_ticks) >= 8
    xs = [x for x, _ in narrow.x_ticks]
    width = max(len(text) for _, text in narrow.x_ticks) * 6.8
    # Centred labels, the last ending at its slot: none reaches into the next.
    assert all(b - a >= width for a, b in itertools.pairwise(xs[:-1]))
    assert xs[-1] - width >= xs[-2] + width / 2


def test_the_forecast_joins_the_last_value_and_the_benchmark_and_range_are_placed() -> None:
    chart = _chart([2, 4, None], [1, 3, 5], [("2026-03", 6.0, 5.0, 7.0)])
    assert chart.forecast is not None
    fc = replace(chart.forecast, last_period=parse_period("2026-02"))
    chart = replace(chart, forecast=fc, benchmark=9.0, range_low=3.0, range_high=4.0)
    g = chart_geometry(chart)
    assert [text for _, text in g.y_ticks] == ["0", "2", "4", "6", "8", "10"]  # up to 9

    def y(v: float) -> float:
        return g.bottom - (g.bottom - g.top) * v / 10

    xs = [x for x, _ in g.target[0]]
    assert g.forecast == (((xs[1], y(4)), (xs[2], y(6))),)
    assert g.band == ((xs[1], y(4)), (xs[2], y(7)), (xs[2], y(5)), (xs[1], y(4)))
    assert g.benchmark == pytest.approx(y(9))
    assert g.range == (pytest.approx(y(4)), pytest.approx(y(3)))
