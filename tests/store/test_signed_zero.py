"""A value stored as -0.0 reads back as 0.0 on both databases: SQLite writes a whole REAL as an
integer (losing the sign), PostgreSQL keeps it, so the store's reads on PostgreSQL drop it, and
`los status` shows the same numbers on both."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements
from tests.conftest import Los

AS_OF = "2026-12-05"


def _positive_zero(value: object) -> bool:
    return value == 0 and math.copysign(1.0, float(value)) > 0  # type: ignore[arg-type]


def test_a_stored_minus_zero_shows_as_zero_in_every_status_format(
    los: Los, workdir: Path, db_url: str
) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    before = json.loads(los("status", "--as-of", AS_OF, "--format", "json").stdout)
    row = next(k for k in before["kpis"] if k["actual"])
    values = workdir / "zero.csv"
    values.write_text(f"kpi,unit,period,value\n{row['id']},{row['unit']},{row['period']},-0\n")
    loaded = los("load", str(values))
    assert loaded.exit_code == 0, loaded.output

    store = Store(db_url)
    try:
        with store.reading() as conn:
            stored = [
                r["value"]
                for r in read_measurements(conn, row["id"])
                if (r["unit_id"], r["period"]) == (row["unit"], row["period"])
            ]
    finally:
        store.close()
    assert len(stored) == 1 and _positive_zero(stored[0])

    # Computed in full, then read back from the kept scorecard: the same, unsigned zero.
    for _ in range(2):
        data = json.loads(los("status", "--as-of", AS_OF, "--format", "json").stdout)
        found = next(k for k in data["kpis"] if (k["id"], k["unit"]) == (row["id"], row["unit"]))
        assert _positive_zero(found["actual"]) and _positive_zero(found["achievement"])
    table = los("status", "--as-of", AS_OF, "--format", "csv").stdout
    line = next(
        r
        for r in csv.DictReader(io.StringIO(table))
        if (r["kind"], r["id"], r["unit"]) == ("kpi", row["id"], row["unit"])
    )
    assert line["actual"] == "0.0"
    text = los("status", "--as-of", AS_OF).stdout
    shown = next(t for t in text.splitlines() if f" {row['id']} " in t and row["unit"] in t)
    assert "-0" not in shown, shown


def test_minus_zero_made_in_sql_reads_as_zero(db_url: str) -> None:
    # Arithmetic in the database can store -0.0 too (0 divided by a negative number): every
    # read of a stored value gives 0.0, through SQLAlchemy and through the driver's own cursor.
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            conn.exec_driver_sql("CREATE TEMPORARY TABLE zeros (v FLOAT)")
            conn.exec_driver_sql(
                "INSERT INTO zeros VALUES (CAST(0 AS FLOAT) / CAST(-4 AS FLOAT)), (-3.0), (NULL)"
            )
            values = [r[0] for r in conn.exec_driver_sql("SELECT v FROM zeros").all()]
            assert _positive_zero(values[0]) and values[1:] == [-3.0, None]
            if store.dialect == "postgresql":
                driver = conn.connection.driver_connection
                assert driver is not None
                for binary in (False, True):
                    cursor = driver.cursor(binary=binary)  # type: ignore[call-arg]
                    cursor.execute("SELECT v FROM zeros")
                    zero, negative, _ = (r[0] for r in cursor.fetchall())
                    cursor.close()
                    assert _positive_zero(zero) and negative == -3.0, binary
    finally:
        store.close()
