"""A source's own query that gives many KPIs' rows at once (its `kpi` column naming each row's
KPI by the KPI's `key:`): one read of the facts for all of them, on real engines; its rows are
checked, split and written exactly as each KPI's own query's would be."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Los
from tests.sources.facts import (
    MONTH,
    duckdb_facts,
    execute,
    postgresql_facts,
    sqlite_facts,
    stored,
    strategy,
    table_counts,
)


def shared(month: str, extra: str = "") -> str:
    """Revenue and order counts of each region and month, one query: kpi names the measure."""
    return (
        f"select 'revenue' as kpi, {month} as period, sum(amount) as value, region as unit "
        f"from orders where day >= :since {extra} group by 2, 4 "
        f"union all select 'count' as kpi, {month} as period, count(*) as value, region as unit "
        f"from orders where day >= :since {extra} group by 2, 4"
    )


KPIS = [
    {"id": "revenue", "source": {"from": "facts"}},  # key: its id
    {"id": "orders", "source": {"from": "facts", "key": "count"}},
]


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def facts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
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


def apply(los: Los, workdir: Path, text: str) -> None:
    (workdir / "strategy.yaml").write_text(text)
    result = los("apply", "strategy.yaml")
    assert result.exit_code == 0, result.output


def refresh(los: Los, *args: str) -> dict[str, object]:
    result = los("refresh", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)["sources"][0]
    return found


def test_one_query_fills_many_kpis_on_each_engine(
    los: Los, workdir: Path, db_url: str, facts: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, url = facts
    monkeypatch.setenv("FACTS_URL", url)
    source = {"url": "env:FACTS_URL", "query": shared(MONTH[engine])}
    apply(los, workdir, strategy({"facts": source}, KPIS))

    summary = refresh(los, "--all")
    # 10 months x 2 regions x 2 KPIs, from one query.
    assert (summary["rows_read"], summary["added"], summary["replaced"]) == (40, 40, 0)
    values = {(k, u, p): v for k, u, p, v, _, _, _ in stored(db_url)}
    assert values[("revenue", "south", "2026-10")] == 101.0
    assert values[("orders", "north", "2026-03")] == 1.0
    assert len(values) == 40

    # Each KPI's provenance names the one query, and both had the same :since.
    history = los("measurement", "history", "orders", "2026-03", "--unit", "north")
    assert "source facts: query" in history.output, history.output
    assert summary["since"] == {"revenue": "1900-01-01", "orders": "1900-01-01"}

    again = refresh(los, "--all")
    assert again["added"] == again["replaced"] == 0 and again["unchanged"] == 12
    # Incremental: from two months before October, for both.
    assert again["since"] == {"revenue": "2026-08-01", "orders": "2026-08-01"}


def test_rows_read_are_those_of_the_kpis_refreshed(
    los: Los, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a file source's: the query's rows of the source's other KPIs are left for their own
    # refresh, and not counted as read for this one.
    monkeypatch.setenv("FACTS_URL", sqlite_facts(tmp_path))
    source = {"url": "env:FACTS_URL", "query": shared(MONTH["sqlite"])}
    apply(los, workdir, strategy({"facts": source}, KPIS))
    only = refresh(los, "revenue")
    assert (only["kpis"], only["rows_read"], only["added"]) == (["revenue"], 20, 20)
    both = refresh(los, "--all", "--full")
    assert (both["rows_read"], both["added"], both["unchanged"]) == (40, 20, 20)


def test_a_late_correction_reaches_the_kpi_its_key_names(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sqlite_facts(tmp_path)
    monkeypatch.setenv("FACTS_URL", url)
    source = {"url": "env:FACTS_URL", "query": shared(MONTH["sqlite"])}
    apply(los, workdir, strategy({"facts": source}, KPIS))
    refresh(los, "--all")
    execute(url, "update orders set amount = amount + 1000 where day = '2026-09-05'")
    execute(url, "update orders set amount = amount + 1000 where day = '2026-01-05'")  # too old

    summary = refresh(los, "--all")
    assert (summary["added"], summary["replaced"]) == (0, 1)
    values = {(k, u, p): (v, r) for k, u, p, v, _, _, r in stored(db_url)}
    assert values[("revenue", "north", "2026-09")] == (1090.0, 2)
    assert values[("revenue", "north", "2026-01")] == (10.0, 1)  # outside the look-back
    assert values[("orders", "north", "2026-09")] == (1.0, 1)


def test_a_row_whose_key_names_no_kpi_stores_nothing(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTS_URL", sqlite_facts(tmp_path))
    query = shared(MONTH["sqlite"]).replace("'count' as kpi", "'counts' as kpi")
    apply(los, workdir, strategy({"facts": {"url": "env:FACTS_URL", "query": query}}, KPIS))
    before = table_counts(db_url)

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["state"] == "failed" and summary["reason"] == "rows"
    # The query's rows 21 to 40 are the counts: each named with its row.
    assert len(summary["problems"]) == 20
    assert "row 21" in summary["problems"][0]
    assert "'counts' is the key of no KPI of source facts" in summary["problems"][0]
    assert table_counts(db_url) == before


def test_a_bad_value_is_named_with_the_querys_row(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTS_URL", sqlite_facts(tmp_path))
    month = MONTH["sqlite"]
    query = (
        f"select 'revenue' as kpi, {month} as period, sum(amount) as value, region as unit "
        "from orders where day >= :since group by 2, 4 union all "
        f"select 'count', {month}, count(*), case when {month} = '2026-04' then 'east' "
        "else region end from orders where day >= :since group by 2, 4"
    )
    apply(los, workdir, strategy({"facts": {"url": "env:FACTS_URL", "query": query}}, KPIS))
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["reason"] == "rows"
    # Rows 21 to 39 are the counts, by month then region: April's two regions are one row
    # of 'east', the 27th.
    problems = summary["problems"]
    assert len(problems) == 1, problems
    assert "source facts, kpi orders" in problems[0] and "row 27" in problems[0]
    assert "east" in problems[0]
    assert stored(db_url) == []


def test_a_query_without_a_kpi_column_fails_with_the_reason(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTS_URL", sqlite_facts(tmp_path))
    query = "select strftime('%Y-%m', day) as period, sum(amount) as value from orders group by 1"
    apply(los, workdir, strategy({"facts": {"url": "env:FACTS_URL", "query": query}}, KPIS))
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["reason"] == "query"
    assert "gives no kpi column" in summary["error"]


def test_one_kpi_refreshed_alone_leaves_the_others_rows_for_their_refresh(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTS_URL", sqlite_facts(tmp_path))
    own = {
        "id": "big",
        "source": {
            "from": "facts",
            "query": f"select {MONTH['sqlite']} as period, count(*) as value from orders "
            "where amount > 50 and day >= :since group by 1",
        },
    }
    source = {"url": "env:FACTS_URL", "query": shared(MONTH["sqlite"])}
    apply(los, workdir, strategy({"facts": source}, [*KPIS, own]))

    summary = refresh(los, "orders")
    assert summary["kpis"] == ["orders"] and summary["added"] == 20
    assert {k for k, *_ in stored(db_url)} == {"orders"}
    # A KPI with a query of its own beside the shared one runs it.
    summary = refresh(los, "--all")
    assert summary["added"] == 20 + 6  # orders over 50: May in the south, then every month
    assert {k for k, *_ in stored(db_url)} == {"orders", "revenue", "big"}


@pytest.mark.parametrize(
    ("sources", "kpis", "message"),
    [
        (
            {"facts": {"url": "sqlite:///f.db"}},
            [{"id": "revenue", "source": {"from": "facts"}}],
            "or give the source a query: whose kpi column names each row's KPI",
        ),
        (
            {"facts": {"url": "sqlite:///f.db", "query": "select 1"}},
            [
                {"id": "revenue", "source": {"from": "facts", "key": "x"}},
                {"id": "orders", "source": {"from": "facts", "key": "x"}},
            ],
            "KPIs 'revenue' and 'orders' both take the rows of key 'x' from source 'facts'",
        ),
        (
            {"facts": {"url": "sqlite:///f.db"}},
            [{"id": "revenue", "source": {"from": "facts", "key": "x", "query": "select 1"}}],
            "a KPI with a query of its own takes no key",
        ),
        (
            {"facts": {"url": "sqlite:///f.db"}},
            [{"id": "revenue", "source": {"from": "facts", "key": "x"}}],
            "source 'facts' has no query: of its own whose kpi column the key would match",
        ),
        (
            {"sheets": {"kind": "file", "path": "*.csv", "query": "select 1"}},
            [{"id": "revenue", "source": {"from": "sheets"}}],
            "query is only for kinds sql and spark",
        ),
    ],
)
def test_a_shared_query_is_checked_when_the_file_is_read(
    los: Los,
    workdir: Path,
    sources: dict[str, dict[str, object]],
    kpis: list[dict[str, object]],
    message: str,
) -> None:
    (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
    result = los("apply", "strategy.yaml")
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
