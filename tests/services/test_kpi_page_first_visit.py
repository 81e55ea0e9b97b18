"""The first visit of a KPI page makes its parts from that KPI's own data, with the same numbers
as the commands: a value table of a few KPIs (the page's) has the values of the whole table,
the explanation from the page's one read of the KPI's measurements is `los explain`'s, and
the chart's forecast is `los forecast`'s."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from lineofsight.domain.graph import organisation_graph
from lineofsight.domain.periods import parse_period, periods_between
from lineofsight.engine.values import ValueTable, measurements_frame
from lineofsight.errors import UsageError
from lineofsight.services.checkin import record_measurement
from lineofsight.services.evaluate import load_organization
from lineofsight.services.explain import explain_change
from lineofsight.services.forecast import forecast_store
from lineofsight.services.kpi_series import (
    chart_values,
    held_ends,
    kpi_chart,
    kpi_frame,
    log_entries,
    page_rows,
)
from lineofsight.spec.files import parse_strategy
from lineofsight.store.database import Store
from lineofsight.store.measurements import kpi_page_rows, kpi_revisions, kpi_values
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

AS_OF = dt.date(2026, 10, 31)

# More formula KPIs than KPIs in a page's table, so that a table of one KPI's measurements walks
# up from it to the formulas reading it, and more measured KPIs than formulas, so that the whole
# table walks down every formula: monthly inputs read by quarterly and yearly formulas (fiscal
# year from April), formulas of formulas.
_FORMULAS = {
    "q_sum": ("quarterly", "a + b"),
    "q_diff": ("quarterly", "a - c"),
    "q_ratio": ("quarterly", "b / c * 100"),
    "y_sum": ("yearly", "a + b + c"),
    "m_mix": ("monthly", "a * 2 + d"),
    "q_nest": ("quarterly", "q_sum - q_diff"),
    "y_nest": ("yearly", "y_sum / 3"),
    "q_deep": ("quarterly", "q_nest + q_ratio"),
    "m_d": ("monthly", "d - a"),
    "q_d": ("quarterly", "m_d + d"),
    "y_d": ("yearly", "q_d * 2"),
    "m_a": ("monthly", "a + 1"),
}
_INPUTS = {"a": "sum", "b": "mean", "c": "last", "d": "max"} | {f"e{n}": "sum" for n in range(12)}


def _organisation() -> object:
    kpis = [
        f"  - {{id: {k}, name: {k}, unit: co, frequency: monthly, direction: increase, "
        f"aggregation: {agg}, across_units: sum}}"
        for k, agg in _INPUTS.items()
    ]
    kpis += [
        f"  - {{id: {k}, name: {k}, unit: co, frequency: {freq}, direction: increase, "
        f"formula: {formula}}}"
        for k, (freq, formula) in _FORMULAS.items()
    ]
    return parse_strategy(
        "version: 1\norganization:\n  name: Few\n  calendar: {fiscal_year_start: 4}\n"
        "  units:\n    - {id: co, name: Co, level: company}\n"
        "    - {id: east, name: East, level: department, parent: co}\n"
        "    - {id: west, name: West, level: department, parent: co}\n"
        "kpis:\n" + "\n".join(kpis) + "\n",
        "few.yaml",
    )


def _measurements(org: object) -> pl.DataFrame:
    rows = []
    calendar = org.calendar  # type: ignore[attr-defined]
    months = periods_between(
        parse_period("2026-02", calendar), parse_period("2027-05", calendar), calendar
    )
    for n, month in enumerate(months):
        for i, kpi in enumerate(_INPUTS):
            for unit in ("east", "west") if i % 2 else ("co",):
                if (n + i) % 5 == 3:
                    continue  # some months without a value
                value = float((n + 1) * (i + 2) + len(unit))
                rows.append(
                    {
                        "kpi_id": kpi,
                        "unit_id": unit,
                        "period_start": month.start,
                        "period_end": month.end,
                        "value": value,
                        "numerator": None,
                        "denominator": None,
                    }
                )
    return measurements_frame(rows)


def test_a_table_of_one_kpis_measurements_has_the_values_of_the_whole_table() -> None:
    org = _organisation()
    data = _measurements(org)
    whole = ValueTable(org, data)  # type: ignore[arg-type]
    graph = organisation_graph(org)  # type: ignore[arg-type]
    calendar = org.calendar  # type: ignore[attr-defined]
    compared = 0
    for kpi in org.kpis:  # type: ignore[attr-defined]
        read = graph.read_through([kpi.id])
        few = ValueTable(org, data.filter(pl.col("kpi_id").is_in(sorted(read))))  # type: ignore[arg-type]
        assert len(few._values) < len(graph.formulas) <= len(whole._values)  # up; down
        first = parse_period("2026-02-01", calendar)
        last = parse_period("2027-05-31", calendar)
        for frequency in {kpi.frequency, *(graph.kpis[k].frequency for k in read)}:
            for period in _periods_of(frequency.value, first.start, last.end, calendar):
                for unit in ("co", "east", "west"):
                    for kpi_id in read:
                        assert few.value(kpi_id, period, unit) == whole.value(
                            kpi_id, period, unit
                        ), (kpi.id, kpi_id, period.label, unit)
                        compared += 1
    assert compared > 1000
    assert whole.value("y_d", next(iter(_periods_of("yearly", AS_OF, AS_OF, calendar)))) is not None


def test_a_charts_values_are_the_tables_value_of_each_period_drawn() -> None:
    """The chart takes each period's actual from the KPI's series (its periods with a value):
    the same as the table's value of that period, for measured KPIs and formulas of every
    frequency (fiscal quarters and years), at the KPI's unit and at the units below it."""
    org = _organisation()
    whole = ValueTable(org, _measurements(org))  # type: ignore[arg-type]
    calendar = org.calendar  # type: ignore[attr-defined]
    shown = 0
    for as_of in (AS_OF, dt.date(2027, 5, 31), dt.date(2026, 2, 10)):
        for kpi in org.kpis:  # type: ignore[attr-defined]
            for unit in ("co", "east", "west"):
                chart = kpi_chart(None, org, kpi.id, unit, as_of, whole)  # type: ignore[arg-type]
                for point in chart.points:
                    period = parse_period(point.period, calendar)
                    expected = whole.value(kpi.id, period, unit) if period.end <= as_of else None
                    assert point.actual == expected, (kpi.id, unit, point.period, as_of)
                    shown += point.actual is not None
    assert shown > 500


def test_a_series_asked_again_is_the_same_and_its_own() -> None:
    """The table keeps the last series it made (a page's chart and its forecast both ask for
    it): asked again, the same values, in a list of the caller's own."""
    org = _organisation()
    table = ValueTable(org, _measurements(org))  # type: ignore[arg-type]
    first = table.series("a", "co")
    assert first and first == table.series("a", "co")
    first.clear()
    assert table.series("a", "co") != [] and table.series("a", "east") != table.series("a", "co")
    fresh = ValueTable(org, _measurements(org))  # type: ignore[arg-type]
    for kpi_id in ("a", "q_sum", "y_nest", "m_mix"):
        for unit in ("co", "east", "west"):
            assert table.series(kpi_id, unit) == fresh.series(kpi_id, unit)
            assert table.series(kpi_id, unit) == fresh.series(kpi_id, unit)


def _periods_of(frequency: str, first: dt.date, last: dt.date, calendar: object) -> list:  # type: ignore[type-arg]
    from lineofsight.domain import model as m
    from lineofsight.engine.calendar import period_for

    kind = m.Frequency(frequency)
    return periods_between(
        period_for(first, kind, calendar),  # type: ignore[arg-type]
        period_for(last, kind, calendar),  # type: ignore[arg-type]
        calendar,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, "techinnovate")  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


def test_the_pages_explanation_and_forecast_are_the_commands(store: Store) -> None:
    org = load_organization(store)
    forecasts = {(f.id, f.unit): f for f in forecast_store(store, AS_OF).forecasts}
    explained = reused = 0
    for kpi in org.kpis:
        frame = kpi_frame(store, org, kpi.id)
        chart = kpi_chart(store, org, kpi.id, kpi.unit, AS_OF, chart_values(org, frame, AS_OF))
        assert chart == kpi_chart(store, org, kpi.id, kpi.unit, AS_OF)
        if chart.forecast is not None:
            assert chart.forecast == forecasts[(kpi.id, kpi.unit)]
        measured = [p.period for p in chart.points if p.actual is not None]
        # The page's default (the last two measured periods) and a wider span.
        for p0, p1 in {(measured[i], measured[-1]) for i in (0, -2)} if len(measured) > 1 else ():
            try:
                expected = explain_change(store, kpi.id, p0, p1, org=org).explanation
            except UsageError as exc:
                with pytest.raises(UsageError, match=str(exc)[:40]):
                    explain_change(store, kpi.id, p0, p1, org=org, frame=frame)
                continue
            assert explain_change(store, kpi.id, p0, p1, org=org, frame=frame).explanation == (
                expected
            )
            # From the chart's values: a measured KPI's are the explanation's own.
            table = chart_values(org, frame, AS_OF)
            assert explain_change(store, kpi.id, p0, p1, org=org, table=table).explanation == (
                expected
            )
            explained += 1
            reused += kpi.formula is None
    assert explained > 20 and reused > 20


def test_the_pages_one_read_is_the_stores_reads(store: Store) -> None:
    """The page's read (plain SQL through the driver) gives the rows of `kpi_frame` and the
    log that the store's own reads of values and revisions give, replaced values included."""
    for value, note in ((2.0, "cleared"), (3.5, None)):
        record_measurement(
            store, kpi_id="t2_backlog_days", unit_id=None, period="2026-10", value=value,
            note=note, actor="tests",
        )  # fmt: skip
    org = load_organization(store)
    logged = revised = 0
    held = held_ends(store)
    assert len(held) > 10 and list(held) == sorted(set(held))
    for kpi in org.kpis:
        rows = page_rows(store, org, kpi.id)
        assert sorted(rows.measurements) == sorted(kpi_frame(store, org, kpi.id))
        # The same rows, in the same order, when the page gives the last days held.
        assert page_rows(store, org, kpi.id, held) == rows
        if kpi.id == "t2_backlog_days":
            assert rows.values and page_rows(store, org, kpi.id, held[:-1]) != rows
        with store.reading() as conn:
            current = kpi_values(conn, kpi.id, newest_first=True)
            earlier = kpi_revisions(conn, kpi.id, newest_first=True)
        expected, ends = [], []
        for row in current:
            replaced = [
                old
                for old in earlier
                if (old["unit_id"], old["period"]) == (row["unit_id"], row["period"])
            ]
            for old, now in ((row, True), *((old, False) for old in replaced)):
                expected.append((
                    row["unit_id"], row["period"], old["value"], old["note"], old["revision"],
                    old["recorded_at"], old["source"], now,
                ))  # fmt: skip
                ends.append(row["period_end"])
        entries = log_entries(rows)
        found = [
            (e.unit, e.period, e.value, e.note, e.revision, e.recorded_at, e.source, e.current)
            for e in entries
        ]
        assert found == expected
        assert [e.period_end for e in entries] == ends
        logged += len(found)
        revised += sum(not e.current for e in entries)
    assert logged > 100 and revised == 2


def test_the_pages_read_is_one_snapshot(store: Store) -> None:
    """The page's two statements (values, then what they replaced) see one state of the
    store: a check-in written while a page reads does not show half-way (on PostgreSQL in
    one REPEATABLE READ transaction)."""
    org = load_organization(store)
    with store.reading() as conn:
        before = kpi_page_rows(conn, "t2_backlog_days", ["t2_backlog_days"])
        record_measurement(
            store, kpi_id="t2_backlog_days", unit_id=None, period="2026-10", value=2.0,
            actor="tests",
        )  # fmt: skip
        again = kpi_page_rows(conn, "t2_backlog_days", ["t2_backlog_days"])
    assert again == before and not before.revisions
    after = page_rows(store, org, "t2_backlog_days")
    assert after != before and len(after.revisions) == 1
