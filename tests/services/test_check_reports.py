"""`los check` on the store reuses the report it kept only while nothing it read changed:
after every way of writing to the store, the report given is the one the rules make again,
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lineofsight.checks.base import CheckReport
from lineofsight.domain import model as m
from lineofsight.services.apply import apply_file
from lineofsight.services.check import check
from lineofsight.services.check_reports import report_from_text, report_text
from lineofsight.services.checkin import delete_measurement, record_measurement
from lineofsight.services.library_add import add_to_store
from lineofsight.services.measurements import load_file
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.files import read_strategy
from lineofsight.store import check_reads
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization

AS_OF = dt.date(2026, 11, 22)


def _same_as_fresh(store: Store, **asked: Any) -> CheckReport:
    """The report `check` gives, after asserting it is the one running the rules gives."""
    given = check(file=None, store=store, as_of=asked.pop("as_of", AS_OF), **asked)
    fresh = check(file=None, store=store, as_of=given.as_of, reuse=False, **asked)
    assert given == fresh
    return given


def _forbid_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading the definitions fail: only a kept report can answer."""

    def refuse(store: Any) -> None:
        raise AssertionError("the rules ran again")

    monkeypatch.setattr(check_reads, "read_check_frames", refuse)


def _manual_monthly(store: Store) -> m.Kpi:
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None
    return next(
        k
        for k in org.kpis
        if k.frequency is m.Frequency.MONTHLY and k.formula is None and k.ratio is None
    )


def _codes(report: CheckReport) -> set[tuple[str, str]]:
    return {(f.code, f.subject.id) for f in report.findings}


def _stale(store: Store, report: CheckReport) -> tuple[m.Kpi, str]:
    """A KPI measured by hand, at its own unit, that misses the value of a due period, and
    that period."""
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None
    kpis = {k.id: k for k in org.kpis}
    for f in report.findings:
        found = re.fullmatch(r"KPI '(\S+)' has no value for (\S+)", f.message)
        if f.code != "DA01" or found is None:
            continue
        kpi = kpis[found[1]]
        if kpi.ratio is None and kpi.effective_across_units is m.AcrossUnits.NONE:
            return kpi, found[2]
    raise AssertionError("no stale KPI measured by hand")


def test_a_kept_report_is_reused_only_for_the_same_command_line(
    tmp_path: Path, broken_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = broken_store
    first = check(file=None, store=store, as_of=AS_OF)
    assert len(first.findings) > 100
    other = check(file=None, store=store, as_of=AS_OF, select_codes=["DA01", "SM04"])
    with monkeypatch.context() as patch:
        _forbid_rules(patch)
        assert check(file=None, store=store, as_of=AS_OF) == first
        assert check(file=None, store=store, as_of=AS_OF, select_codes=["sm04", "da01"]) == other
    # Another as-of date, rule or option is a report of its own, made by the rules.
    for asked in (
        {"as_of": dt.date(2026, 12, 5)},
        {"ignore_codes": ["DA01"]},
        {"options": {"DA01": {"grace_days": 400}}},
    ):
        with monkeypatch.context() as patch:
            _forbid_rules(patch)
            with pytest.raises(AssertionError, match="the rules ran again"):
                check(file=None, store=store, **{"as_of": AS_OF, **asked})
        _same_as_fresh(store, **asked)


def test_every_write_makes_the_rules_run_again(tmp_path: Path, broken_store: Store) -> None:
    store = broken_store
    strategy = tmp_path / "strategy.yaml"
    before = _same_as_fresh(store)
    kpi = _manual_monthly(store)

    # An apply that only moves the items down the file: no definition changed, every line did.
    strategy.write_text("# moved down\n\n" + strategy.read_text())
    apply_file(store, strategy)
    moved = _same_as_fresh(store)
    lines = {(f.code, f.subject.id): f.location.line for f in moved.findings if f.location}
    assert any(
        lines[f.code, f.subject.id] == f.location.line + 2
        for f in before.findings
        if f.location and f.location.line
    )

    # An apply that changes a definition (a KPI's owner becomes nobody known).
    org = read_strategy(strategy)
    kpis = [replace(k, owner="nobody_known") if k.id == kpi.id else k for k in org.kpis]
    strategy.write_text(dump_organization(replace(org, kpis=kpis)))
    apply_file(store, strategy)
    owned = _same_as_fresh(store)
    assert any(f.subject.id == kpi.id and "nobody_known" in f.message for f in owned.findings)

    # A catalogue KPI added to the store (and its file).
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None
    objective = org.objectives[0]
    add_to_store(
        store,
        "net_promoter_score",
        unit=objective.unit,
        owner=org.people[0].id,
        supports=objective.id,
    )
    after_add = _same_as_fresh(store)
    assert any(f.subject.id == "net_promoter_score" for f in after_add.findings)

    # A check-in of a value the stale-data rule misses, then its deletion.
    kpi, period = _stale(store, after_add)
    value = kpi.bounds.min if kpi.bounds and kpi.bounds.min is not None else 1.0
    stale = ("DA01", kpi.id)
    record_measurement(
        store, kpi_id=kpi.id, unit_id=None, period=period, value=value, actor="tests"
    )
    assert stale not in _codes(_same_as_fresh(store))
    delete_measurement(store, kpi_id=kpi.id, unit_id=None, period=period, actor="tests")
    assert stale in _codes(_same_as_fresh(store))

    # A file load.
    values = tmp_path / "more.csv"
    values.write_text(f"kpi,unit,period,value\n{kpi.id},{kpi.unit},{period},{value}\n")
    load_file(store, values)
    assert stale not in _codes(_same_as_fresh(store))


def test_a_report_kept_as_text_is_the_report(tmp_path: Path, broken_store: Store) -> None:
    store = broken_store
    report = check(file=None, store=store, as_of=AS_OF, reuse=False)
    assert report.suppressed or report.findings
    assert report_from_text(report_text(report)) == report


def test_a_kept_report_shows_the_file_as_a_fresh_one_from_any_folder(
    tmp_path: Path, broken_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The strategy file lies in no workspace here: its name alone, never its path.
    store = broken_store
    first = check(file=None, store=store, as_of=AS_OF)
    assert {f.location.file for f in first.findings if f.location} == {"strategy.yaml"}
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as patch:
        _forbid_rules(patch)
        kept = check(file=None, store=store, as_of=AS_OF)
    assert {f.location.file for f in kept.findings if f.location} == {"strategy.yaml"}
    assert [f.message for f in kept.findings] == [f.message for f in first.findings]


HOLD = """
import sys
from lineofsight.store.database import Store
store = Store(sys.argv[1])
with store.transaction():
    print("holding", flush=True)
    sys.stdin.readline()
store.close()
"""


def test_a_check_does_not_wait_for_another_write_to_keep_its_report(
    tmp_path: Path, broken_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = broken_store
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, store.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        report = check(file=None, store=store, as_of=AS_OF)  # the write lock is held meanwhile
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    with monkeypatch.context() as patch:  # nothing was kept: the rules run again
        _forbid_rules(patch)
        with pytest.raises(AssertionError, match="the rules ran again"):
            check(file=None, store=store, as_of=AS_OF)
    assert report == check(file=None, store=store, as_of=AS_OF, reuse=False)


def test_a_report_is_not_kept_when_the_store_changed_while_the_rules_ran(
    tmp_path: Path, broken_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The definitions are read as columns after the state the report would be kept for: a
    # write landing just after they were read must not leave a report that looks current.
    store = broken_store
    kpi, period = _stale(store, check(file=None, store=store, as_of=AS_OF, reuse=False))
    read = check_reads.read_check_frames
    reads: list[int] = []

    def read_then_write(store: Store) -> Any:
        frames = read(store)
        if not reads:
            record_measurement(
                store, kpi_id=kpi.id, unit_id=None, period=period, value=1.0, actor="tests"
            )
        reads.append(1)
        return frames

    monkeypatch.setattr(check_reads, "read_check_frames", read_then_write)
    check(file=None, store=store, as_of=AS_OF, reuse=False)  # the store changed meanwhile
    assert len(reads) == 1
    again = check(file=None, store=store, as_of=AS_OF)
    assert len(reads) == 2  # the rules ran again, on the store as it is now
    assert ("DA01", kpi.id) not in {(f.code, f.subject.id) for f in again.findings}
    check(file=None, store=store, as_of=AS_OF)
    assert len(reads) == 2  # that report was kept


_KEPT = """
import sys
from lineofsight.cli.app import app
sys.argv = ["los", "check", "--as-of", "2026-11-22", "--format", sys.argv[2], "--db", sys.argv[1]]
try:
    app()
except SystemExit:
    pass
heavy = ("polars", "pyarrow", "lineofsight.checks.registry", "lineofsight.checks.rules")
if sys.argv[1].startswith("sqlite:"):  # read with Python's sqlite3
    heavy += ("sqlalchemy",)
print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("output", ["json", "text"])
def test_a_check_that_prints_its_kept_report_loads_no_rules_nor_polars_nor_sqlalchemy(
    tmp_path: Path, broken_store: Store, output: str
) -> None:
    """Printed as the rules make it; on an SQLite file read with Python's sqlite3 alone."""
    store = broken_store
    env = {**os.environ, "LOS_DATABASE_URL": "", "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", _KEPT, store.url, output],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    first, kept = runs
    assert first.returncode == kept.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines()[-1] != "[]"  # the rules ran, and kept a report
    assert kept.stderr.strip().splitlines()[-1] == "[]", kept.stderr
    assert kept.stdout == first.stdout and "DA01" in kept.stdout
