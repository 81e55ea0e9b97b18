"""`los forecast` reads most histories with a group-by over the measurements (fast for 100,000
KPIs) and the rest from a value table: both give the forecasts the value table alone gives."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.domain.periods import MIN_YEAR, parse_period
from lineofsight.engine.forecast import forecast_organization
from lineofsight.engine.forecast_frames import LabelsNeeded
from lineofsight.engine.values import MEASUREMENT_SCHEMA, ValueTable
from lineofsight.services.evaluate import load_organization, read_measurement_frame
from lineofsight.services.forecast import forecast_every_kpi, forecast_frame, whole_forecast
from lineofsight.spec.files import parse_strategy
from lineofsight.store.database import Store
from lineofsight.store.forecast_reads import read_forecast_measurements
from tests.conftest import Los
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

STRATEGY = """
version: 1
organization:
  name: Frames
  calendar: {fiscal_year_start: %d}
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
    - {id: west, name: West, level: department, parent: co}
kpis:
  - {id: sales, name: Sales, unit: co, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 500, by: 2027-06-30},
     unit_targets: {east: {value: 200, by: 2027-03-31}, west: {value: 90, by: 2027-12-31}}}
  - {id: cost, name: Cost, unit: co, frequency: monthly, direction: decrease,
     aggregation: sum, target: {value: 150, by: 2027-06-30}}
  - {id: profit, name: Profit, unit: co, frequency: quarterly, direction: increase,
     formula: sales - cost, target: {value: 900, by: 2028-03-31}}
  - {id: headcount, name: Headcount, unit: co, frequency: quarterly, direction: increase,
     aggregation: last, target: {value: 130, by: 2027-12-31}}
  - {id: rate, name: Rate, unit: west, frequency: weekly, direction: decrease,
     aggregation: mean, bounds: {min: 0}, target: {value: 1, by: 2027-02-28},
     tolerance_abs: 0.5}
  - {id: visits, name: Visits, unit: east, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 100, by: 2026-12-31}}
"""


def measurements_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """The rows as the engine takes them (each period's first day, not its label)."""
    return (
        pl.DataFrame(rows, infer_schema_length=None)
        .select(list(MEASUREMENT_SCHEMA))
        .cast(
            MEASUREMENT_SCHEMA  # type: ignore[arg-type]
        )
    )


def labelled_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """The rows as the store keeps them (each period's label, not its first day)."""
    schema = {"period": pl.String, **MEASUREMENT_SCHEMA}
    frame = pl.DataFrame(rows, infer_schema_length=None).cast(schema)  # type: ignore[arg-type]
    return frame.drop("period_start")


def _rows(fiscal: int) -> list[dict[str, object]]:
    org = parse_strategy(STRATEGY % fiscal, "frames.yaml")
    rows: list[dict[str, object]] = []

    def add(kpi: str, unit: str, label: str, value: float) -> None:
        p = parse_period(label, org.calendar)
        rows.append(
            {
                "period": p.label,
                "kpi_id": kpi,
                "unit_id": unit,
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": None,
                "denominator": None,
            }
        )

    for i in range(30):
        year, month = 2024 + (4 + i) // 12, (4 + i) % 12 + 1
        label = f"{year}-{month:02d}"
        season = 20 * math.sin(month / 12 * 2 * math.pi)
        add("sales", "east", label, 100 + 2 * i + season)
        if i % 7 != 3:  # a gap now and then
            add("sales", "west", label, 60 + i + season / 2)
        add("cost", "co", label, 180 - i)
        if i >= 20:
            add("headcount", "co", label, 100 + i)
    for day in range(1, 31):  # daily values of a monthly KPI, three months
        for month in (8, 9, 10):
            add("visits", "east", f"2026-{month:02d}-{day:02d}", float(day % 5))
    for week in range(1, 40):
        add("rate", "west", f"2026-W{week:02d}", 5 + (week % 4) - week / 10)
    return rows


@pytest.mark.parametrize("fiscal", [1, 4])
@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 22), dt.date(2026, 2, 10)])
def test_frame_histories_give_the_value_tables_forecasts(fiscal: int, as_of: dt.date) -> None:
    org = parse_strategy(STRATEGY % fiscal, "frames.yaml")
    frame = measurements_frame(_rows(fiscal))
    expected = forecast_organization(ValueTable(org, frame), org, as_of)
    found = forecast_frame(org, frame, as_of)
    assert [(f.id, f.unit) for f in found] == [(f.id, f.unit) for f in expected]
    assert found == expected
    methods = {f.method for f in found}
    if as_of.year == 2026 and as_of.month == 11:
        assert {"seasonal", "damped_trend"} <= methods
    assert any(f.projected is not None for f in found)


EDGES = """
version: 1
organization:
  name: Edges
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
kpis:
  - {id: occ, name: Occupancy, unit: co, frequency: monthly, direction: range,
     range: {low: 85, high: 92}, bounds: {min: 0, max: 100}, target: {value: 88, by: 2027-03-31}}
  - {id: conv, name: Conversion, unit: east, frequency: monthly, direction: increase,
     ratio: {numerator: won, denominator: tried, scale: 100}, target: {value: 30, by: 2027-06-30}}
  - {id: two, name: Two values, unit: co, frequency: monthly, direction: increase,
     target: {value: 5, by: 2027-06-30}}
  - {id: none, name: No values, unit: co, frequency: monthly, direction: increase,
     target: {value: 5, by: 2027-06-30}}
  - {id: past, name: Past, unit: co, frequency: monthly, direction: decrease,
     target: {value: 5, by: 2026-01-31}}
  - {id: far, name: Far, unit: co, frequency: daily, direction: increase, aggregation: sum,
     target: {value: 5, by: 2040-01-31}}
  - {id: huge, name: Huge, unit: co, frequency: monthly, direction: increase,
     aggregation: sum, target: {value: 5, by: 2027-01-31}}
  - {id: long, name: Long, unit: co, frequency: monthly, direction: increase,
     aggregation: last, bounds: {max: 400}, target: {value: 300, by: 2027-12-31}}
"""


def _edge_rows() -> list[dict[str, object]]:
    org = parse_strategy(EDGES, "edges.yaml")
    rows: list[dict[str, object]] = []

    def add(kpi: str, label: str, value: float | None, num: float | None = None,
            den: float | None = None) -> None:  # fmt: skip
        p = parse_period(label, org.calendar)
        rows.append(
            {
                "period": p.label,
                "kpi_id": kpi,
                "unit_id": "east" if kpi == "conv" else "co",
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": num,
                "denominator": den,
            }
        )

    for i in range(80):  # 80 months: the forecast reads the last 60, with a gap or two
        label = f"{2020 + i // 12}-{i % 12 + 1:02d}"
        if i < 40 or i % 9:
            add("long", label, 100 + 2 * i + 10 * math.sin(i))
            # A daily value on the month's last day too: the latest by period end wins.
            end = parse_period(label, org.calendar).end
            add("long", end.isoformat(), 100 + 2 * i)
    for i in range(10):
        label = f"2026-{i + 1:02d}"
        add("occ", label, 86 + i % 3)
        add("conv", label, None, 20 + i, 100 - (i % 2) * 100)  # denominators of 0: no value
        add("past", label, 10 - i)
        add("huge", label, 1.7e308 * (-1) ** i)  # values whose fit overflows
    add("two", "2026-09", 1)
    add("two", "2026-10", 2)
    for day in range(1, 29):
        add("far", f"2026-10-{day:02d}", day)
    return rows


@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 22), dt.date(2026, 6, 3)])
@pytest.mark.parametrize("example", [(STRATEGY % 4, "_rows"), (EDGES, "_edge_rows")])
def test_periods_labelled_as_stored_give_the_same_forecasts(
    as_of: dt.date, example: tuple[str, str]
) -> None:
    # The forecast of every KPI reads the periods' labels, not their first days: those of
    # periods of several values (daily values of a monthly KPI, a daily value on a month's
    # last day beside the month's) are worked out from the labels, with the same result.
    text, make = example
    org = parse_strategy(text, "x.yaml")
    rows = _rows(4) if make == "_rows" else _edge_rows()
    expected = forecast_frame(org, measurements_frame(rows), as_of)
    assert forecast_frame(org, labelled_frame(rows), as_of) == expected
    assert any(f.projected is not None for f in expected)


@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 22), dt.date(2026, 6, 3)])
def test_every_rule_of_the_engine_holds_on_arrays(as_of: dt.date) -> None:
    # Ranges, bounds, ratios (with periods of no value), too few values, none, a target in
    # the past or too far ahead, values that overflow, long histories with gaps and periods
    # of several values: forecast on arrays as request by request from a value table.
    org = parse_strategy(EDGES, "edges.yaml")
    frame = measurements_frame(_edge_rows())
    expected = forecast_organization(ValueTable(org, frame), org, as_of)
    found = forecast_frame(org, frame, as_of)
    assert found == expected
    reasons = {f.id: f.reason for f in found if f.reason}
    if as_of.month == 11:
        assert set(reasons) == {"two", "none", "past", "far", "huge"}
        assert "2 periods" in reasons["two"] and reasons["past"] == "target date passed"
        assert "periods ahead" in reasons["far"] and "too large" in reasons["huge"]
        long = next(f for f in found if f.id == "long")
        assert long.points < 60 and long.method == "seasonal"


@pytest.mark.parametrize("example", ["manufacturing", "techinnovate"])
def test_the_store_gives_what_the_organisation_gives(
    example: str, request: pytest.FixtureRequest, unmade_db_url: str
) -> None:
    # The forecast of every KPI read from the store's tables (no domain objects but for the
    # formulas and what they read) is the one made from the organisation's objects.
    copy_example(request, unmade_db_url, example)  # as `los init --example` leaves it
    store = Store(unmade_db_url)
    try:
        as_of = dt.date(2026, 11, 22)
        org = load_organization(store)
        frame = read_measurement_frame(store, (dt.date(MIN_YEAR, 1, 1), as_of))
        found, own = forecast_every_kpi(store, as_of)
        calls = whole_forecast(store, as_of).calls
        # Read as two spans of days at once and fitted two batches at a time: the same.
        read = read_forecast_measurements(store, as_of)
        halves = read_forecast_measurements(store, as_of, threads=2)
        both = whole_forecast(store, as_of, threads=2).calls
    finally:
        store.close()
    assert_frame_equal(halves, read)
    assert read.height > 100
    assert_frame_equal(both, calls)
    assert found == forecast_frame(org, frame, as_of)
    assert sum(f.projected is not None for f in found) >= 10
    assert own == {k.id: k.unit for k in org.kpis}
    # The off-track calls made without forecast objects are those of the forecasts.
    expected = sorted(
        (f.id, f.projected, f.target, f.target_period.label, f.deadline, f.probability)
        for f in found
        if f.unit == own[f.id] and f.on_track is False
    )
    assert calls.rows() == expected
    assert 0 < len(expected) < len(found)


FORMULAS = """
version: 1
organization:
  name: Formulas
  units:
    - {id: co, name: Co, level: company}
    - {id: east, name: East, level: department, parent: co}
    - {id: west, name: West, level: department, parent: co}
kpis:
  - {id: won, name: Won, unit: east, frequency: monthly, direction: increase, aggregation: sum}
  - {id: lost, name: Lost, unit: east, frequency: monthly, direction: decrease,
     aggregation: sum}
  - {id: spend, name: Spend, unit: co, frequency: weekly, direction: decrease,
     aggregation: sum}
  - {id: staff, name: Staff, unit: west, frequency: monthly, direction: increase,
     aggregation: last}
  - {id: rolled, name: Rolled, unit: co, frequency: monthly, direction: increase,
     aggregation: sum}
  - {id: share, name: Win share, unit: east, frequency: monthly, direction: increase,
     formula: 100 * won / (won + lost), target: {value: 70, by: 2027-06-30}}
  - {id: margin, name: Margin, unit: east, frequency: monthly, direction: increase,
     formula: "-(lost - won) / staff", target: {value: 9, by: 2027-09-30},
     unit_targets: {west: {value: 5, by: 2027-03-31}}}
  - {id: nested, name: Nested, unit: east, frequency: quarterly, direction: increase,
     formula: "max(share, margin, 0) + abs(won - lost) - min(spend / 1000, 4)",
     target: {value: 120, by: 2027-12-31}}
  - {id: ratio, name: Per head, unit: east, frequency: monthly, direction: decrease,
     formula: lost / (won - lost), target: {value: 0.2, by: 2027-06-30}}
  - {id: both, name: Both, unit: co, frequency: monthly, direction: increase,
     formula: rolled + won, target: {value: 400, by: 2027-06-30}}
"""


def _formula_rows() -> list[dict[str, object]]:
    org = parse_strategy(FORMULAS, "formulas.yaml")
    rows: list[dict[str, object]] = []

    def add(kpi: str, unit: str, label: str, value: float) -> None:
        p = parse_period(label, org.calendar)
        rows.append(
            {
                "period": p.label,
                "kpi_id": kpi,
                "unit_id": unit,
                "period_start": p.start,
                "period_end": p.end,
                "value": value,
                "numerator": None,
                "denominator": None,
            }
        )

    for i in range(40):
        label = f"{2023 + (6 + i) // 12}-{(6 + i) % 12 + 1:02d}"
        season = 15 * math.sin(i / 12 * 2 * math.pi)
        if i % 11 != 5:  # gaps in the formulas' periods
            add("won", "east", label, 40 + i + season)
        # Won and lost alike now and then: a division by zero, a period without value.
        add("lost", "east", label, 40 + i + season if i % 13 == 7 else 30 - i / 4)
        if i % 3 == 0:
            add("won", "west", label, 10 + i)  # read at west before east's own
        add("staff", "west", label, 0.0 if i == 17 else 5 + i // 10)
        add("rolled", "east", label, 100 + i)
        add("rolled", "west", label, 50 + i)
        for week in range(4):  # a weekly input summed into monthly and quarterly formulas
            day = dt.date(2023 + (6 + i) // 12, (6 + i) % 12 + 1, 1 + 7 * week)
            iso = day.isocalendar()
            add("spend", "co", f"{iso.year}-W{iso.week:02d}", 900 + 10 * week + i)
    return rows


@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 22), dt.date(2025, 3, 3)])
def test_formulas_evaluated_on_arrays_give_the_value_tables_forecasts(as_of: dt.date) -> None:
    # Formulas of formulas, min/max/abs, divisions by zero, inputs missing in some periods,
    # read at the formula's unit or else at their own, of another frequency: evaluated over
    # every period at once, they give the histories (and so the forecasts) a value table
    # gives period by period. A formula reading values rolled up from the units below is
    # left to the value table.
    from lineofsight.engine.forecast_formulas import book_of
    from lineofsight.engine.forecast_frames import measured_pairs, rolled_up

    org = parse_strategy(FORMULAS, "formulas.yaml")
    frame = measurements_frame(_formula_rows())
    expected = forecast_organization(ValueTable(org, frame), org, as_of)
    found = forecast_frame(org, frame, as_of)
    assert found == expected
    book = book_of(
        pl.DataFrame(
            [(k.id, k.unit, k.formula, "sum", None) for k in org.kpis],
            schema=["id", "unit_id", "formula", "aggregation", "ratio_scale"],
            orient="row",
        ),
        rolled_up(measured_pairs(frame), {u.id: u.parent for u in org.units}),
    )
    on_arrays = {f.id for f in found if book.leaves(f.id, f.unit) is not None}
    assert on_arrays == {"share", "margin", "nested", "ratio"}
    assert book.leaves("both", "co") is None  # `rolled` at co is its units' sum
    if as_of.year == 2026:
        projected = {f.id for f in found if f.projected is not None}
        assert {"share", "margin", "nested", "ratio", "both"} <= projected
        assert {(f.id, f.unit) for f in found if f.id == "margin"} == {
            ("margin", "east"),
            ("margin", "west"),
        }


@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 22), dt.date(2026, 6, 3)])
def test_periods_read_without_labels_give_the_same_forecasts(as_of: dt.date) -> None:
    # The forecast of every KPI reads the measurements without their periods' labels: a
    # period's values (daily values of a monthly KPI) are taken in the order of their ends.
    # Where two of one KPI and unit end on one day (a daily value on a month's last day
    # beside the month's) only the labels can order them: the engine says so.
    org = parse_strategy(EDGES, "edges.yaml")
    rows = _edge_rows()
    with pytest.raises(LabelsNeeded):
        forecast_frame(org, labelled_frame(rows).drop("period"), as_of)
    # The daily values a day before the months' ends: a month of two values, ordered by ends.
    for row in rows:
        if row["kpi_id"] == "long" and row["period_start"] == row["period_end"]:
            day = row["period_end"] - dt.timedelta(days=1)  # type: ignore[operator]
            row.update(period=day.isoformat(), period_start=day, period_end=day)
    expected = forecast_frame(org, measurements_frame(rows), as_of)
    assert forecast_frame(org, labelled_frame(rows).drop("period"), as_of) == expected
    assert any(f.id == "long" and f.projected is not None for f in expected)


def test_the_store_read_without_labels_gives_the_labelled_forecasts(
    los: Los, tmp_path: Path
) -> None:
    # Read from the store without the labels: a formula of values rolled up from the units
    # below reads its inputs again with theirs (a value table needs them). (Two values of
    # one KPI and unit ending on one day, which the labels alone order, are refused by a
    # load: their periods overlap.)
    strategy = tmp_path / "formulas.yaml"
    strategy.write_text(FORMULAS)
    assert los("apply", str(strategy)).exit_code == 0
    rows = [(r["kpi_id"], r["unit_id"], r["period"], r["value"]) for r in _formula_rows()]
    values = tmp_path / "values.csv"
    pl.DataFrame(rows, schema=["kpi", "unit", "period", "value"], orient="row").write_csv(values)
    loaded = los("load", str(values))
    assert loaded.exit_code == 0, loaded.output
    assert los.db_url is not None
    store = Store(los.db_url)
    try:
        as_of = dt.date(2026, 11, 22)
        org = load_organization(store)
        expected = forecast_frame(
            org, read_measurement_frame(store, (dt.date(MIN_YEAR, 1, 1), as_of)), as_of
        )
        found, own = forecast_every_kpi(store, as_of)
        calls = whole_forecast(store, as_of).calls
    finally:
        store.close()
    assert found == expected
    assert {f.id for f in found if f.projected is not None} >= {"margin", "both"}
    assert calls.rows() == sorted(
        (f.id, f.projected, f.target, f.target_period.label, f.deadline, f.probability)
        for f in found
        if f.unit == own[f.id] and f.on_track is False
    )
