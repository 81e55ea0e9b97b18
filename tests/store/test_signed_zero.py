"""A value stored as -0.0 reads back as 0.0 on both databases: SQLite writes a whole REAL as an
integer (losing the sign), PostgreSQL keeps it, so the store writes 0.0 for -0 (and migration
0021 rewrites what an earlier release stored), and `los status` shows the same numbers on
both."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements
from tests.conftest import Los
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

AS_OF = "2026-12-05"


def _positive_zero(value: object) -> bool:
    return value == 0 and math.copysign(1.0, float(value)) > 0  # type: ignore[arg-type]


def test_a_stored_minus_zero_shows_as_zero_in_every_status_format(
    los: Los, workdir: Path, db_url: str
) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    before = json.loads(los("status", "--as-of", AS_OF, "--format", "json").stdout)
    measured = [k for k in before["kpis"] if k["actual"] and k["data"] == "reported"]
    row, other = measured[0], next(k for k in measured if k["id"] != measured[0]["id"])
    values = workdir / "zero.csv"
    # Two rows: Polars adds a literal 0 to a column of one row, but skips it for more.
    values.write_text(
        "kpi,unit,period,value\n"
        + "".join(f"{r['id']},{r['unit']},{r['period']},-0\n" for r in (row, other))
    )
    loaded = los("load", str(values))
    assert loaded.exit_code == 0, loaded.output

    store = Store(db_url)
    try:
        with store.reading() as conn:
            stored = [
                r["value"]
                for k in (row, other)
                for r in read_measurements(conn, k["id"])
                if (r["unit_id"], r["period"]) == (k["unit"], k["period"])
            ]
    finally:
        store.close()
    assert len(stored) == 2 and all(_positive_zero(v) for v in stored), stored

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


def test_minus_zero_stored_before_the_migration_reads_as_zero(
    request: pytest.FixtureRequest, unmade_db_url: str
) -> None:
    # A store written by an earlier release: arithmetic in the database (0 divided by a
    # negative number) stored -0.0 in a value, a numerator and a replaced value. Moving the
    # store to this release's schema makes every one 0.0, read through SQLAlchemy and
    # through the driver's own cursors.
    from alembic import command

    from lineofsight.store.database import _alembic_config

    copy_example(request, unmade_db_url, "techinnovate")  # as `los init --example` leaves it
    store = Store(unmade_db_url)
    try:
        cfg = _alembic_config(store.url)
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0020")
        minus = "(CAST(0 AS FLOAT) / CAST(-4 AS FLOAT))"
        with store.engine.begin() as conn:
            key = conn.exec_driver_sql(
                "SELECT kpi_id, unit_id, period FROM measurements ORDER BY kpi_id, period LIMIT 1"
            ).one()
            where = f"kpi_id = '{key[0]}' AND unit_id = '{key[1]}' AND period = '{key[2]}'"
            conn.exec_driver_sql(
                f"UPDATE measurements SET value = {minus}, numerator = {minus} WHERE {where}"
            )
            conn.exec_driver_sql(
                "INSERT INTO measurement_revisions (kpi_id, unit_id, period, revision, value, "
                "recorded_at, replaced_at) SELECT kpi_id, unit_id, period, 0, "
                f"{minus}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM measurements WHERE {where}"
            )
    finally:
        store.close()
    store = Store(unmade_db_url)  # moved up to this release's schema
    try:
        with store.reading() as conn:
            read = f"SELECT value, numerator FROM measurements WHERE {where}"
            (value, numerator) = conn.exec_driver_sql(read).one()
            assert _positive_zero(value) and _positive_zero(numerator)
            old = f"SELECT value FROM measurement_revisions WHERE {where} AND revision = 0"
            assert _positive_zero(conn.exec_driver_sql(old).scalar_one())
            if store.dialect == "postgresql":
                driver = conn.connection.driver_connection
                assert driver is not None
                for binary in (False, True):
                    cursor = driver.cursor(binary=binary)  # type: ignore[call-arg]
                    cursor.execute(read)
                    zero, other = cursor.fetchone()
                    cursor.close()
                    assert _positive_zero(zero) and _positive_zero(other), binary
    finally:
        store.close()


ZERO_STRATEGY = """\
version: 1
organization:
  name: Zeros
  units:
    - {id: top, name: Top, level: company}
  people:
    - {id: boss, name: Bo Boss, unit: top}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: top, owner: boss}
kpis:
  - {id: loss, name: Loss, unit: top, owner: boss, frequency: monthly, direction: decrease,
     ratio: {numerator: lost, denominator: tried, scale: -100},
     target: {value: -0.0, by: 2026-12-31}, tolerance_abs: 1,
     supports: [{objective: grow}]}
"""


def test_the_checks_sql_reads_give_zero_without_its_sign(db_url: str, tmp_path: Path) -> None:
    """A ratio whose scale is negative and whose numerator is 0 is -0.0 when divided out in
    the database, and a target written as -0.0 is stored with its sign on PostgreSQL: the
    reads of `los check` give 0.0 for both, as the stored values and the engine do."""
    import datetime as dt

    import polars as pl

    from lineofsight.services.apply import apply_file
    from lineofsight.services.measurements import load_file
    from lineofsight.store.check_reads import read_check_frames, read_recent_values

    (tmp_path / "s.yaml").write_text(ZERO_STRATEGY)
    (tmp_path / "v.csv").write_text("kpi,period,numerator,denominator\nloss,2026-10,0,5\n")
    store = Store(db_url)
    try:
        apply_file(store, tmp_path / "s.yaml")
        load_file(store, tmp_path / "v.csv")
        recent = read_recent_values(store, {"monthly": dt.date(2026, 1, 1)})
        assert recent.height == 1 and _positive_zero(recent["value"][0])
        frames = read_check_frames(store)
        for name, frame in frames.items():
            for column in frame.select(pl.col(pl.Float64)).columns:
                for value in frame[column].drop_nulls():
                    assert value != 0 or _positive_zero(value), (name, column)
        assert _positive_zero(frames["kpis"]["target_value"][0])
    finally:
        store.close()


def test_a_negative_scale_over_no_numerator_and_a_minus_zero_target_show_as_zero(
    los: Los, workdir: Path, db_url: str
) -> None:
    """-100 * 0 / 5 is -0.0, and a target written -0.0 was stored with its sign on
    PostgreSQL: `los status` showed "-0" for both; now 0, in the table and the JSON."""
    assert los("init", "ws").exit_code == 0
    (workdir / "ws" / "strategy.yaml").write_text(ZERO_STRATEGY)
    (workdir / "v.csv").write_text("kpi,period,numerator,denominator\nloss,2026-10,0,5\n")
    assert los("apply", str(workdir / "ws" / "strategy.yaml")).exit_code == 0
    assert los("load", str(workdir / "v.csv")).exit_code == 0
    for _ in range(2):  # computed in full, then read back from the kept scorecard
        data = json.loads(los("status", "--as-of", AS_OF, "--format", "json").stdout)
        (row,) = data["kpis"]
        assert _positive_zero(row["actual"]) and _positive_zero(row["target"]), row
        text = los("status", "--as-of", AS_OF).stdout
        shown = next(t for t in text.splitlines() if " loss " in t)
        assert "-0" not in shown and " 0 " in shown, shown


def test_a_minus_zero_target_stored_before_the_migration_reads_as_zero(
    db_url: str, tmp_path: Path
) -> None:
    # A store written by an earlier release kept a target and a period target of -0.0 (as
    # written in the strategy file) on PostgreSQL: moving it to this release makes them 0.0.
    from alembic import command

    from lineofsight.services.apply import apply_file
    from lineofsight.store.database import _alembic_config

    (tmp_path / "s.yaml").write_text(ZERO_STRATEGY.replace("value: -0.0,", "value: 1,"))
    store = Store(db_url)
    try:
        apply_file(store, tmp_path / "s.yaml")
        cfg = _alembic_config(store.url)
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0021")
        minus = "(CAST(0 AS FLOAT) / CAST(-4 AS FLOAT))"
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE kpis SET target_value = {minus}, range_low = {minus}")
    finally:
        store.close()
    store = Store(db_url)  # moved up to this release's schema
    try:
        with store.reading() as conn:
            row = conn.exec_driver_sql("SELECT target_value, range_low FROM kpis").one()
            assert all(_positive_zero(v) for v in row), row
    finally:
        store.close()
