"""`los check` on a store reads only the values its data rules look at: its findings must be
those of the rules over every stored value, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from lineofsight.checks.base import Finding
from lineofsight.checks.runner import build_selection, run_checks
from lineofsight.services.apply import apply_file
from lineofsight.services.check import check, read_observations
from lineofsight.services.declared_actions import read_declared
from lineofsight.services.measurements import load_file
from lineofsight.spec.files import read_strategy
from lineofsight.store.check_reads import read_recent_values
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization
from tests.checks.chaos import observations


def _plain(findings: list[Finding]) -> list[tuple[Any, ...]]:
    return [(f.code, f.severity, f.subject, f.message) for f in findings]


CASES = [
    (dt.date(2026, 11, 22), {}),
    (dt.date(2026, 12, 5), {}),
    (dt.date(2026, 4, 10), {}),
    (dt.date(2026, 11, 22), {"DA01": {"grace_days": 400}}),
]


def test_the_store_check_finds_what_every_value_would(tmp_path: Path, broken_store: Store) -> None:
    store = broken_store
    try:
        with store.reading() as conn:
            org = read_organization(conn)
            assert org is not None
            # The stored actions, which AC01 and AC02 look at, as a file declares them (at
            # their lines in the file applied, which the store's check finds them at).
            assert org.kpis[0].location is not None
            applied = read_strategy(Path(org.kpis[0].location.file)).actions or ()
            lines = {a.key: a.location for a in applied}
            stored = read_declared(conn) or ()
            org = replace(org, actions=tuple(replace(a, location=lines.get(a.key)) for a in stored))
        assert org.actions and all(a.location for a in org.actions)
        every_value = read_observations(store)
        codes: set[str] = set()
        for as_of, options in CASES:
            fast = check(file=None, store=store, as_of=as_of, options=options)
            selection = build_selection(org.checks, options=options)
            full = run_checks(org, as_of, every_value, selection)
            assert _plain(fast.findings) == _plain(full.findings), (as_of, options)
            assert fast.rules_run == full.rules_run
            codes |= {f.code for f in fast.findings}
        # The data rules, and the actions' rules, had something to say.
        assert {"DA01", "SM03", "CF01", "AC01", "AC02"} <= codes
        # No selected rule reads values: none are read, and the findings do not change.
        day = dt.date(2026, 11, 22)
        fast = check(file=None, store=store, as_of=day, select_codes=["AL01", "OW02"])
        selection = build_selection(org.checks, ["AL01", "OW02"])
        full = run_checks(org, day, every_value, selection)
        assert _plain(fast.findings) == _plain(full.findings) != []
    finally:
        store.close()


def test_stored_values_are_what_the_measurements_file_said(
    tmp_path: Path, broken_store: Store
) -> None:
    # The values the rules look at, from the store (a ratio's divided out over the whole
    # column, each KPI's in one slice), are those worked out row by row from the file.
    store = broken_store
    try:
        with store.reading() as conn:
            org = read_organization(conn)
        assert org is not None
        expected = observations(tmp_path / "values.csv", org)
        found = read_observations(store)
    finally:
        store.close()

    def key(o: Any) -> tuple[Any, ...]:
        return (o.unit, o.start, o.end, o.value is None, o.value or 0.0)

    assert {k: sorted(v, key=key) for k, v in found.items()} == {
        k: sorted(v, key=key) for k, v in expected.items()
    }
    ratios = {k.id for k in org.kpis if k.ratio is not None}
    assert ratios & set(found)  # ratio KPIs were among them


def test_recent_values_are_the_stored_values_as_the_rules_see_them(
    tmp_path: Path, broken_store: Store
) -> None:
    # The store divides a ratio's value out itself for the recent periods: the rows must be
    # those of every value worked out over the whole column, from each frequency's first day.
    store = broken_store
    try:
        with store.reading() as conn:
            org = read_organization(conn)
        assert org is not None
        every_value = read_observations(store)
        frequencies = sorted({k.frequency.value for k in org.kpis})
        floors = {f: dt.date(2026, 1 + 3 * i, 1) for i, f in enumerate(frequencies)}
        frame = read_recent_values(store, floors)
    finally:
        store.close()
    assert frame.columns == ["kpi_id", "unit_id", "period_start", "period_end", "value"]
    frequency = {k.id: k.frequency.value for k in org.kpis}
    expected = sorted(
        (kpi_id, o.unit, o.start, o.end, o.value)
        for kpi_id, rows in every_value.items()
        for o in rows
        if o.end >= floors[frequency[kpi_id]]
    )
    assert sorted(frame.iter_rows(), key=lambda r: r[:4]) == sorted(expected, key=lambda r: r[:4])
    ratios = {k.id for k in org.kpis if k.ratio is not None}
    assert ratios & set(frame["kpi_id"].to_list())  # ratio KPIs were among them
    assert len(floors) > 1 and len(set(frame["kpi_id"])) < len(every_value)


FORMULA_OVER_MONTHS = """\
version: 1
organization:
  name: Quarters
  units:
    - {id: co, name: Company, level: company}
  people:
    - {id: ann, name: Ann, unit: co}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co, owner: ann, deadline: 2027-12-31}
kpis:
  - {id: a, name: A, unit: co, owner: ann, frequency: monthly, direction: increase,
     contributes_to: [{kpi: total}], target: {value: 10, by: 2027-12-31}}
  - {id: b, name: B, unit: co, owner: ann, frequency: monthly, direction: increase,
     contributes_to: [{kpi: total}], target: {value: 10, by: 2027-12-31}}
  - {id: total, name: Total, unit: co, owner: ann, frequency: quarterly, direction: increase,
     formula: a + b, supports: [grow], target: {value: 20, by: 2027-12-31}}
"""


def test_a_formula_finds_its_inputs_values_within_its_own_longer_period(
    tmp_path: Path, db_url: str
) -> None:
    # As of 22 November the monthly inputs are due for September and the quarterly formula
    # for the third quarter: `a` was measured in July (within the quarter) and October, not
    # in September. The store check must read July's value too: the formula can be computed.
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(FORMULA_OVER_MONTHS)
    values = tmp_path / "values.csv"
    values.write_text(
        "kpi,unit,period,value\na,co,2026-07,4\na,co,2026-10,5\nb,co,2026-09,6\nb,co,2026-10,7\n"
    )
    store = Store(db_url)
    try:
        apply_file(store, strategy)
        load_file(store, values)
        with store.reading() as conn:
            org = read_organization(conn)
        assert org is not None
        day = dt.date(2026, 11, 22)
        fast = check(file=None, store=store, as_of=day, select_codes=["DA01"])
        full = run_checks(org, day, read_observations(store), build_selection(org.checks, ["DA01"]))
        assert _plain(fast.findings) == _plain(full.findings)
        # `a` is stale for September; the quarter's formula has a value of each input.
        assert [(f.subject.id, f.message) for f in fast.findings] == [
            ("a", "KPI 'a' has no value for 2026-09")
        ]
    finally:
        store.close()
