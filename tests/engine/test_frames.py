"""The frame-based scorecard (used by `los status`) gives exactly the rows of the reference
evaluation, on every example, at several dates, on both databases."""

from __future__ import annotations

from pathlib import Path

import polars.testing as pt
import pytest

from lineofsight.services import evaluate as evaluate_service
from lineofsight.services.evaluate import status_store
from lineofsight.services.init import init_workspace
from lineofsight.store.database import Store
from tests.engine.oracle import evaluate_store
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

DATES = ["2026-12-05", "2026-11-22", "2026-09-30", "2025-12-31", "2024-06-15"]
# Period reports (no reporting lag): each KPI at its period, value or not.
PERIODS = ["2026-11", "2026-Q3"]
COLUMNS = [
    "id",
    "unit",
    "period",
    "actual",
    "target",
    "miss",
    "score",
    "status",
    "achievement",
    "own_unit",
    "due",
    "data",
    "last_value",
    "last_period",
]


def assert_same_scorecard(store: Store, day: str | None, period: str | None = None) -> None:
    fast = status_store(store, period=period, as_of=day)
    _, reference = evaluate_store(store, period=period, as_of=day)
    close = {"check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-9}
    pt.assert_frame_equal(fast.kpis, reference.kpi_frame().select(COLUMNS), **close)
    pt.assert_frame_equal(
        fast.objectives,
        reference.objective_frame().select("id", "score", "status", "coverage", "counts", "worst"),
        **close,
    )
    pt.assert_frame_equal(
        fast.units,
        reference.unit_frame().select("id", "score", "status", "counts", "worst"),
        **close,
    )
    # `los tree` and the API score the store's domain objects: the very same rows.
    _, from_objects = evaluate_service.evaluate_store(store, period=period, as_of=day)
    pt.assert_frame_equal(from_objects.kpis, fast.kpis)
    pt.assert_frame_equal(from_objects.objectives, fast.objectives)
    pt.assert_frame_equal(from_objects.units, fast.units)


@pytest.mark.parametrize("example", ["techinnovate", "globalhealth", "manufacturing"])
def test_frames_match_the_reference(
    example: str, request: pytest.FixtureRequest, unmade_db_url: str
) -> None:
    copy_example(request, unmade_db_url, example)  # as `los init --example` leaves it
    store = Store(unmade_db_url)
    try:
        for day in DATES:
            assert_same_scorecard(store, day)
        for period in PERIODS:
            assert_same_scorecard(store, None, period)
    finally:
        store.close()


def test_frames_match_the_reference_on_a_synthetic_organisation(tmp_path: Path) -> None:
    """2,000 generated KPIs (formulas, ratios, ranges, quarterly and monthly) on SQLite."""
    import importlib.util
    import sys

    from lineofsight.services.apply import apply_file
    from lineofsight.services.measurements import load_file

    bench = Path(__file__).parents[2] / "bench" / "generate.py"
    spec = importlib.util.spec_from_file_location("generate", bench)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    org = module.generate(tmp_path / "org", kpis=2000, units=400)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        apply_file(store, org.strategy)
        load_file(store, org.measurements)
        for day in ("2026-12-05", "2026-11-22", "2026-08-15"):
            assert_same_scorecard(store, day)
        assert_same_scorecard(store, None, "2026-11")
    finally:
        store.close()


def test_a_formula_that_names_no_kpi_is_scored_as_its_constant(tmp_path: Path) -> None:
    from lineofsight.services.apply import apply_file
    from lineofsight.services.measurements import load_file

    (tmp_path / "strategy.yaml").write_text(
        "version: 1\norganization:\n  name: T\n  units:\n    - {id: co, name: Co, level: company}\n"
        "  people:\n    - {id: boss, name: Boss, unit: co}\n"
        "strategy: {mission: M, vision: V}\n"
        "objectives:\n  - {id: o1, title: O, level: tactical, unit: co, owner: boss}\n"
        "kpis:\n"
        "  - {id: a, name: A, unit: co, owner: boss, frequency: monthly, direction: increase,\n"
        "     target: {value: 50, by: 2027-01-01}}\n"
        "  - {id: c, name: Constant, unit: co, owner: boss, frequency: monthly,\n"
        "     direction: increase, formula: '42', target: {value: 40, by: 2027-01-01},\n"
        "     supports: [{objective: o1}]}\n"
    )
    (tmp_path / "m.csv").write_text("kpi,period,value\na,2026-10,45\na,2026-09,40\n")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        apply_file(store, tmp_path / "strategy.yaml")
        load_file(store, tmp_path / "m.csv")
        assert_same_scorecard(store, "2026-11-22")
        row = status_store(store, as_of="2026-11-22").kpis.filter(id="c").row(0, named=True)
        assert (row["actual"], row["status"]) == (42.0, "green")
    finally:
        store.close()


def test_daily_and_weekly_kpis_with_long_due_days_beside_monthly_and_quarterly_ones(
    db_url: str, tmp_path: Path
) -> None:
    """A daily KPI due 731 days after each day and weekly ones (one due after 731 days) give
    their frequency many periods to look at; the monthly and quarterly KPIs beside them, their
    formulas and their units' values derived from below are still the reference's rows."""
    from lineofsight.services.apply import apply_file
    from lineofsight.services.measurements import load_file

    kpi = "  - {{id: {id}, name: {id}, unit: {unit}, owner: boss, frequency: {frequency},\n"
    kpi += "     direction: increase, target: {{value: 100, by: 2027-06-30}}{extra}}}\n"
    kpis = [
        ("d", "co", "daily", ", due_days: 731, aggregation: sum"),
        ("d2", "co", "daily", ", formula: 'd * 2', due_days: 731"),
        ("w", "co", "weekly", ", aggregation: sum"),
        ("wl", "east", "weekly", ", due_days: 731, aggregation: last"),
        ("m", "co", "monthly", ", aggregation: sum"),
        ("mw", "co", "monthly", ", formula: 'm + w'"),
        ("q", "west", "quarterly", ", due_days: 40"),
        ("qm", "co", "quarterly", ", aggregation: mean"),
    ]
    (tmp_path / "strategy.yaml").write_text(
        "version: 1\norganization:\n  name: T\n  units:\n    - {id: co, name: Co, level: company}\n"
        "    - {id: east, name: East, level: department, parent: co}\n"
        "    - {id: west, name: West, level: department, parent: co}\n"
        "  people:\n    - {id: boss, name: Boss, unit: co}\n"
        "strategy: {mission: M, vision: V}\n"
        "objectives:\n  - {id: o1, title: O, level: tactical, unit: co, owner: boss}\n"
        "kpis:\n" + "".join(kpi.format(id=i, unit=u, frequency=f, extra=e) for i, u, f, e in kpis)
    )
    rows = ["kpi,period,unit,value"]
    rows += [f"d,{day},,{n}" for n, day in enumerate(["2024-11-20", "2025-06-01", "2026-10-02"])]
    rows += ["d,2026-11-21,east,4", "d,2026-11-20,west,5"]
    rows += [f"w,2026-W{week:02d},,{week}" for week in (40, 41, 44, 46)]
    rows += ["w,2026-W45,east,3", "wl,2025-W02,,7", "wl,2026-W30,,8", "wl,2026-W47,west,1"]
    rows += [f"m,2026-{month:02d},east,{month}" for month in (8, 9, 10)]
    rows += ["m,2026-10,west,2", "m,2026-09,,30", "m,2025-12,,12"]
    rows += ["q,2026-Q3,,50", "q,2026-Q2,east,40", "qm,2026-Q2,,60", "qm,2026-Q3,east,70"]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    init_workspace(tmp_path / "ws", example=None, db=db_url)
    store = Store(db_url)
    try:
        apply_file(store, tmp_path / "strategy.yaml")
        load_file(store, tmp_path / "m.csv")
        for day in ("2026-12-05", "2026-11-22", "2026-10-01", "2025-12-31"):
            assert_same_scorecard(store, day)
        for period in PERIODS:
            assert_same_scorecard(store, None, period)
        # The daily KPI is looked at over two years of days: its oldest value is still found.
        rows_of_d = status_store(store, as_of="2025-06-10").kpis.filter(id="d", own_unit=True)
        assert rows_of_d.select("period", "actual").row(0) == ("2025-06-01", 1.0)
    finally:
        store.close()


def test_each_kpis_first_measured_slot_is_the_same_read_slot_by_slot_or_grouped(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each KPI's first measured slot is read slot by slot when every KPI is due within a few
    slots, else grouped from the measured values: grouped here too, the same rows."""
    from lineofsight.engine import frames

    url = f"sqlite:///{tmp_path / 's.db'}"
    copy_example(request, url, "techinnovate")  # as `los init --example` leaves it
    store = Store(url)
    try:
        slot_by_slot = [status_store(store, as_of=day).kpis for day in DATES]
        monkeypatch.setattr(frames, "FEW_SLOTS", 0)
        for day, rows in zip(DATES, slot_by_slot, strict=True):
            pt.assert_frame_equal(status_store(store, as_of=day).kpis, rows)
            assert_same_scorecard(store, day)
    finally:
        store.close()
