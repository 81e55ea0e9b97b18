"""`los refresh` from SQL sources on real engines: an SQLite file, a DuckDB file (through
duckdb-engine) and a PostgreSQL database, into a store on SQLite and on PostgreSQL.

The queries group the facts by month where they live, each engine naming the month its own
way (a label, a date, a timestamp); a ratio KPI takes a numerator and a denominator, and a
unit column puts each region's values on its unit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Los
from tests.sources.facts import (
    MONTH,
    duckdb_facts,
    postgresql_facts,
    sqlite_facts,
    stored,
    strategy,
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


def kpis_on(engine: str) -> list[dict[str, object]]:
    month = MONTH[engine]
    return [
        {
            "id": "revenue",
            "source": {
                "from": "facts",
                "query": f"select {month} as period, sum(amount) as value, region as unit "
                "from orders where day >= :since group by 1, 3",
            },
        },
        {
            "id": "orders",
            "source": {
                "from": "facts",
                "query": f"select {month} as period, count(*) as value from orders "
                "where day >= :since group by 1",
            },
        },
        {
            "id": "return_rate",
            "direction": "decrease",
            "aggregation": "mean",
            "ratio": {"numerator": "returned orders", "denominator": "orders", "scale": 100},
            "source": {
                "from": "facts",
                "query": f"select {month} as period, sum(returned) as numerator, "
                "count(*) as denominator from orders where day >= :since group by 1",
            },
        },
    ]


def test_refresh_from_each_engine(
    los: Los, workdir: Path, db_url: str, facts: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, url = facts
    monkeypatch.setenv("FACTS_URL", url)
    (workdir / "strategy.yaml").write_text(
        strategy({"facts": {"url": "env:FACTS_URL"}}, kpis_on(engine))
    )
    assert los("apply", "strategy.yaml").exit_code == 0

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["source"] == "facts"
    assert summary["state"] == "ok"
    # 10 months: 20 revenue rows (two regions), 10 of orders, 10 of the return rate.
    assert (summary["rows_read"], summary["added"], summary["replaced"]) == (40, 40, 0)

    values = {(k, u, p): (v, n, d) for k, u, p, v, n, d, _ in stored(db_url)}
    assert values[("revenue", "north", "2026-03")] == (30.0, None, None)
    assert values[("revenue", "south", "2026-10")] == (101.0, None, None)
    assert values[("orders", "acme", "2026-07")] == (2.0, None, None)
    # A ratio keeps its parts: 2 of 2 orders returned in odd months, none in even ones.
    assert values[("return_rate", "acme", "2026-05")] == (None, 2.0, 2.0)
    assert values[("return_rate", "acme", "2026-06")] == (None, 0.0, 2.0)
    assert len(values) == 40

    status = json.loads(los("status", "--period", "2026-05", "--format", "json").stdout)
    rate = next(k for k in status["kpis"] if k["id"] == "return_rate")
    assert rate["actual"] == pytest.approx(100.0)

    # Nothing changed at the source: the next refresh finds every value stored already.
    again = json.loads(los("refresh", "--all", "--format", "json").stdout)["sources"][0]
    assert again["added"] == again["replaced"] == 0
    assert again["unchanged"] == again["rows_read"] > 0
