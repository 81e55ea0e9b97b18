"""Sparklines: server-drawn SVG whose text alternative lists every period's value."""

from __future__ import annotations

import datetime as dt

from lineofsight.services.kpi_series import SeriesPoint
from lineofsight.web.sparklines import sparkline
from lineofsight.web.templating import number, signed


def points(*values: float | None) -> list[SeriesPoint]:
    day = dt.date(2026, 1, 1)
    return [
        SeriesPoint(f"2026-{i + 1:02d}", day, day, value, 10.0) for i, value in enumerate(values)
    ]


def test_a_line_and_the_target_with_values_as_text() -> None:
    svg = str(sparkline(points(1, 2, 3)))
    assert svg.count('<polyline class="actual"') == 1
    assert svg.count('<polyline class="target"') == 1
    assert "<title>2026-01: 1; 2026-02: 2; 2026-03: 3</title>" in svg


def test_values_as_text_are_written_as_people_write_them() -> None:
    svg = str(sparkline(points(27_600, 35_567, 0.00001234, 1_234_567.8)))
    assert (
        "<title>2026-01: 27,600; 2026-02: 35,567; 2026-03: 0.00001234; 2026-04: 1,234,568</title>"
        in svg
    )
    # The pages' filters (`num`, `signed`) show numbers the same way, never with an exponent.
    assert [number(v) for v in (35_567.3, 0.00001234, None)] == ["35,567", "0.00001234", "–"]
    assert [signed(v) for v in (12_345.0, -0.5, 0.0)] == ["+12,345", "-0.5", "0"]


def test_gaps_split_the_line_and_lone_values_are_dots() -> None:
    svg = str(sparkline(points(1, 2, None, 4)))
    assert svg.count('<polyline class="actual"') == 1
    assert svg.count('<circle class="actual"') == 1
    assert "2026-03: no value" in svg


def test_no_values_says_so() -> None:
    assert "no values" in str(sparkline(points(None, None)))


def test_flat_series_stays_inside_the_box() -> None:
    svg = str(
        sparkline([SeriesPoint("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31), 5, 5)] * 3)
    )
    coordinates = [
        float(c) for pair in svg.split('points="')[1].split('"')[0].split() for c in pair.split(",")
    ]
    assert all(0 <= c <= 96 for c in coordinates)
