"""Refreshes in one process, as `los serve` runs them: one Store for many refreshes, the kept
scorecard brought up to date once after all sources, and definitions read again only when an
apply changed them."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lineofsight.services import refresh as refresh_module
from lineofsight.services.refresh import refresh
from lineofsight.store.database import Store
from tests.conftest import Los
from tests.sources.facts import MONTH, duckdb_facts, execute, stored, strategy


def _kpi(kpi: str, source: str, region: str) -> dict[str, Any]:
    query = (
        f"select {MONTH['duckdb']} as period, sum(amount) as value from orders "
        f"where region = '{region}' and day >= :since group by 1"
    )
    return {"id": kpi, "source": {"from": source, "query": query}}


@pytest.fixture
def two_sources(los: Los, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two named sources on one DuckDB file of orders, a KPI each, applied."""
    monkeypatch.setenv("FACTS_URL", duckdb_facts(tmp_path))
    sources = {"north_db": {"url": "env:FACTS_URL"}, "south_db": {"url": "env:FACTS_URL"}}
    kpis = [_kpi("revenue_north", "north_db", "north"), _kpi("revenue_south", "south_db", "south")]
    (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0


@pytest.mark.usefixtures("two_sources")
def test_the_kept_scorecard_is_brought_up_to_date_once_for_all_sources(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept: list[Store] = []
    monkeypatch.setattr(refresh_module, "refresh_kept", kept.append)
    store = Store(db_url)
    try:
        report = refresh(store)
        assert [s.state for s in report.sources] == ["ok", "ok"]
        assert all(s.added > 0 for s in report.sources)
        assert kept == [store]  # once, after both sources wrote
        assert all(dict(s.timings).keys() == {"read", "check", "write"} for s in report.sources)
        again = refresh(store)
        assert all(s.added == s.replaced == 0 for s in again.sources)
        assert kept == [store] and again.upkeep == 0.0  # nothing written: nothing to keep
    finally:
        store.close()


@pytest.mark.usefixtures("two_sources")
def test_a_failing_upkeep_after_the_write_fails_no_source(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(store: Store) -> None:
        raise ValueError("the scorecard could not be patched")

    monkeypatch.setattr(refresh_module, "refresh_kept", broken)
    store = Store(db_url)
    try:
        report = refresh(store)
    finally:
        store.close()
    # The values are committed before the upkeep: the refresh says so, and the store has them.
    assert [(s.state, s.error) for s in report.sources] == [("ok", None), ("ok", None)]
    written = {row[0] for row in stored(db_url)}
    assert written == {"revenue_north", "revenue_south"}


@pytest.mark.usefixtures("two_sources")
def test_one_store_reads_the_definitions_again_after_an_apply(
    workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = refresh_module.read_fed_kpis

    def counted(conn: Any) -> Any:
        reads.append(1)
        return real(conn)

    monkeypatch.setattr(refresh_module, "read_fed_kpis", counted)
    store = Store(db_url)
    try:
        refresh(store)
        refresh(store)
        assert len(reads) == 1  # the same definitions: read once
        # An apply adds a KPI (and its load rules) while the process holds its store.
        sources = {"north_db": {"url": "env:FACTS_URL"}, "south_db": {"url": "env:FACTS_URL"}}
        kpis = [
            _kpi("revenue_north", "north_db", "north"),
            _kpi("revenue_south", "south_db", "south"),
            _kpi("revenue_all_north", "north_db", "north"),
        ]
        (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
        # From another process, as beside `los serve`.
        applied = subprocess.run(
            [sys.executable, "-m", "lineofsight", "apply", "strategy.yaml", "--db", db_url],
            capture_output=True,
            text=True,
            check=False,
        )
        assert applied.returncode == 0, applied.stderr
        report = refresh(store, kpis=["revenue_all_north"])
    finally:
        store.close()
    assert len(reads) == 2
    (summary,) = report.sources
    assert (summary.state, summary.kpis) == ("ok", ("revenue_all_north",))
    assert summary.added > 0
    north = {row[2:4] for row in stored(db_url) if row[0] == "revenue_north"}
    assert {row[2:4] for row in stored(db_url) if row[0] == "revenue_all_north"} == north


@pytest.mark.usefixtures("two_sources")
def test_a_refresh_leaves_the_kept_scorecard_up_to_date(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After a refresh that replaces values (a late correction) of two sources, today's kept
    scorecard covers them: brought up to date once, with nothing logged as failed."""
    from lineofsight.store.scorecards import read_marks, read_snapshot_marks

    store = Store(db_url)
    try:
        refresh(store)  # the first write of values keeps today's scorecard
        execute(os.environ["FACTS_URL"], "UPDATE orders SET amount = amount + 1000")
        with caplog.at_level(logging.INFO, logger="lineofsight"):
            report = refresh(store)
        assert all(s.replaced > 0 for s in report.sources)
        assert not [r for r in caplog.records if "kept scorecard" in r.getMessage()]
        with store.reading() as conn:
            marks = read_marks(conn)
            kept = [read_snapshot_marks(conn, dt.date.today(), lag) for lag in (True, False)]
        assert marks in kept  # today's scorecard covers the corrected values
    finally:
        store.close()
