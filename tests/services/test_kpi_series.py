"""A KPI over time for the pages: the same numbers as the scorecard and the forecast, from
only the measurements those KPIs need; the measurement log with its revisions."""

from __future__ import annotations

import datetime as dt

import pytest

from lineofsight.services.checkin import record_measurement
from lineofsight.services.evaluate import load_organization, status_with_definitions
from lineofsight.services.forecast import forecast_store
from lineofsight.services.kpi_series import (
    kpi_chart,
    measured_sources,
    measurement_log,
    recent_values,
)
from lineofsight.store.database import Store
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, "techinnovate")  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


def test_sparklines_end_on_the_scorecard_values(store: Store) -> None:
    org = load_organization(store)
    _defs, ev = status_with_definitions(store, as_of=AS_OF.isoformat())
    rows = {(r["id"], r["unit"]): r for r in ev.kpis.iter_rows(named=True)}
    for unit in ("techinnovate", "customer_service", "support_t2"):
        ids = [k for (k, u) in rows if u == unit]
        series = recent_values(store, org, ids, unit, AS_OF, count=8)
        assert set(series) == set(ids)
        for kpi_id, points in series.items():
            row = rows[(kpi_id, unit)]
            assert len(points) == 8
            assert points[-1].period == row["period"]
            if row["actual"] is None:
                assert points[-1].actual is None
            else:
                assert points[-1].actual == pytest.approx(row["actual"])
            assert [p.start for p in points] == sorted(p.start for p in points)


def test_chart_runs_from_the_first_value_to_the_deadline_with_the_forecast(store: Store) -> None:
    org = load_organization(store)
    chart = kpi_chart(store, org, "market_share_pct", "techinnovate", AS_OF)
    assert chart.points[0].period == "2024-Q4" and chart.points[0].actual == 11.3
    assert chart.points[-1].period == "2027-Q4" and chart.points[-1].target == 18.0
    assert all(p.actual is None for p in chart.points if p.start > AS_OF)
    expected = next(
        f for f in forecast_store(store, AS_OF).forecasts
        if f.id == "market_share_pct" and f.unit == "techinnovate"
    )  # fmt: skip
    assert chart.forecast == expected


def test_formula_kpis_read_their_inputs(store: Store) -> None:
    org = load_organization(store)
    formulas = [k for k in org.kpis if k.formula]
    for kpi in formulas:
        assert kpi.id in measured_sources(org, [kpi.id])
        assert len(measured_sources(org, [kpi.id])) > 1


def test_log_lists_revisions_after_the_current_value(store: Store) -> None:
    record_measurement(
        store, kpi_id="t2_backlog_days", unit_id=None, period="2026-10", value=2.0,
        note="cleared", actor="tests",
    )  # fmt: skip
    log = [e for e in measurement_log(store, "t2_backlog_days") if e.period == "2026-10"]
    assert [(e.value, e.revision, e.current) for e in log] == [(2.0, 2, True), (5.1, 1, False)]
    assert log[0].note == "cleared"


def test_the_measurement_log_is_of_one_state_beside_a_check_in(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A check-in that replaces the KPI's value commits between the page's two statements (its
    # values, then the values they replaced): the log shows the store before it or after it,
    # never a replaced value without the value that replaced it (PostgreSQL's READ COMMITTED
    # would, outside one REPEATABLE READ transaction).
    from lineofsight.store import measurements

    kpi = "t2_backlog_days"
    before = measurement_log(store, kpi)
    assert before and before[0].current
    side = Store(store.url)
    side.arrow_sqlite = False  # the same SQLite library as the page's reads, in this process

    class Between(str):
        def format(self, *args: object, **kwargs: object) -> str:
            record_measurement(
                side, kpi_id=kpi, unit_id=before[0].unit, period=before[0].period,
                value=(before[0].value or 0) + 1, actor="tests",
            )  # fmt: skip
            return str.format(self, *args, **kwargs)

    monkeypatch.setattr(measurements, "_PAGE_REVISIONS", Between(measurements._PAGE_REVISIONS))
    try:
        log = measurement_log(store, kpi)
    finally:
        side.close()
    monkeypatch.undo()
    after = measurement_log(store, kpi)
    assert after != before
    assert log == before
