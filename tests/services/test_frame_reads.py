"""Arrow reads from SQLite keep each column's type whatever its first rows hold."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import polars as pl

from lineofsight.services.evaluate import read_measurement_frame
from lineofsight.store.database import Store
from lineofsight.store.loading import load_session


def _store_with_leading_nulls(tmp_path: Path) -> Store:
    path = tmp_path / "los.db"
    store = Store(f"sqlite:///{path}")
    store.close()
    # A ratio KPI first in the table's order (no value of its own), thousands of rows, then
    # plain values.
    rows = [("a_ratio", f"u{i}", "2026-01", "2026-01-31", None, 3.0, 4.0) for i in range(3000)] + [
        ("plain", "u0", "2026-01", "2026-01-31", 2.5, None, None)
    ]
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO loads (id, recorded_at) VALUES (1, '2026-02-01 00:00:00')")
        conn.executemany(
            "INSERT INTO measurements (kpi_id, unit_id, period, period_end, value, numerator,"
            " denominator, revision, load_id) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1)",
            rows,
        )
        first = conn.execute("SELECT kpi_id FROM measurements LIMIT 1").fetchone()
        assert first == ("a_ratio",)
    return Store(f"sqlite:///{path}")


def test_a_value_column_that_starts_empty_is_read_as_numbers(tmp_path: Path) -> None:
    store = _store_with_leading_nulls(tmp_path)
    frame = read_measurement_frame(store, (dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    store.close()
    assert frame.height == 3001
    assert frame.schema["value"] == pl.Float64
    assert frame.filter(pl.col("kpi_id") == "plain")["value"].to_list() == [2.5]
    assert frame["value"].null_count() == 3000


def test_a_load_session_query_keeps_types_too(tmp_path: Path) -> None:
    store = _store_with_leading_nulls(tmp_path)
    with load_session(store) as session:
        frame = session.query(
            "SELECT kpi_id, value FROM measurements", {"kpi_id": pl.String, "value": pl.Float64}
        )
    store.close()
    assert frame.height == 3001
    assert frame["value"].drop_nulls().to_list() == [2.5]
