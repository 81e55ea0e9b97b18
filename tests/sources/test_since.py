"""Which KPIs a source feeds, and from which day a refresh reads them again (`:since`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lineofsight.domain import model as m
from lineofsight.domain.sources import FIRST_DAY, Feed, since
from lineofsight.services.refresh import refresh_jobs
from lineofsight.spec.files import parse_strategy
from lineofsight.store.database import Store
from tests.sources.facts import strategy


def feed(frequency: m.Frequency, look_back: int = 2) -> Feed:
    return Feed("s", m.SourceKind.SQL, "k", frequency, (), "select 1", look_back=look_back)


@pytest.mark.parametrize(
    ("last", "frequency", "look_back", "calendar", "expected"),
    [
        ("2026-10", m.Frequency.MONTHLY, 2, m.Calendar(), dt.date(2026, 8, 1)),
        ("2026-01", m.Frequency.MONTHLY, 2, m.Calendar(), dt.date(2025, 11, 1)),
        ("2026-10", m.Frequency.MONTHLY, 0, m.Calendar(), dt.date(2026, 10, 1)),
        ("2026-Q3", m.Frequency.QUARTERLY, 1, m.Calendar(), dt.date(2026, 4, 1)),
        ("FY2027-Q1", m.Frequency.QUARTERLY, 2, m.Calendar(7), dt.date(2026, 1, 1)),
        ("2026-W02", m.Frequency.WEEKLY, 2, m.Calendar(), dt.date(2025, 12, 22)),
        # A value finer than the KPI's frequency: the look-back counts the KPI's periods.
        ("2026-10-17", m.Frequency.MONTHLY, 1, m.Calendar(), dt.date(2026, 9, 1)),
        ("1900-02", m.Frequency.MONTHLY, 5, m.Calendar(), FIRST_DAY),
        (None, m.Frequency.MONTHLY, 2, m.Calendar(), FIRST_DAY),
    ],
)
def test_since(
    last: str | None,
    frequency: m.Frequency,
    look_back: int,
    calendar: m.Calendar,
    expected: dt.date,
) -> None:
    assert since(last, feed(frequency, look_back), calendar) == expected
    assert since(last, feed(frequency, look_back), calendar, full=True) == FIRST_DAY


def test_one_job_per_source_and_schedule(tmp_path: object) -> None:
    kpis = [
        {"id": "a", "source": {"from": "db", "query": "select 1", "schedule": "daily"}},
        {"id": "b", "source": {"from": "db", "query": "select 2", "schedule": "hourly"}},
        {"id": "c", "source": {"from": "db", "query": "select 3", "schedule": "daily"}},
        {"id": "d", "source": {"from": "db", "query": "select 4"}},
        {"id": "e", "source": {"kind": "file", "path": "x.csv", "schedule": "weekly"}},
    ]
    org = parse_strategy(strategy({"db": {"url": "env:DB_URL"}}, kpis))
    store = Store("sqlite://")
    try:
        from lineofsight.services.apply import apply_organization

        apply_organization(store, org, source="strategy.yaml")
        jobs = [(j.key, j.schedule_text, j.source, j.kpis) for j in refresh_jobs(store)]
    finally:
        store.close()
    assert jobs == [
        ("db:daily", "daily", "db", ("a", "c")),
        ("db:hourly", "hourly", "db", ("b",)),
        ("e:weekly", "weekly", "e", ("e",)),
    ]


def test_queries_of_one_refresh_share_a_connection(tmp_path: Path) -> None:
    from lineofsight.sources import batch, fetch
    from lineofsight.sources import sql as sql_kind
    from tests.sources.facts import sqlite_facts

    url = sqlite_facts(tmp_path)
    query = "select strftime('%Y-%m', day) as period, count(*) as value from orders group by 1"
    with batch():
        first = fetch("sql", {"url": url}, query, {}, timeout=30)
        shared = sql_kind._SHARED.get()
        assert shared is not None and list(shared.held) == [url]
        held = shared.held[url]
        second = fetch("sql", {"url": url}, query, {}, timeout=30)
        assert shared.held == {url: held}  # the same connection, open between queries
        worker = shared.worker
        assert worker is not None and worker.thread.is_alive()  # one thread for every query
    assert first.equals(second) and first.height == 10
    assert held.conn.closed  # closed once the refresh is over, and its thread ended
    worker.thread.join(5)
    assert not worker.thread.is_alive()
    assert sql_kind._SHARED.get() is None
