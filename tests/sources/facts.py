"""Fact tables for the source tests, on real engines: an SQLite file, a DuckDB file and a
database on the PostgreSQL server the tests start. Each holds `orders` (one row per order:
day, region, amount, returned) that the KPIs' queries group by month where the data lives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import yaml

Order = tuple[dt.date, str, float, int]

# Two orders a month from January to October 2026, in the north and the south.
ORDERS: list[Order] = [
    (
        dt.date(2026, month, day),
        region,
        float(month * 10 + (1 if region == "south" else 0)),
        month % 2,
    )
    for month in range(1, 11)
    for day, region in ((5, "north"), (20, "south"))
]

# Each engine's way of naming an order's month: a label, a date, a timestamp.
MONTH = {
    "sqlite": "strftime('%Y-%m', day)",
    "duckdb": "date_trunc('month', day)",  # a date
    "postgresql": "date_trunc('month', day)",  # a timestamp with time zone
}


def sqlite_facts(folder: Path, orders: Sequence[Order] = ORDERS) -> str:
    """An SQLite file of orders; its SQLAlchemy URL."""
    import sqlite3

    path = folder / "facts.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (day TEXT, region TEXT, amount REAL, returned INTEGER)")
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(d.isoformat(), r, a, x) for d, r, a, x in orders],
        )
    conn.close()
    return f"sqlite:///{path}"


def duckdb_facts(folder: Path, orders: Sequence[Order] = ORDERS) -> str:
    """A DuckDB file of orders; its SQLAlchemy URL (duckdb-engine)."""
    import duckdb

    path = folder / "facts.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE orders (day DATE, region VARCHAR, amount DOUBLE, returned INTEGER)")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", list(orders))
    conn.close()
    return f"duckdb:///{path}"


@contextmanager
def postgresql_facts(server_url: str, orders: Sequence[Order] = ORDERS) -> Iterator[str]:
    """A database of orders on the test server; its SQLAlchemy URL. Dropped afterwards."""
    name = f"facts_{uuid.uuid4().hex[:10]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(
            "CREATE TABLE orders (day DATE, region TEXT, amount NUMERIC(12, 2), returned INTEGER)"
        )
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", list(orders))
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def execute(url: str, sql: str, params: dict[str, Any] | None = None) -> None:
    """Change the facts (a late correction) through SQLAlchemy."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(sql), params or {})
    engine.dispose()


def strategy(
    sources: dict[str, dict[str, Any]], kpis: Sequence[dict[str, Any]], *, name: str = "Acme"
) -> str:
    """A strategy file: a company with a north and a south unit, these sources and KPIs
    (monthly, summed, increasing unless given)."""
    doc: dict[str, Any] = {
        "version": 1,
        "organization": {
            "name": name,
            "units": [
                {"id": "acme", "name": "Acme", "level": "company"},
                {"id": "north", "name": "North", "level": "department", "parent": "acme"},
                {"id": "south", "name": "South", "level": "department", "parent": "acme"},
            ],
        },
        "kpis": [
            {
                "name": kpi["id"].replace("_", " ").title(),
                "unit": "acme",
                "frequency": "monthly",
                "direction": "increase",
                "aggregation": "sum",
                **kpi,
            }
            for kpi in kpis
        ],
    }
    if sources:
        doc["sources"] = sources
    return yaml.safe_dump(doc, sort_keys=False)


def stored(db_url: str) -> list[tuple[Any, ...]]:
    """The store's measurements: (kpi, unit, period, value, numerator, denominator, revision),
    sorted."""
    from sqlalchemy import text

    from lineofsight.store.database import Store

    store = Store(db_url)
    try:
        with store.reading() as conn:
            rows = conn.execute(
                text(
                    "SELECT kpi_id, unit_id, period, value, numerator, denominator, revision "
                    "FROM measurements"
                )
            ).all()
    finally:
        store.close()
    return sorted(tuple(row) for row in rows)


def table_counts(db_url: str) -> dict[str, int]:
    """Rows of each table a refresh may write."""
    from sqlalchemy import text

    from lineofsight.store.database import Store

    store = Store(db_url)
    names = ("measurements", "measurement_revisions", "loads", "source_marks", "source_writes")
    try:
        with store.reading() as conn:
            return {
                name: int(conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
                for name in names
            }
    finally:
        store.close()
