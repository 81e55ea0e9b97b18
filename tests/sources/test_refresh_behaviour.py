"""What `los refresh` promises whatever the engine: all or nothing per source, a failing source
never stops the others, a dry run writes nothing, an incremental refresh reads from its
`:since` (a late correction inside the look-back is picked up, older history is not), every
change is kept as a revision with its provenance, and each failure has a one-line reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lineofsight.store.database import Store
from tests.conftest import Los
from tests.sources.facts import execute, sqlite_facts, stored, strategy, table_counts

MONTH = "strftime('%Y-%m', day)"
REVENUE = (
    f"select {MONTH} as period, sum(amount) as value, region as unit from orders "
    "where day >= :since group by 1, 3"
)
COUNT = f"select {MONTH} as period, count(*) as value from orders where day >= :since group by 1"


def query_kpi(kpi_id: str, query: str, source: str = "lite") -> dict[str, object]:
    return {"id": kpi_id, "source": {"from": source, "query": query}}


@pytest.fixture
def facts_url(tmp_path: Path) -> str:
    folder = tmp_path / "facts"
    folder.mkdir()
    return sqlite_facts(folder)


def apply(los: Los, workdir: Path, text_: str) -> None:
    (workdir / "strategy.yaml").write_text(text_)
    result = los("apply", "strategy.yaml")
    assert result.exit_code == 0, result.output


def test_a_bad_row_in_the_third_of_four_kpis_stores_nothing_of_the_source(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    kpis = [
        query_kpi("revenue", REVENUE),
        query_kpi("orders", COUNT),
        # The third KPI's query names a region the organisation does not have.
        query_kpi(
            "regions",
            f"select {MONTH} as period, count(*) as value, case when region = 'south' "
            "then 'nowhere' else region end as unit from orders where day >= :since group by 1, 3",
        ),
        query_kpi(
            "big_orders",
            COUNT.replace("from orders", "from orders where amount > 50 and").replace(
                "where day", "day"
            ),
        ),
    ]
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, kpis))
    # A value entered by hand before: the failed refresh must leave it as it was.
    (workdir / "hand.csv").write_text("kpi,period,value\nrevenue,2026-01,999\n")
    assert los("load", "hand.csv").exit_code == 0
    before, counts = stored(db_url), table_counts(db_url)

    result = los("refresh", "--all")
    assert result.exit_code == 1
    assert "Failed lite (rows): 10 bad rows; nothing was stored" in result.stderr
    assert "source lite, kpi regions: row 2: column unit: unknown unit 'nowhere'" in result.stderr
    assert "Traceback" not in result.output
    assert stored(db_url) == before
    assert table_counts(db_url) == counts

    runs = json.loads(los("sources", "--format", "json").stdout)["sources"][0]
    assert runs["state"] == "failed"
    assert runs["last_run"]["error"].startswith("rows: 10 bad rows")
    assert (
        "source lite, kpi regions: row 2: column unit: unknown unit 'nowhere'"
        in (runs["last_run"]["problems"])
    )


def test_a_query_error_in_one_kpi_stores_nothing_of_the_source(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    kpis = [
        query_kpi("revenue", REVENUE),
        query_kpi("orders", COUNT),
        query_kpi("refunds", "select period, value from refunds where period >= :since"),
    ]
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, kpis))
    counts = table_counts(db_url)
    result = los("refresh", "--all")
    assert result.exit_code == 1
    # The source has three queries: the message names the KPI whose query failed.
    assert "Failed lite (query): kpi refunds: the query failed:" in result.stderr
    assert "no such table: refunds" in result.stderr
    assert table_counts(db_url) == counts


def test_a_failing_source_does_not_stop_the_others(
    los: Los, workdir: Path, db_url: str, facts_url: str, tmp_path: Path
) -> None:
    sources = {
        "down": {"url": "postgresql+psycopg://los@127.0.0.1:9/nothing", "timeout": 5},
        "lite": {"url": facts_url},
        "missing": {"url": "env:LOS_TEST_UNSET_SOURCE_URL"},
    }
    kpis = [
        query_kpi("remote", COUNT, "down"),
        query_kpi("revenue", REVENUE, "lite"),
        query_kpi("elsewhere", COUNT, "missing"),
    ]
    apply(los, workdir, strategy(sources, kpis))
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summaries = {s["source"]: s for s in json.loads(result.stdout)["sources"]}
    assert summaries["lite"]["state"] == "ok"
    assert summaries["lite"]["added"] == 20
    assert summaries["down"]["reason"] == "unreachable"
    assert summaries["down"]["error"].startswith("cannot connect:")
    assert "\n" not in summaries["down"]["error"]
    assert summaries["missing"]["reason"] == "secret"
    assert summaries["missing"]["error"] == (
        "environment variable LOS_TEST_UNSET_SOURCE_URL is not set"
    )
    text_result = los("refresh", "--all")
    assert (
        "Failed missing (secret): environment variable LOS_TEST_UNSET_SOURCE_URL is not set"
        in text_result.stderr
    )
    assert len({row[:3] for row in stored(db_url)}) == 20


def test_dry_run_writes_nothing(los: Los, workdir: Path, db_url: str, facts_url: str) -> None:
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", REVENUE)]))
    counts = table_counts(db_url)
    result = los("refresh", "revenue", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run of lite: 20 rows read: would add 20, replace 0; 0 unchanged" in result.stdout
    assert table_counts(db_url) == counts
    assert json.loads(los("sources", "--format", "json").stdout)["sources"][0]["state"] == "never"


def test_incremental_refresh_reads_from_since(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", REVENUE)]))
    first = json.loads(los("refresh", "revenue", "--format", "json").stdout)["sources"][0]
    assert first["since"] == {"revenue": "1900-01-01"}  # nothing refreshed yet: everything
    assert first["added"] == 20

    # Late corrections at the source: September (inside the look-back of two months before
    # October, the last month refreshed) and March (outside it).
    execute(facts_url, "UPDATE orders SET amount = amount + 5 WHERE day = '2026-09-05'")
    execute(facts_url, "UPDATE orders SET amount = amount + 7 WHERE day = '2026-03-05'")
    second = json.loads(los("refresh", "revenue", "--format", "json").stdout)["sources"][0]
    assert second["since"] == {"revenue": "2026-08-01"}
    assert (second["rows_read"], second["added"], second["replaced"]) == (6, 0, 1)
    values = {(k, u, p): (v, rev) for k, u, p, v, _n, _d, rev in stored(db_url)}
    assert values[("revenue", "north", "2026-09")] == (95.0, 2)
    assert values[("revenue", "north", "2026-03")] == (30.0, 1)  # outside: not read

    full = json.loads(los("refresh", "revenue", "--full", "--format", "json").stdout)
    assert full["sources"][0]["since"] == {"revenue": "1900-01-01"}
    assert full["sources"][0]["replaced"] == 1
    values = {(k, u, p): (v, rev) for k, u, p, v, _n, _d, rev in stored(db_url)}
    assert values[("revenue", "north", "2026-03")] == (37.0, 2)


def test_each_change_is_a_revision_with_its_provenance(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", REVENUE)]))
    assert los("refresh", "revenue").exit_code == 0
    execute(facts_url, "UPDATE orders SET amount = 1000 WHERE day = '2026-10-20'")
    assert los("refresh", "revenue").exit_code == 0
    fingerprint = hashlib.sha256(REVENUE.encode()).hexdigest()
    store = Store(db_url)
    try:
        with store.reading() as conn:
            old = conn.execute(
                text(
                    "SELECT value, source FROM measurement_revisions WHERE kpi_id = 'revenue' "
                    "AND unit_id = 'south' AND period = '2026-10'"
                )
            ).one()
            now = conn.execute(
                text(
                    "SELECT m.value, m.revision, l.source, w.fingerprint, w.rows, w.source "
                    "FROM measurements m JOIN loads l ON l.id = m.load_id "
                    "JOIN source_writes w ON w.load_id = m.load_id "
                    "WHERE m.kpi_id = 'revenue' AND m.unit_id = 'south' AND m.period = '2026-10'"
                )
            ).one()
    finally:
        store.close()
    assert old == (101.0, f"source lite: query {fingerprint[:12]}, 20 rows")
    assert now == (
        1000.0,
        2,
        f"source lite: query {fingerprint[:12]}, 6 rows",
        fingerprint,
        6,
        "lite",
    )
    history = los("measurement", "history", "revenue", "2026-10", "--unit", "south")
    assert history.exit_code == 0, history.output
    assert f"source lite: query {fingerprint[:12]}" in history.stdout


def test_a_changed_query_reads_every_period_again(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", REVENUE)]))
    assert los("refresh", "revenue").exit_code == 0
    changed = REVENUE.replace("sum(amount)", "sum(amount) * 2")
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", changed)]))
    summary = json.loads(los("refresh", "revenue", "--format", "json").stdout)["sources"][0]
    assert summary["since"] == {"revenue": "1900-01-01"}
    assert summary["replaced"] == 20


def test_a_query_past_its_timeout_is_stopped(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    endless = (
        "with recursive n(i) as (select 1 union all select i + 1 from n) "
        "select '2026-01' as period, count(*) as value from n where :since is not null"
    )
    kpis = [{"id": "endless", "source": {"from": "lite", "query": endless, "timeout": 0.5}}]
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, kpis))
    result = los("refresh", "endless")
    assert result.exit_code == 1
    assert "Failed lite (timeout): the query ran longer than 0.5 s and was stopped" in (
        result.stderr
    )


@pytest.mark.postgres
def test_postgresql_statement_timeout(los: Los, workdir: Path, db_url: str, pg_url: str) -> None:
    slow = "select '2026-01' as period, 1 as value from pg_sleep(30) where :since is not null"
    kpis = [{"id": "slow", "source": {"from": "pg", "query": slow}}]
    apply(los, workdir, strategy({"pg": {"url": pg_url, "timeout": 1}}, kpis))
    result = los("refresh", "slow", "--format", "json")
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["reason"] == "timeout"
    assert summary["error"] == "the query ran longer than 1 s and was stopped"
    assert summary["duration"] < 25  # stopped by the server, long before pg_sleep ends


def test_refresh_arguments(los: Los, workdir: Path, db_url: str, facts_url: str) -> None:
    apply(
        los,
        workdir,
        strategy(
            {"lite": {"url": facts_url}}, [query_kpi("revenue", REVENUE), {"id": "manual_kpi"}]
        ),
    )
    nothing = los("refresh")
    assert nothing.exit_code == 2
    assert "give KPI ids, --source NAME, --all or --due" in nothing.stderr
    unknown = los("refresh", "revenu")
    assert unknown.exit_code == 2
    assert "unknown KPI 'revenu' (did you mean 'revenue'?)" in unknown.stderr
    manual = los("refresh", "manual_kpi")
    assert manual.exit_code == 2
    assert "KPI 'manual_kpi' has no source to refresh" in manual.stderr
    assert los("refresh", "--source", "lte").exit_code == 2
    assert los("refresh", "--source", "lite").exit_code == 0


def test_a_duckdb_query_past_its_timeout_is_interrupted(
    los: Los, workdir: Path, db_url: str, tmp_path: Path
) -> None:
    from tests.sources.facts import duckdb_facts

    folder = tmp_path / "duck"
    folder.mkdir()
    url = duckdb_facts(folder)
    endless = (
        "select '2026-01' as period, count(*) as value from range(100000000000000) "
        "where :since is not null"
    )
    kpis = [{"id": "endless", "source": {"from": "duck", "query": endless, "timeout": 0.5}}]
    apply(los, workdir, strategy({"duck": {"url": url}}, kpis))
    result = los("refresh", "endless")
    assert result.exit_code == 1
    assert "Failed duck (timeout): the query ran longer than 0.5 s and was stopped" in (
        result.stderr
    )


def test_los_sources_lists_each_source_with_its_last_run(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    sources = {"lite": {"url": facts_url}, "crm": {"url": "env:LOS_TEST_UNSET_CRM_URL"}}
    kpis = [
        {"id": "revenue", "source": {"from": "lite", "query": REVENUE, "schedule": "daily"}},
        {"id": "leads", "source": {"from": "crm", "query": COUNT, "schedule": "0 6 * * 1-5"}},
    ]
    apply(los, workdir, strategy(sources, kpis))
    before = los("sources")
    assert before.exit_code == 0
    assert "lite (sql, daily)\n  KPIs: revenue\n  last run: never\n  next run: " in before.stdout
    assert los("refresh", "--all").exit_code == 1
    after = los("sources").stdout
    assert "ok at " in after
    assert ": 20 rows read, 20 added, 0 replaced, 0 unchanged" in after
    assert "crm (sql, 0 6 * * 1-5)\n  KPIs: leads\n  last run: failed at " in after
    assert "  last error: secret: environment variable LOS_TEST_UNSET_CRM_URL is not set" in after
    listed = json.loads(los("sources", "--format", "json").stdout)["sources"]
    assert [(s["name"], s["state"], s["settings"]) for s in listed] == [
        ("lite", "ok", {"url": facts_url}),
        ("crm", "failed", {"url": "env:LOS_TEST_UNSET_CRM_URL"}),
    ]


def test_scheduled_jobs_refresh_the_kpis_of_their_schedule(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    from lineofsight.errors import SourceError
    from lineofsight.services.refresh import refresh_jobs

    kpis = [
        {"id": "revenue", "source": {"from": "lite", "query": REVENUE, "schedule": "daily"}},
        {"id": "orders", "source": {"from": "lite", "query": COUNT, "schedule": "hourly"}},
        {"id": "leads", "source": {"from": "crm", "query": COUNT, "schedule": "daily"}},
    ]
    sources = {"lite": {"url": facts_url}, "crm": {"url": "env:LOS_TEST_UNSET_CRM_URL"}}
    apply(los, workdir, strategy(sources, kpis))
    store = Store(db_url)
    try:
        jobs = {job.key: job for job in refresh_jobs(store)}
        assert sorted(jobs) == ["crm:daily", "lite:daily", "lite:hourly"]
        line = jobs["lite:hourly"].run(store)
        assert line.startswith("lite: 10 rows read, added 10, replaced 0, unchanged 0 in ")
        assert {row[0] for row in stored(db_url)} == {"orders"}  # not the daily KPI
        with pytest.raises(SourceError) as failed:
            jobs["crm:daily"].run(store)
        assert "environment variable LOS_TEST_UNSET_CRM_URL is not set" in str(failed.value)
    finally:
        store.close()
    runs = json.loads(los("sources", "--format", "json").stdout)["sources"]
    assert {s["name"]: s["last_run"]["trigger"] for s in runs} == {
        "lite": "schedule",
        "crm": "schedule",
    }


def test_los_refresh_due_runs_each_scheduled_refresh_once_until_it_is_due_again(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    kpis = [
        {"id": "revenue", "source": {"from": "lite", "query": REVENUE, "schedule": "daily"}},
        {"id": "orders", "source": {"from": "lite", "query": COUNT}},  # no schedule: no job
        {"id": "leads", "source": {"from": "crm", "query": COUNT, "schedule": "hourly"}},
    ]
    sources = {"lite": {"url": facts_url}, "crm": {"url": "env:LOS_TEST_UNSET_CRM_URL"}}
    apply(los, workdir, strategy(sources, kpis))
    listed = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    assert sorted(j["key"] for j in listed) == [
        "refresh:crm:hourly",
        "refresh:lite:daily",
        "scorecard:keep",
    ]
    first = los("refresh", "--due")
    assert first.exit_code == 1  # the source without its secret failed
    assert "ran refresh:lite:daily: lite: 20 rows read, added 20" in first.stdout
    assert "FAILED refresh:crm:hourly: " in first.stdout
    assert "LOS_TEST_UNSET_CRM_URL is not set" in first.stdout
    assert {row[0] for row in stored(db_url)} == {"revenue"}  # only the scheduled KPI
    again = los("refresh", "--due")
    assert again.exit_code == 0, again.stdout  # the daily one ran; the failed one waits
    assert again.stdout.strip() == "Nothing is due."
    assert los("refresh", "--due", "--all").exit_code == 2
    # The notifications' sender is a job only once the strategy file has `notifications:`.
    assert los("notify", "--due").stdout.strip() == "Nothing is due."


def test_los_sources_shows_the_next_run_the_scheduler_will_make(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    kpis = [
        {"id": "revenue", "source": {"from": "lite", "query": REVENUE, "schedule": "daily"}},
        {"id": "leads", "source": {"from": "crm", "query": COUNT, "schedule": "hourly"}},
    ]
    sources = {"lite": {"url": facts_url}, "crm": {"url": "env:LOS_TEST_UNSET_CRM_URL"}}
    apply(los, workdir, strategy(sources, kpis))

    def next_runs() -> tuple[dict[str, str], dict[str, str]]:
        listed = json.loads(los("sources", "--format", "json").stdout)["sources"]
        jobs = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
        return (
            {s["name"]: s["next_run"] for s in listed},
            {j["key"].split(":")[1]: j["next_due"] for j in jobs},
        )

    # A by-hand refresh that went well is next refreshed at its schedule's next time (the
    # daily one tomorrow at 02:00); the one that failed is due at once.
    assert los("refresh", "--all").exit_code == 1
    sources_next, jobs_next = next_runs()
    assert sources_next.keys() == {"lite", "crm"}
    now = dt.datetime.now(dt.UTC)
    assert sources_next["lite"].endswith("T02:00:00+00:00")
    assert dt.datetime.fromisoformat(sources_next["lite"]) > now
    assert dt.datetime.fromisoformat(sources_next["crm"]) <= now
    # After the scheduler ran them: the daily one tomorrow, the failed one at its retry (a
    # minute later, not at the next hour).
    assert los("refresh", "--due").exit_code == 1
    sources_next, jobs_next = next_runs()
    assert sources_next["lite"].endswith("T02:00:00+00:00")
    for name, when in sources_next.items():
        due = dt.datetime.fromisoformat(jobs_next[name]).replace(microsecond=0)
        assert dt.datetime.fromisoformat(when) == due


def test_a_query_with_more_than_200_bad_rows_says_how_many(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    # 500 rows of units the organisation does not have: the real count, and the rest said.
    many = (
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 500) "
        "select '2026-01' as period, i as value, 'nowhere' || i as unit from n"
    )
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", many)]))
    result = los("refresh", "--all")
    assert result.exit_code == 1
    assert "Failed lite (rows): 500 bad rows; nothing was stored" in result.stderr
    assert "row 200: column unit: unknown unit 'nowhere200'" in result.stderr
    assert "row 201:" not in result.stderr
    assert "... and 300 more bad rows" in result.stderr
    assert stored(db_url) == []


def test_a_source_no_kpi_uses_says_so(los: Los, workdir: Path, facts_url: str) -> None:
    sources = {"lite": {"url": facts_url}, "spare": {"url": facts_url}}
    apply(los, workdir, strategy(sources, [query_kpi("revenue", REVENUE)]))
    listed = los("sources")
    assert listed.exit_code == 0
    assert "lite (sql, when asked (no schedule))\n  KPIs: revenue\n" in listed.stdout
    assert "spare (sql, when asked (no schedule))\n  KPIs: none (no KPI takes values from " in (
        listed.stdout
    )
    assert "KPIs: \n" not in listed.stdout and not any(
        line != line.rstrip() for line in listed.stdout.splitlines()
    )


def test_a_kpis_own_query_with_a_bad_column_is_told_the_columns_it_may_return(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    own = REVENUE.replace("sum(amount) as value", "sum(amount) as amount")
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", own)]))
    result = los("refresh", "revenue")
    assert result.exit_code == 1
    expected = "expected period, value, unit, numerator, denominator, note"
    assert f"source lite, kpi revenue: header: unknown column amount: {expected}\n" in (
        result.stderr
    )
    assert "expected kpi" not in result.stderr
    assert stored(db_url) == []


def test_a_refreshed_value_that_looks_like_a_slip_is_stored_with_a_warning_everywhere(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    from lineofsight.services.refresh import RefreshJob

    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("revenue", REVENUE)]))
    first = los("refresh", "--all")
    assert first.exit_code == 0, first.output
    assert "Warning" not in first.stderr
    # Cents for euros: October's north orders 100 times too large (100 against 10 to 90).
    execute(
        facts_url,
        "update orders set amount = amount * 100 where day like '2026-10%' and region = 'north'",
    )
    warning = (
        "KPI revenue at unit north, 2026-10: 10,000 is 200 times the usual size of the last 9 "
        "values here (median 50): check for a misplaced decimal point, a missing or extra zero, "
        "or a percentage typed as a fraction (the value is stored)"
    )

    result = los("refresh", "revenue", "--full")
    assert result.exit_code == 0, result.output
    assert "0 added, 1 replaced" in result.stdout
    assert f"Warning: lite: {warning}" in " ".join(result.stderr.split())
    assert ("revenue", "north", "2026-10", 10000.0) in [row[:4] for row in stored(db_url)]
    # Unchanged values are not judged again: the next refresh warns of nothing.
    again = json.loads(los("refresh", "revenue", "--full", "--format", "json").stdout)
    assert again["sources"][0]["warnings"] == []

    execute(
        facts_url, "update orders set amount = 0.9 where day like '2026-09%' and region = 'south'"
    )
    answer = json.loads(los("refresh", "revenue", "--full", "--format", "json").stdout)
    assert answer["sources"][0]["replaced"] == 1
    assert [w.split(":")[0] for w in answer["sources"][0]["warnings"]] == [
        "KPI revenue at unit south, 2026-09"
    ]
    # The run keeps them: `los sources` (text and JSON) and the scheduler's line say them.
    listed = los("sources")
    assert "warning: KPI revenue at unit south, 2026-09: 0.9 is 1/" in listed.stdout
    run = json.loads(los("sources", "--format", "json").stdout)["sources"][0]["last_run"]
    assert run["state"] == "ok"
    assert run["warnings"] == answer["sources"][0]["warnings"]
    assert run["problems"] == []
    execute(
        facts_url, "update orders set amount = 1 where day like '2026-08%' and region = 'south'"
    )
    store = Store(db_url)
    try:
        line = RefreshJob("lite:daily", "daily", "lite", ("revenue",)).run(store)
    finally:
        store.close()
    assert "replaced 1" in line
    assert "; warning: KPI revenue at unit south, 2026-08: 1 is 1/" in line


def test_a_row_that_overlaps_a_stored_period_is_named_by_its_kpi_and_the_querys_row(
    los: Los, workdir: Path, db_url: str, facts_url: str
) -> None:
    months = "select '2026-08' as period, 1 as value union all select '2026-09', 2"
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("deals", months)]))
    assert los("refresh", "deals").exit_code == 0
    # Rows of periods not ended yet come before the bad row: set aside, they still count.
    later = (
        "select '2026-07' as period, '5' as value union all select '2027-05', '6' "
        "union all select '2027-06', '6' union all select '2026-08-15', '3'"
    )
    apply(los, workdir, strategy({"lite": {"url": facts_url}}, [query_kpi("deals", later)]))
    for dry in ((), ("--dry-run",)):
        result = los("refresh", "deals", *dry)
        assert result.exit_code == 1
        assert result.stderr.startswith("Failed lite (rows): 1 bad row; nothing was stored\n")
        assert (
            "  source lite, kpi deals: row 4: column period: 2026-08-15 shares days with "
            "2026-08, already stored for (deals, acme)"
        ) in result.stderr
    assert [row[2] for row in stored(db_url)] == ["2026-08", "2026-09"]


def test_refused_credentials_and_a_missing_database_are_not_unreachable(
    los: Los, workdir: Path, pg_url: str, tmp_path: Path
) -> None:
    # The test server trusts its local connections: a user it does not have is the
    # credentials it refuses (as a wrong password is, where it asks for one).
    server = make_url(pg_url)
    sources = {
        "nobody": {"url": server.set(username="nobody_here").render_as_string(False)},
        "nodb": {"url": server.set(database="no_such_db").render_as_string(False)},
        "nofile": {"url": f"sqlite:///{tmp_path / 'no_such.sqlite'}"},
        "down": {"url": "postgresql+psycopg://los@127.0.0.1:9/nothing", "timeout": 5},
    }
    kpis = [query_kpi(f"k_{name}", COUNT, name) for name in sources]
    apply(los, workdir, strategy(sources, kpis))
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    reasons = {s["source"]: (s["reason"], s["error"]) for s in json.loads(result.stdout)["sources"]}
    assert reasons["nobody"][0] == "secret"
    assert 'role "nobody_here" does not exist' in reasons["nobody"][1]
    assert reasons["nodb"][0] == "setup"
    assert 'database "no_such_db" does not exist' in reasons["nodb"][1]
    assert reasons["nofile"] == (
        "setup",
        f"the database file {tmp_path / 'no_such.sqlite'} does not exist (a relative path is "
        "read from the current folder)",
    )
    assert not (tmp_path / "no_such.sqlite").exists()  # no empty database made there
    assert reasons["down"][0] == "unreachable"
