"""A refresh is the source's picture of the cells it read: a value the source wrote, inside the
window its refresh read again, that it no longer gives is removed (kept as a revision, with an
audit row saying why), in the refresh's transaction; a value entered or loaded by hand, one of
a period read only in part, and one of a KPI the source gave no row at all are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from lineofsight.services.audit import read_audit
from lineofsight.store.database import Store
from tests.conftest import Los
from tests.sources.facts import execute, sqlite_facts, stored, strategy

MONTH = "strftime('%Y-%m', day)"
REVENUE = (
    f"select {MONTH} as period, region as unit, sum(amount) as value from orders "
    "where day >= :since group by 1, 2"
)


@pytest.fixture
def facts_url(tmp_path: Path) -> str:
    folder = tmp_path / "facts"
    folder.mkdir()
    return sqlite_facts(folder)


@pytest.fixture
def refreshed(los: Los, workdir: Path, facts_url: str) -> str:
    """A store whose revenue (north and south, January to October 2026) came from the
    source; the facts' URL."""
    kpis = [{"id": "revenue", "source": {"from": "lite", "query": REVENUE}}]
    (workdir / "strategy.yaml").write_text(strategy({"lite": {"url": facts_url}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    first = los("refresh", "revenue")
    assert first.exit_code == 0, first.output
    assert "20 added" in first.stdout
    return facts_url


def values(db_url: str) -> dict[tuple[str, str], float]:
    return {(unit, period): value for _k, unit, period, value, *_ in stored(db_url)}


def summary(los: Los, *args: str) -> dict[str, object]:
    result = los("refresh", "revenue", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)["sources"][0]
    return found


def test_orders_moved_to_another_region_leave_no_value_behind(
    los: Los, db_url: str, refreshed: str
) -> None:
    # October's south orders are booked to the north at the source: the month's total is
    # the same, south has no October any more.
    execute(refreshed, "UPDATE orders SET region = 'north' WHERE day = '2026-10-20'")
    dry = los("refresh", "revenue", "--full", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would add 0, replace 1, remove 1; 18 unchanged" in dry.stdout
    assert ("south", "2026-10") in values(db_url)

    result = los("refresh", "revenue", "--full")
    assert result.exit_code == 0, result.output
    assert "Refreshed lite: 19 rows read: 0 added, 1 replaced, 18 unchanged, 1 removed" in (
        result.stdout
    )
    now = values(db_url)
    assert ("south", "2026-10") not in now
    assert now[("north", "2026-10")] == 100.0 + 101.0
    status = json.loads(los("status", "--period", "2026-10", "--format", "json").stdout)
    revenue = next(k for k in status["kpis"] if k["id"] == "revenue")
    assert revenue["actual"] == pytest.approx(201.0)  # not 302: south's old value is gone

    # Kept as a revision, and the audit says who and why, as after `los measurement delete`.
    store = Store(db_url)
    try:
        with store.reading() as conn:
            kept = conn.execute(
                text(
                    "SELECT value, replaced_at FROM measurement_revisions WHERE kpi_id = "
                    "'revenue' AND unit_id = 'south' AND period = '2026-10'"
                )
            ).all()
        entries = read_audit(store, subject="measurement:revenue/south/2026-10")
    finally:
        store.close()
    assert [value for value, _ in kept] == [101.0]
    assert [(e.action, e.before["value"], e.after) for e in entries] == [
        ("measurement.delete", 101.0, {"reason": "source lite no longer gives it"})
    ]
    history = los("measurement", "history", "revenue", "2026-10", "--unit", "south")
    assert "deleted" in history.stdout
    assert "source lite no longer gives it" in history.stdout

    # The source gives the same again: nothing to remove.
    again = summary(los, "--full")
    assert (again["removed"], again["replaced"], again["added"]) == (0, 0, 0)


def test_only_the_window_read_is_the_sources_picture(los: Los, db_url: str, refreshed: str) -> None:
    # March (before the look-back) and September (inside it) lose their south orders.
    execute(refreshed, "DELETE FROM orders WHERE region = 'south' AND day < '2026-04-01'")
    execute(refreshed, "DELETE FROM orders WHERE region = 'south' AND day LIKE '2026-09%'")
    incremental = summary(los)
    assert incremental["since"] == {"revenue": "2026-08-01"}
    assert incremental["removed"] == 1
    now = values(db_url)
    assert ("south", "2026-09") not in now
    assert ("south", "2026-03") in now  # not read: kept

    full = summary(los, "--full")
    assert full["removed"] == 3
    assert not {("south", p) for p in ("2026-01", "2026-02", "2026-03")} & set(values(db_url))


def test_values_entered_by_hand_stay(los: Los, db_url: str, workdir: Path, refreshed: str) -> None:
    (workdir / "typed.csv").write_text("kpi,unit,period,value\nrevenue,south,2026-11,7\n")
    assert los("load", "typed.csv").exit_code == 0
    (workdir / "fix.csv").write_text("kpi,unit,period,value\nrevenue,north,2026-05,8\n")
    assert los("load", "fix.csv").exit_code == 0  # a correction of a value of the source
    execute(refreshed, "DELETE FROM orders WHERE region = 'north' AND day LIKE '2026-05%'")
    full = summary(los, "--full")
    assert full["removed"] == 0
    now = values(db_url)
    assert now[("south", "2026-11")] == 7.0  # the source gives no November: left
    assert now[("north", "2026-05")] == 8.0  # last written by hand: left


def test_a_source_that_gives_no_row_removes_nothing(los: Los, db_url: str, refreshed: str) -> None:
    execute(refreshed, "DELETE FROM orders")
    result = los("refresh", "revenue", "--full")
    assert result.exit_code == 0, result.output
    assert "0 rows read: 0 added, 0 replaced, 0 unchanged" in result.stdout
    assert "kpi revenue: the source gave no row; its 20 stored values" in result.stdout
    assert len(values(db_url)) == 20
    assert summary(los, "--full")["kept"] == {"revenue": 20}


def test_the_window_begins_on_since(los: Los, db_url: str, workdir: Path, facts_url: str) -> None:
    # A weekly KPI whose source gives each day's value: the look-back counts weeks.
    daily = (
        "select day as period, region as unit, sum(amount) as value "
        "from orders where day >= :since group by 1, 2"
    )
    kpis = [{"id": "revenue", "frequency": "weekly", "source": {"from": "lite", "query": daily}}]
    (workdir / "strategy.yaml").write_text(strategy({"lite": {"url": facts_url}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    assert los("refresh", "revenue").exit_code == 0
    # The last day refreshed is 2026-10-20 (week 43, from Monday 2026-10-19); two weeks
    # before it begin on Monday 2026-10-05: that day is read again, 2026-09-20 is not.
    execute(facts_url, "DELETE FROM orders WHERE day IN ('2026-10-05', '2026-09-20')")
    result = summary(los)
    assert result["since"] == {"revenue": "2026-10-05"}
    assert result["removed"] == 1
    periods = {p for _u, p in values(db_url)}
    assert "2026-10-05" not in periods
    assert "2026-09-20" in periods
