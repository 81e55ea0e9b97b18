"""Refreshes in one process (as `los serve`) compare with the stored values their last
refresh left, held in memory, instead of reading them again, while nothing else wrote: the
answers are those of a refresh that reads the store (late corrections inside the look-back
picked up, unchanged values neither rewritten nor revised, a value written by anyone else
meanwhile seen)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from lineofsight.services import refresh as refresh_module
from lineofsight.services import refresh_held
from lineofsight.services.refresh import refresh, refresh_jobs
from lineofsight.services.refresh_held import keep_holds
from lineofsight.store.database import Store
from tests.conftest import Los
from tests.sources.facts import MONTH, duckdb_facts, execute, stored, strategy

QUERY = (
    f"select {MONTH['duckdb']} as period, sum(amount) as value, region as unit from orders "
    "where day >= :since group by 1, 3"
)


@pytest.fixture
def revenue(los: Los, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One KPI per region and month from a DuckDB file of orders, applied."""
    monkeypatch.setenv("FACTS_URL", duckdb_facts(tmp_path))
    kpis = [{"id": "revenue", "source": {"from": "sales", "query": QUERY}}]
    (workdir / "strategy.yaml").write_text(strategy({"sales": {"url": "env:FACTS_URL"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0


@pytest.fixture
def held_given(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each refresh's comparison was given held rows (in order)."""
    given: list[bool] = []
    compare = refresh_module.compare_held

    def spy(*args: Any, **kwargs: Any) -> Any:
        given.append(args[3] is not None)
        return compare(*args, **kwargs)

    monkeypatch.setattr(refresh_module, "compare_held", spy)
    return given


def _serving(db_url: str) -> Store:
    """A store as a long-lived process (`los serve`) keeps one: its refreshes hold."""
    store = Store(db_url)
    keep_holds(store)
    return store


def _counts(db_url: str) -> tuple[int, int]:
    """How many loads and replaced values (revisions) the store records."""
    store = _serving(db_url)
    try:
        with store.reading() as conn:
            loads = conn.execute(text("SELECT COUNT(*) FROM loads")).scalar_one()
            revisions = conn.execute(
                text("SELECT COUNT(*) FROM measurement_revisions")
            ).scalar_one()
    finally:
        store.close()
    return int(loads), int(revisions)


def _summary(store: Store) -> tuple[int, int, int]:
    (summary,) = refresh(store).sources
    assert summary.state == "ok", summary.error
    return summary.added, summary.replaced, summary.unchanged


@pytest.mark.usefixtures("revenue")
def test_held_values_pick_up_a_late_correction_and_rewrite_nothing_else(
    db_url: str, held_given: list[bool]
) -> None:
    on_sqlite = db_url.startswith("sqlite")
    store = _serving(db_url)
    try:
        assert _summary(store) == (20, 0, 0)  # Jan to Oct, north and south
        before = _counts(db_url)
        # Nothing changed at the source: nothing written, no load, no revision.
        assert _summary(store) == (0, 0, 6)  # Aug to Oct again (the look-back)
        assert _counts(db_url) == before
        # A late correction inside the look-back (September, north), and one outside it.
        execute(
            os.environ["FACTS_URL"],
            "UPDATE orders SET amount = amount + 0.5 WHERE day = '2026-09-05'",
        )
        execute(
            os.environ["FACTS_URL"],
            "UPDATE orders SET amount = amount + 7 WHERE day = '2026-03-05'",
        )
        assert _summary(store) == (0, 1, 5)
        assert _counts(db_url) == (before[0] + 1, before[1] + 1)  # one write, one revision
    finally:
        store.close()
    # The first refresh read the store (nothing held yet); the next ones used what it left,
    # on SQLite (on PostgreSQL nothing is held: its ids say nothing of the commits' order).
    assert held_given == [False, on_sqlite, on_sqlite]
    values = {
        (kpi, unit, period): (value, revision)
        for kpi, unit, period, value, *_, revision in stored(db_url)
    }
    assert values["revenue", "north", "2026-09"] == (90.5, 2)  # the correction, revised
    assert values["revenue", "north", "2026-03"] == (30.0, 1)  # outside: as first read
    assert values["revenue", "south", "2026-09"] == (91.0, 1)


@pytest.mark.usefixtures("revenue")
def test_a_value_written_by_another_meanwhile_is_compared_as_stored(
    db_url: str, los: Los, workdir: Path, held_given: list[bool]
) -> None:
    store = _serving(db_url)
    try:
        assert _summary(store) == (20, 0, 0)
        # A person loads another September value for the north: the held rows are stale.
        (workdir / "fix.csv").write_text("kpi,unit,period,value\nrevenue,north,2026-09,1\n")
        assert los("load", "fix.csv").exit_code == 0
        # The source gives the value it gave before: the stored one (the person's) differs.
        assert _summary(store) == (0, 1, 5)
        assert _summary(store) == (0, 0, 6)
    finally:
        store.close()
    assert held_given == [False, False, db_url.startswith("sqlite")]
    values = {
        (kpi, unit, period): (value, revision)
        for kpi, unit, period, value, *_, revision in stored(db_url)
    }
    assert values["revenue", "north", "2026-09"] == (90.0, 3)  # the source's, again


@pytest.mark.usefixtures("revenue")
def test_a_source_of_more_rows_than_are_held_reads_the_store_each_time(
    db_url: str, held_given: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refresh_held, "HOLD_AT_MOST", 5)  # the look-back holds 6
    store = _serving(db_url)
    try:
        assert _summary(store) == (20, 0, 0)
        execute(os.environ["FACTS_URL"], "UPDATE orders SET amount = 1 WHERE day = '2026-10-20'")
        assert _summary(store) == (0, 1, 5)
    finally:
        store.close()
    assert held_given == [False, False]


@pytest.mark.usefixtures("revenue")
def test_a_one_shot_refresh_holds_nothing(los: Los, monkeypatch: pytest.MonkeyPatch) -> None:
    """`los refresh` exits when done: it keeps no source's rows while it refreshes the next."""
    held: list[object] = []
    keep = refresh_module.hold
    monkeypatch.setattr(refresh_module, "hold", lambda s, k, h: held.append(h) or keep(s, k, h))
    for _ in range(2):
        result = los("refresh", "--all")
        assert result.exit_code == 0, result.output
    assert held == [None, None]


def _sources(los: Los, workdir: Path, names: str, schedules: tuple[str, ...] = ()) -> None:
    """KPI revenue_X from the source X, for each X of `names` (with `schedules`: every KPI
    from the source "sales", each on its schedule), applied."""
    kpis: list[dict[str, Any]] = [
        {"id": f"revenue_{name}", "source": {"from": name, "query": QUERY}} for name in names
    ]
    sources = {name: {"url": "env:FACTS_URL"} for name in names}
    if schedules:
        for kpi, schedule in zip(kpis, schedules, strict=True):
            kpi["source"] = {**kpi["source"], "from": "sales", "schedule": schedule}
        sources = {"sales": {"url": "env:FACTS_URL"}}
    (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
    result = los("apply", "strategy.yaml")
    assert result.exit_code == 0, result.output


def _held(store: Store) -> dict[str, int]:
    """What the process holds of `store`: rows by source (and KPIs), least recently used
    first."""
    held = refresh_held._HELD.get(store, {})
    return {f"{s}:{','.join(sorted(k))}": h.rows.height for (s, k), h in held.items()}


def _facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("nothing is held on PostgreSQL (its ids say nothing of the commits' order)")
    monkeypatch.setenv("FACTS_URL", duckdb_facts(tmp_path))


def _refresh(store: Store, *sources: str) -> None:
    report = refresh(store, sources=sources)
    assert all(s.state == "ok" for s in report.sources), report


def test_a_hold_the_store_moved_past_is_let_go_at_the_next_refresh(
    los: Los, workdir: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _facts(tmp_path, monkeypatch, db_url)
    _sources(los, workdir, "ab")
    store = _serving(db_url)
    try:
        _refresh(store)
        # The second source's write moved the store past the first one's hold.
        assert _held(store) == {"b:revenue_b": 6}
        _refresh(store)
        assert _held(store) == {"b:revenue_b": 6, "a:revenue_a": 6}  # nothing written
        # A person loads a value: neither hold can be used again; the next refresh of one
        # source lets the other's go too.
        (workdir / "fix.csv").write_text("kpi,unit,period,value\nrevenue_a,north,2026-09,1\n")
        assert los("load", "fix.csv").exit_code == 0
        _refresh(store, "b")
        assert _held(store) == {"b:revenue_b": 6}
    finally:
        store.close()


def test_past_the_budget_the_hold_used_least_recently_is_let_go(
    los: Los,
    workdir: Path,
    tmp_path: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    held_given: list[bool],
) -> None:
    _facts(tmp_path, monkeypatch, db_url)
    _sources(los, workdir, "abc")
    monkeypatch.setattr(refresh_held, "HOLD_IN_ALL", 12)  # two sources' six rows, not three
    store = _serving(db_url)
    try:
        _refresh(store)  # each write moves the store past the hold before it
        _refresh(store)  # nothing written: each holds, the third lets the first go
        assert _held(store) == {"b:revenue_b": 6, "c:revenue_c": 6}
        _refresh(store, "b")  # uses its hold: c is now the least recently used
        _refresh(store, "a")
        assert _held(store) == {"b:revenue_b": 6, "a:revenue_a": 6}
        _refresh(store, "b")
    finally:
        store.close()
    assert held_given == [False] * 6 + [True, False, True]


def test_the_kpis_of_each_schedule_of_a_source_keep_their_own_hold(
    los: Los,
    workdir: Path,
    tmp_path: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _facts(tmp_path, monkeypatch, db_url)
    _sources(los, workdir, "ab", schedules=("daily", "hourly"))
    given: list[frozenset[str] | None] = []
    compare = refresh_module.compare_held

    def spy(*args: Any, **kwargs: Any) -> Any:
        rows = args[3]
        given.append(None if rows is None else frozenset(rows.get_column("kpi_id")))
        return compare(*args, **kwargs)

    monkeypatch.setattr(refresh_module, "compare_held", spy)
    store = _serving(db_url)
    try:
        jobs = {job.schedule_text: job for job in refresh_jobs(store)}
        assert sorted(jobs) == ["daily", "hourly"]
        for schedule in ["daily", "hourly"] * 3:
            jobs[schedule].run(store)
        assert _held(store) == {"sales:revenue_a": 6, "sales:revenue_b": 6}
    finally:
        store.close()
    # The first rounds write (each moves the store past the other's hold); then each job is
    # given its own KPIs' rows, never the other schedule's.
    assert given == [None, None, None, {"revenue_b"}, {"revenue_a"}, {"revenue_b"}]
