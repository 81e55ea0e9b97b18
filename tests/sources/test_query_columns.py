"""A query whose columns are wrong is said to be so, naming the missing and unknown columns,
once per source: not counted as "bad rows" (a header is no row of data)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Los
from tests.sources.facts import sqlite_facts, stored, strategy
from tests.sources.test_refresh_behaviour import apply, query_kpi

MONTH = "strftime('%Y-%m', day)"


def test_a_query_with_a_misspelt_column_names_its_columns(
    los: Los, workdir: Path, db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "facts"
    folder.mkdir()
    url = sqlite_facts(folder)
    wrong = f"select {MONTH} as period, count(*) as valu from orders group by 1"
    right = f"select {MONTH} as period, count(*) as value from orders group by 1"
    kpis = [query_kpi("revenue", wrong), query_kpi("orders", right)]
    apply(los, workdir, strategy({"lite": {"url": url}}, kpis))
    before = stored(db_url)

    result = los("refresh", "--all")
    assert result.exit_code == 1
    assert "bad row" not in result.stderr, result.stderr
    assert "Failed lite (columns): the query's columns are wrong; nothing was stored" in (
        result.stderr
    )
    assert "source lite, kpi revenue: header: unknown column valu: expected period" in (
        result.stderr
    )
    assert "source lite, kpi revenue: header: missing column value" in result.stderr
    assert "kpi orders" not in result.stderr
    assert stored(db_url) == before
