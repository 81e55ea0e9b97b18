"""A briefing book's chart geometry: every line stays inside the plot box, whatever the
values (negative, flat, large), and gaps break the actual line."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.services.brief_chart import chart_geometry
from lineofsight.services.kpi_series import KpiChart, SeriesPoint


def _chart(actual: list[float | None], target: list[float | None]) -> KpiChart:
    points = tuple(
        SeriesPoint(f"2026-{i + 1:02d}", dt.date(2026, 1, 1), dt.date(2026, 1, 31), a, t)
        for i, (a, t) in enumerate(zip(actual, target, strict=True))
    )
    return KpiChart("k", "u", points, None, None, None, None)


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


def test_a_gap_breaks_the_actual_line() -> None:
    g = chart_geometry(_chart([1, 2, None, 4, 5], [3, 3, 3, 3, 3]))
    assert [len(run) for run in g.actual] == [2, 2]
    assert [len(run) for run in g.target] == [5]


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [(20, 95, ["20", "40", "60", "80", "100"]), (-15, -2, ["-15", "-10", "-5", "0"])],
)
def test_the_axis_covers_the_values(low: float, high: float, ticks: list[str]) -> None:
    g = chart_geometry(_chart([low, high], [None, None]))
    assert [text for _, text in g.y_ticks] == ticks
