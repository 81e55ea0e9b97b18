"""A KPI's page reads its forecast from the whole organisation's forecast kept for the attention
lists: the very forecast the page would fit itself, for every KPI of the examples and of an
organisation of formulas, seasons, weeks and fiscal quarters, on SQLite and PostgreSQL; and
after a check-in, the one that write brought up to date; never one made before a write not
brought up to date (the page then fits it, until the lists bring the kept one up to date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lineofsight.domain import model as m
from lineofsight.engine.forecast import Forecast, forecast_kpi
from lineofsight.services import attention_forecast, kpi_series
from lineofsight.services.attention_forecast import kept_forecast, off_track
from lineofsight.services.checkin import record_measurement
from lineofsight.services.evaluate import load_organization
from lineofsight.services.kpi_series import chart_values, kpi_chart, kpi_frame
from lineofsight.store.database import Store
from tests.conftest import Los
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)
from tests.services.test_forecast_frame import STRATEGY, _rows

AS_OF = dt.date(2026, 11, 22)


def _fitted(store: Store, org: m.Organization, kpi: m.Kpi, as_of: dt.date = AS_OF) -> Forecast:
    """The forecast a KPI's page fits itself (at the KPI's own unit)."""
    assert kpi.target is not None
    values = chart_values(org, kpi_frame(store, org, kpi.id), as_of)
    return forecast_kpi(values, kpi, kpi.unit, kpi.target.value, kpi.target.by, as_of)


def _every_kept_is_fitted(store: Store) -> list[Forecast]:
    """Keep the whole organisation's forecast; each KPI's kept forecast is the one fitted."""
    off_track(store, AS_OF)
    org = load_organization(store)
    kept = []
    for kpi in org.kpis:
        if kpi.target is None:
            continue
        found = kept_forecast(store, kpi, kpi.unit, AS_OF, org.calendar)
        assert found is not None, kpi.id
        assert found == _fitted(store, org, kpi), kpi.id
        kept.append(found)
    return kept


@pytest.fixture(params=["manufacturing", "techinnovate", "globalhealth"])
def example(request: pytest.FixtureRequest, unmade_db_url: str) -> Iterator[Store]:
    copy_example(request, unmade_db_url, request.param)  # as `los init --example` leaves it
    store = Store(unmade_db_url)
    yield store
    store.close()


def test_every_kpi_of_the_examples_reads_the_forecast_it_would_fit(example: Store) -> None:
    kept = _every_kept_is_fitted(example)
    assert sum(f.projected is not None for f in kept) >= 10


def test_formulas_seasons_weeks_and_fiscal_quarters_read_what_they_would_fit(
    los: Los, tmp_path: Path
) -> None:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(STRATEGY % 4)  # fiscal quarters
    assert los("apply", str(strategy)).exit_code == 0
    rows = [(r["kpi_id"], r["unit_id"], r["period"], r["value"]) for r in _rows(4)]
    values = tmp_path / "values.csv"
    pl.DataFrame(rows, schema=["kpi", "unit", "period", "value"], orient="row").write_csv(values)
    loaded = los("load", str(values))
    assert loaded.exit_code == 0, loaded.output
    assert los.db_url is not None
    store = Store(los.db_url)
    try:
        kept = _every_kept_is_fitted(store)
    finally:
        store.close()
    methods = {f.id: f.method for f in kept}
    # A formula (profit), a seasonal series, a weekly KPI with a bound, daily values of a
    # monthly KPI: each read back as fitted.
    assert methods["sales"] == "seasonal" and methods["profit"] != "no_forecast"
    assert methods["rate"] == "damped_trend" and methods["visits"] == "damped_trend"


def test_the_page_reads_the_forecast_kept_after_a_check_in_and_fits_when_not_kept(
    example: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = example
    org = load_organization(store)
    kpi = next(
        k
        for k in org.kpis
        if k.target is not None
        and k.formula is None
        and k.ratio is None
        and k.frequency is m.Frequency.MONTHLY
        and _fitted(store, org, k).projected is not None
    )
    off_track(store, AS_OF)
    before = _fitted(store, org, kpi)
    fits: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Forecast:
        fits.append(args[1].id)
        return forecast_kpi(*args, **kwargs)

    monkeypatch.setattr(kpi_series, "forecast_kpi", counted)
    assert kpi_chart(store, org, kpi.id, kpi.unit, AS_OF).forecast == before
    assert fits == []  # read, not fitted
    # Another day than the kept one's: fitted.
    other = AS_OF - dt.timedelta(days=1)
    assert kpi_chart(store, org, kpi.id, kpi.unit, other).forecast == _fitted(
        store, org, kpi, other
    )
    assert fits == [kpi.id]

    high = kpi.bounds.max if kpi.bounds is not None and kpi.bounds.max is not None else 1e6
    record_measurement(
        store, kpi_id=kpi.id, unit_id=kpi.unit, period="2026-10", value=high, actor="t"
    )
    after = _fitted(store, org, kpi)
    assert after != before
    # The check-in brought the kept forecast up to date: the page reads the new one, no fit.
    assert kept_forecast(store, kpi, kpi.unit, AS_OF, org.calendar) == after
    assert kpi_chart(store, org, kpi.id, kpi.unit, AS_OF).forecast == after
    assert fits == [kpi.id]
    # A write the kept forecast is not brought up to date after (made before it): fitted.
    monkeypatch.setattr(attention_forecast, "refresh_kept_forecast", lambda *_: None)
    record_measurement(
        store, kpi_id=kpi.id, unit_id=kpi.unit, period="2026-09", value=high, actor="t"
    )
    again = _fitted(store, org, kpi)
    assert kept_forecast(store, kpi, kpi.unit, AS_OF, org.calendar) is None
    assert kpi_chart(store, org, kpi.id, kpi.unit, AS_OF).forecast == again
    assert fits == [kpi.id, kpi.id]
    # The lists bring the kept forecast up to date: the page reads the new one.
    off_track(store, AS_OF)
    assert kept_forecast(store, kpi, kpi.unit, AS_OF, org.calendar) == again
    assert kpi_chart(store, org, kpi.id, kpi.unit, AS_OF).forecast == again
    assert fits == [kpi.id, kpi.id]


def test_after_a_move_down_and_up_every_kpi_reads_its_forecast_again(example: Store) -> None:
    """A forecast kept before the move (no page rows with it after the move up) is not brought
    up to date with the few KPIs written since: it is made again in full, with every row."""
    from tests.store.test_migrations import _at

    off_track(example, AS_OF)
    _at(example, "0025", down=True)
    _at(example, "head")
    org = load_organization(example)
    kpi = next(k for k in org.kpis if k.target is not None)
    record_measurement(
        example, kpi_id=kpi.id, unit_id=kpi.unit, period="2026-10", value=1.0, actor="t"
    )
    _every_kept_is_fitted(example)


def test_a_first_visits_reads_are_one_connection_with_the_kept_forecast(example: Store) -> None:
    """The page's rows and its kept forecast are read in one connection of the store, and the
    chart drawn from them is the one `kpi_chart` draws reading the forecast itself."""
    from sqlalchemy import event

    store = example
    org = load_organization(store)
    off_track(store, AS_OF)
    checkouts: list[object] = []

    def checked_out(*args: object) -> None:
        checkouts.append(args)

    event.listen(store.engine, "checkout", checked_out)
    try:
        for kpi in org.kpis:
            checkouts.clear()
            reads = kpi_series.page_reads(store, org, kpi.id, None, kpi.unit, AS_OF)
            assert len(checkouts) == 1, kpi.id
            assert reads.rows == kpi_series.page_rows(store, org, kpi.id)
            kept = kept_forecast(store, kpi, kpi.unit, AS_OF, org.calendar)
            assert reads.forecast == (kept if kpi.target is not None else None), kpi.id
            values = chart_values(org, reads.rows.measurements, AS_OF)
            drawn = kpi_chart(
                store, org, kpi.id, kpi.unit, AS_OF, values, kept=lambda r=reads: r.forecast
            )
            assert drawn == kpi_chart(store, org, kpi.id, kpi.unit, AS_OF), kpi.id
    finally:
        event.remove(store.engine, "checkout", checked_out)
