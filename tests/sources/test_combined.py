"""Many KPIs' queries in one statement: queries of one shape are sent to the source together
(UNION ALL, each with its own `:since`), on SQLite, DuckDB and PostgreSQL sources, into a
store on SQLite and on PostgreSQL; what is stored is what each query gives alone, and a
failing query is still named by its KPI."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lineofsight import sources as kinds
from lineofsight.sources import combined
from tests.conftest import Los
from tests.sources.facts import (
    MONTH,
    ORDERS,
    duckdb_facts,
    postgresql_facts,
    sqlite_facts,
    stored,
    strategy,
    table_counts,
)


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def facts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(engine, URL) of a fact table of orders."""
    engine = request.param
    folder = tmp_path / "facts"
    folder.mkdir()
    if engine == "sqlite":
        yield engine, sqlite_facts(folder)
    elif engine == "duckdb":
        yield engine, duckdb_facts(folder)
    else:
        with postgresql_facts(request.getfixturevalue("pg_url")) as url:
            yield engine, url


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of queries in each combined statement sent (the real statement runs)."""
    sent: list[int] = []
    real = kinds.fetch_parts

    def counted(*args: Any, **kwargs: Any) -> list[pl.DataFrame]:
        sent.append(kwargs["count"])
        return real(*args, **kwargs)

    monkeypatch.setattr(kinds, "fetch_parts", counted)
    return sent


def region_kpis(engine: str) -> list[dict[str, Any]]:
    """Three KPIs of one shape (one region each, `west` has no orders), two whose query has a
    CTE, two whose query has its own ORDER BY and LIMIT, and one that runs alone."""
    month = MONTH[engine]
    kpis: list[dict[str, Any]] = []
    for region in ("north", "south", "west"):
        query = (
            f"select {month} as period, sum(amount) as value from orders "
            f"where region = '{region}' and day >= :since group by 1"
        )
        kpis.append({"id": f"revenue_{region}", "source": {"from": "facts", "query": query}})
    for region in ("north", "south"):
        query = (
            f"with picked as (select {month} as period, amount from orders "
            f"where region = '{region}' and day >= :since) "
            "select period, count(*) as value from picked group by period"
        )
        kpis.append({"id": f"orders_{region}", "source": {"from": "facts", "query": query}})
    for region in ("north", "south"):
        query = (
            f"select {month} as period, max(amount) as value from orders "
            f"where region = '{region}' and day >= :since group by 1 order by 1 desc limit 3"
        )
        kpis.append({"id": f"latest_{region}", "source": {"from": "facts", "query": query}})
    # A shape of its own: it runs alone.
    query = f"select {month} as period, sum(amount) as value from orders group by 1 -- all"
    kpis.append({"id": "revenue_all", "source": {"from": "facts", "query": query}})
    return kpis


def expected() -> dict[tuple[str, str], float]:
    """What each KPI's query gives alone, from the facts: (kpi, period) -> value."""
    sums: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    tops: dict[tuple[str, str], float] = {}
    for day, region, amount, _ in ORDERS:
        period = day.strftime("%Y-%m")
        sums[(f"revenue_{region}", period)] += amount
        sums[("revenue_all", period)] += amount
        counts[(f"orders_{region}", period)] += 1
        tops[(f"latest_{region}", period)] = max(tops.get((f"latest_{region}", period), 0), amount)
    latest = {key: value for key, value in tops.items() if key[1] >= "2026-08"}  # limit 3
    return {**sums, **counts, **latest}


def test_queries_of_one_shape_share_a_statement(
    los: Los,
    workdir: Path,
    db_url: str,
    facts: tuple[str, str],
    statements: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, url = facts
    monkeypatch.setenv("FACTS_URL", url)
    (workdir / "strategy.yaml").write_text(
        strategy({"facts": {"url": "env:FACTS_URL"}}, region_kpis(engine))
    )
    assert los("apply", "strategy.yaml").exit_code == 0

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["sources"][0]
    # The three regions, the two CTEs and the two ORDER BY ... LIMIT queries went together;
    # the query of a shape of its own ran alone.
    assert sorted(statements) == [2, 2, 3]
    values = {(kpi, period): value for kpi, _, period, value, *_ in stored(db_url)}
    assert values == pytest.approx(expected())
    assert summary["rows_read"] == summary["added"] == len(expected())
    # Each KPI's write keeps its own provenance: its own query's fingerprint and rows.
    writes = _writes(db_url)
    assert writes["revenue_north"] == (10, _fingerprint(region_kpis(engine)[0]))
    assert writes["latest_south"] == (3, _fingerprint(region_kpis(engine)[6]))
    assert "revenue_west" not in writes  # no rows: nothing written, no provenance


def test_a_failing_query_of_a_combined_statement_is_named(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 'abc' is no number: DuckDB refuses the comparison, as it does alone.
    url = duckdb_facts(tmp_path)
    monkeypatch.setenv("FACTS_URL", url)
    kpis = [
        {
            "id": kpi,
            "source": {
                "from": "facts",
                "query": "select date_trunc('month', day) as period, sum(amount) as value "
                f"from orders where amount > '{bound}' and day >= :since group by 1",
            },
        }
        for kpi, bound in (("big", "50"), ("broken", "abc"), ("any", "0"))
    ]
    (workdir / "strategy.yaml").write_text(strategy({"facts": {"url": "env:FACTS_URL"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    before = table_counts(db_url)

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["state"] == "failed"
    assert summary["reason"] == "query"
    assert summary["error"].startswith("kpi broken: the query failed: ")
    assert "abc" in summary["error"]
    # All or nothing: the good KPIs' values are not stored either.
    after = table_counts(db_url)
    assert {k: after[k] for k in ("measurements", "loads", "source_marks")} == {
        k: before[k] for k in ("measurements", "loads", "source_marks")
    }


def test_a_statement_the_source_refuses_whole_runs_its_queries_alone(
    los: Los,
    workdir: Path,
    db_url: str,
    facts: tuple[str, str],
    statements: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # More rows together than one statement may give, few enough for each query alone.
    monkeypatch.setattr("lineofsight.sources.sql.MAX_ROWS", 15)
    engine, url = facts
    monkeypatch.setenv("FACTS_URL", url)
    kpis = region_kpis(engine)[:2]  # north and south: 10 rows each
    (workdir / "strategy.yaml").write_text(strategy({"facts": {"url": "env:FACTS_URL"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    assert statements == [2]
    values = {(kpi, period): value for kpi, _, period, value, *_ in stored(db_url)}
    want = {
        key: value
        for key, value in expected().items()
        if key[0] in ("revenue_north", "revenue_south")
    }
    assert values == pytest.approx(want)


def test_incremental_reads_from_each_queries_own_since(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = duckdb_facts(tmp_path)
    monkeypatch.setenv("FACTS_URL", url)
    kpis = region_kpis("duckdb")[:2]
    (workdir / "strategy.yaml").write_text(strategy({"facts": {"url": "env:FACTS_URL"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    # North refreshed alone first, to October: its :since is then August (two periods back);
    # south has never been refreshed and reads everything.
    assert los("refresh", "revenue_north").exit_code == 0
    summary = json.loads(los("refresh", "--all", "--format", "json").stdout)["sources"][0]
    assert summary["since"]["revenue_north"] == "2026-08-01"
    assert summary["since"]["revenue_south"] < "2000-01-01"
    assert summary["rows_read"] == 3 + 10
    assert (summary["added"], summary["unchanged"]) == (10, 3)


def _fingerprint(kpi: dict[str, Any]) -> str:
    from lineofsight.domain.sources import fingerprint

    return fingerprint(kpi["source"]["query"])


def _writes(db_url: str) -> dict[str, tuple[int, str]]:
    from sqlalchemy import text

    from lineofsight.store.database import Store

    store = Store(db_url)
    try:
        with store.reading() as conn:
            rows = conn.execute(text("SELECT kpi_id, rows, fingerprint FROM source_writes")).all()
    finally:
        store.close()
    return {kpi: (rows, fp) for kpi, rows, fp in rows}


@pytest.mark.parametrize(
    ("first", "second", "together"),
    [
        # Literals compared with differ: one shape.
        (
            "select a from t where p = 'x' and d >= :since",
            "select a from t where p = 'y' and d >= :since",
            True,
        ),
        ("select a from t where p in ('x', 'y')", "select a from t where p in ('z')", False),
        ("select a from t where p in ('x', 'y')", "select a from t where p in ('z', 'w')", True),
        (
            "select a from t where n between 1 and 5",
            "select a from t where n between 2 and 9",
            True,
        ),
        ("select a from t where n > 1.5", "select a from t where n > 2", True),
        # A literal in what the query gives may change a column's type: not one shape.
        ("select 'x' as unit, a from t", "select 'yy' as unit, a from t", False),
        ("select date_trunc('month', d) from t", "select date_trunc('year', d) from t", False),
        ("select a from 'x.parquet'", "select a from 'y.parquet'", False),
        ("select a from t;", "select a from t", True),
    ],
)
def test_shape(first: str, second: str, together: bool) -> None:
    one, two = combined.shape(first), combined.shape(second)
    assert one is not None and two is not None
    assert (one.key == two.key) is together


@pytest.mark.parametrize(
    "query",
    [
        "select a from t; select b from t",  # two statements
        "pragma table_info('t')",
        "values (1, 2)",
        "from t select a",  # DuckDB's FROM first
        "select a from t where p = 'it\\'s'",  # a backslash escape
        "select a from t where p = ':since'",  # a parameter inside a literal
        "select a from t -- since :since\nwhere d > 1",
        "select $$x$$ from t",
        "select a from t where d > :since:x",
    ],
)
def test_queries_that_run_alone(query: str) -> None:
    assert combined.shape(query) is None


def test_combined_statement_keeps_each_query_and_its_parameters() -> None:
    text = "with m as (select 1 as v where :since > 0) select v from m order by v limit 1"
    shape = combined.shape(text + " ;")
    assert shape is not None and shape.text == text
    statement = combined.combine(
        [(shape.text, {"since": 1}), ("select :since::int as v", {"since": 2})]
    )
    assert statement.params == {"since__p0": 1, "since__p1": 2}
    assert ":since__p0 > 0" in statement.statement
    assert ":since__p1::int" in statement.statement
    assert statement.statement.count("UNION ALL") == 1
    assert statement.statement.startswith(f"SELECT 0 AS {combined.TAG}, q.* FROM (\nwith m")


def test_the_kept_scorecard_is_brought_up_to_date_only_after_a_change(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept: list[object] = []
    monkeypatch.setattr("lineofsight.services.refresh.refresh_kept", kept.append)
    url = duckdb_facts(tmp_path)
    monkeypatch.setenv("FACTS_URL", url)
    kpis = region_kpis("duckdb")[:2]
    (workdir / "strategy.yaml").write_text(strategy({"facts": {"url": "env:FACTS_URL"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0

    first = json.loads(los("refresh", "--all", "--format", "json").stdout)["sources"][0]
    assert first["added"] == 20
    assert len(kept) == 1
    assert set(first["timings"]) == {"read", "check", "write"}
    again = json.loads(los("refresh", "--all", "--format", "json").stdout)["sources"][0]
    assert (again["added"], again["replaced"]) == (0, 0)
    assert len(kept) == 1  # nothing written: nothing to bring up to date
