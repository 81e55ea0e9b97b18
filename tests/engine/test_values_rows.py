"""A value table built from a few KPIs' rows as plain tuples (a KPI page's read) holds exactly
the values, numerators and denominators of the table built from the same rows as a frame:
every aggregation, ratios, days and months into weeks, months, quarters and fiscal years,
values missing, several values in one period, sums past the largest float."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.engine.values import (
    MEASUREMENT_SCHEMA,
    ValueTable,
    _period_start_expr,
    measurements_frame,
    period_start,
)
from lineofsight.spec.files import parse_strategy

KPIS = {
    # id: (frequency, aggregation, ratio)
    "s": ("monthly", "sum", False),
    "m": ("quarterly", "mean", False),
    "l": ("yearly", "last", False),
    "lo": ("weekly", "min", False),
    "hi": ("monthly", "max", False),
    "r": ("quarterly", "sum", True),
}


def _organisation(fiscal_start: int) -> object:
    lines = []
    for k, (freq, agg, ratio) in KPIS.items():
        extra = ", ratio: {numerator: n, denominator: d, scale: 100}" if ratio else ""
        lines.append(
            f"  - {{id: {k}, name: {k}, unit: co, frequency: {freq}, direction: increase, "
            f"aggregation: {agg}, across_units: sum{extra}}}"
        )
    lines.append(
        "  - {id: f, name: f, unit: co, frequency: quarterly, direction: increase, formula: s + hi}"
    )
    return parse_strategy(
        "version: 1\norganization:\n  name: Few\n"
        f"  calendar: {{fiscal_year_start: {fiscal_start}}}\n"
        "  units:\n    - {id: co, name: Co, level: company}\n"
        "    - {id: east, name: East, level: department, parent: co}\n"
        "kpis:\n" + "\n".join(lines) + "\n",
        "few.yaml",
    )


NUMBER = st.none() | st.sampled_from([0.0, -0.0, 1e308, -1e308]) | st.floats(-1e6, 1e6)


@st.composite
def measurement(draw: st.DrawFn) -> dict[str, object]:
    day = draw(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))
    if draw(st.booleans()):  # a month's value, else a day's
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    else:
        start = end = day
    return {
        "kpi_id": draw(st.sampled_from([*KPIS, "f", "gone"])),
        "unit_id": draw(st.sampled_from(["co", "east"])),
        "period_start": start,
        "period_end": end,
        "value": draw(NUMBER),
        "numerator": draw(NUMBER),
        "denominator": draw(NUMBER),
    }


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12),
    st.lists(measurement(), max_size=40),
    st.none() | st.tuples(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)), st.just(0)),
)
def test_a_table_of_tuples_is_the_table_of_the_frame(
    fiscal_start: int, rows: list[dict[str, object]], window: tuple[dt.date, int] | None
) -> None:
    org = _organisation(fiscal_start)
    # One value per KPI, unit and period, as the store keeps them.
    unique = list(
        {(r["kpi_id"], r["unit_id"], r["period_start"], r["period_end"]): r for r in rows}.values()
    )
    span = None if window is None else (window[0], window[0] + dt.timedelta(days=400))
    frame = ValueTable(org, measurements_frame(unique), span)  # type: ignore[arg-type]
    tuples = [tuple(r[c] for c in MEASUREMENT_SCHEMA) for r in unique]
    plain = ValueTable(org, tuples, span)  # type: ignore[arg-type]
    assert plain._values == frame._values
    assert plain._units_with_values == frame._units_with_values
    # -0.0 == 0.0: compare the signs too (a value drawn as "-0" differs on the page).
    for kpi_id, table in frame._values.items():
        for key, triple in table.items():
            assert repr(plain._values[kpi_id][key]) == repr(triple)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 4),
    st.integers(0, 11),
    st.lists(st.dates(dt.date(1970, 1, 1), dt.date(2100, 12, 31)), min_size=1, max_size=20),
)
def test_a_periods_first_day_is_the_frames(grain: int, shift: int, days: list[dt.date]) -> None:
    import polars as pl

    frame = pl.DataFrame({"day": days}, schema={"day": pl.Date}).select(
        _period_start_expr(pl.lit(grain), pl.lit(shift), pl.col("day")).alias("start")
    )
    assert [period_start(grain, shift, d) for d in days] == frame.get_column("start").to_list()
