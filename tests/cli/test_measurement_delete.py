"""`los measurement delete` keeps the value as a revision; values for periods that have not
ended are refused on every write path unless asked for."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from lineofsight.domain.model import Calendar
from lineofsight.errors import InputError
from lineofsight.services import checkin
from lineofsight.services.measurements import (
    LoadRules,
    RawRow,
    RowChecker,
    _RowError,
    last_day_allowed,
)
from lineofsight.services.workspace import local_user
from lineofsight.store import tables as t
from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements, read_revisions
from tests.conftest import FIXTURES, Los

FULL = FIXTURES / "specs" / "valid" / "full.yaml"


def _load(los: Los, workdir: Path, name: str, rows: str, *extra: str):  # type: ignore[no-untyped-def]
    path = workdir / name
    path.write_text("kpi,period,value\n" + rows)
    return los("load", str(path), *extra)


def test_delete_keeps_the_value_as_a_revision_and_audits_it(los: Los, workdir: Path) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    assert _load(los, workdir, "a.csv", "dio,2026-01,45\ndio,2026-02,44\n").exit_code == 0
    assert _load(los, workdir, "b.csv", "dio,2026-01,46\n").exit_code == 0
    result = los("measurement", "delete", "dio", "2026-01")
    assert result.exit_code == 0, result.output
    assert "Deleted dio for ti, 2026-01: 46 (kept as revision 2)." in result.output
    assert los.db_url is not None
    store = Store(los.db_url)
    try:
        with store.reading() as conn:
            current = [(r["period"], r["value"]) for r in read_measurements(conn, "dio")]
            revisions = [
                (r["revision"], r["value"]) for r in read_revisions(conn, "dio", "ti", "2026-01")
            ]
            audit = conn.execute(
                select(t.audit_log.c.action, t.audit_log.c.subject, t.audit_log.c.before)
            ).all()
    finally:
        store.close()
    assert current == [("2026-02", 44.0)]
    assert revisions == [(1, 45.0), (2, 46.0)]
    assert [(a, s) for a, s, _ in audit] == [("measurement.delete", "measurement:dio/ti/2026-01")]
    assert json.loads(audit[0][2])["value"] == 46.0
    again = los("measurement", "delete", "dio", "2026-01")
    assert again.exit_code == 2
    assert "no value of 'dio' for unit 'ti' and period 2026-01 to delete" in again.stderr
    shown = los("measurement", "history", "dio", "2026-01")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "dio at ti, 2026-01: 2 values"
    assert lines[1].split()[0] == "45" and str(workdir / "a.csv") in lines[1]
    assert lines[2].split()[0] == "46" and "(replaced " in lines[2]
    # Who deleted it and when, from the audit log.
    assert re.fullmatch(
        rf"  \(deleted \d{{4}}-\d\d-\d\d \d\d:\d\d by {re.escape(local_user())}: "
        r"no current value\)",
        lines[3],
    ), lines[3]
    # The value can be given again later.
    assert "1 added" in _load(los, workdir, "c.csv", "dio,2026-01,47\n").output
    data = json.loads(los("measurement", "history", "dio", "2026-01", "--format", "json").stdout)
    assert [(v["value"], v["current"]) for v in data["values"]] == [
        (45.0, False),
        (46.0, False),
        (47.0, True),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dio", "2026-13"], "period:"),
        (["dio", "2026-01", "--unit", "nowhere"], "unknown unit 'nowhere'"),
        # A period coarser than the KPI's frequency never holds a value of it: said, not
        # answered with "no value was ever stored".
        (["dio", "2026-Q1"], "period: 2026-Q1 is coarser than the KPI's frequency (monthly)"),
    ],
)
@pytest.mark.parametrize("command", ["delete", "history"])
def test_delete_of_bad_input_exits_2(los: Los, argv: list[str], message: str, command: str) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    result = los("measurement", command, *argv)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_load_refuses_periods_that_have_not_ended(los: Los, workdir: Path) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    rows = "dio,2026-01,45\ndio,2099-01,40\n"
    refused = _load(los, workdir, "f.csv", rows)
    assert refused.exit_code == 2
    assert "row 3: column period: 2099-01 has not ended yet (it ends on 2099-01-31)" in (
        refused.stderr
    )
    assert "--allow-future" in refused.stderr
    assert "1 bad row;" in refused.stderr
    allowed = _load(los, workdir, "f.csv", rows, "--allow-future")
    assert allowed.exit_code == 0, allowed.output
    assert "2 rows: 2 added" in allowed.output


def test_the_rule_ends_on_the_as_of_day() -> None:
    rules = LoadRules(
        rows=[("m", "hq", "monthly", None, None, None, None, None)],
        units=frozenset({"hq"}),
        calendar=Calendar(1),
    )
    checker = RowChecker(
        rules.until(last_day_allowed(allow_future=False, as_of=dt.date(2026, 10, 31))), "f"
    )
    assert (
        checker.check(RawRow(2, {"kpi": "m", "period": "2026-10", "value": "1"})).period
        == "2026-10"
    )
    with pytest.raises(_RowError, match="2026-11 has not ended yet"):
        checker.check(RawRow(3, {"kpi": "m", "period": "2026-11", "value": "1"}))
    with pytest.raises(_RowError, match="2026-11-01 has not ended yet"):
        checker.check(RawRow(4, {"kpi": "m", "period": "2026-11-01", "value": "1"}))
    assert last_day_allowed(allow_future=True) is None
    assert last_day_allowed(allow_future=False) == dt.date.today()


def test_a_check_in_refuses_periods_that_have_not_ended(los: Los) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    assert los.db_url is not None
    store = Store(los.db_url)
    try:
        with pytest.raises(InputError, match="2099-01 has not ended yet"):
            checkin.record_measurement(
                store, kpi_id="dio", unit_id=None, period="2099-01", value=40, actor="ann"
            )
        stored = checkin.record_measurement(
            store,
            kpi_id="dio",
            unit_id=None,
            period="2099-01",
            value=40,
            actor="ann",
            allow_future=True,
        )
        assert stored.action == "added"
    finally:
        store.close()


def test_history_and_delete_write_numbers_as_every_output_does(los: Los, workdir: Path) -> None:
    # A value a hundred times too large (cents for euros): written 10,800,300 EUR, as the
    # tables write it, not 1.08003e+07.
    spec = workdir / "revenue.yaml"
    spec.write_text(
        "version: 1\norganization:\n  name: Acme\n  units:\n"
        "    - {id: co, name: Company, level: company}\n"
        "kpis:\n  - id: revenue\n    name: Revenue\n    unit_of_measure: EUR\n    unit: co\n"
        "    frequency: monthly\n    direction: increase\n    aggregation: sum\n"
    )
    assert los("apply", str(spec)).exit_code == 0
    assert _load(los, workdir, "a.csv", "revenue,2026-01,108003\n").exit_code == 0
    assert _load(los, workdir, "b.csv", "revenue,2026-01,10800300\n").exit_code == 0
    shown = los("measurement", "history", "revenue", "2026-01")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[1].startswith("   108,003 EUR  recorded "), lines
    assert lines[2].startswith("  10,800,300 EUR  recorded "), lines
    assert "e+" not in shown.stdout
    gone = los("measurement", "delete", "revenue", "2026-01")
    assert "revenue for co, 2026-01: 10,800,300 EUR (kept as revision 2)." in gone.output
