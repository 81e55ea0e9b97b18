"""The forecast calls kept for the attention lists (and each KPI's forecast kept with them),
brought up to date after writes of values (by each write, or by the lists), are what a full
forecast makes: random check-ins and deletes, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text

from lineofsight.domain import model as m
from lineofsight.domain.graph import organisation_graph, reachable_in
from lineofsight.engine.forecast_kept import forecast_of
from lineofsight.errors import UsageError
from lineofsight.services import attention_forecast
from lineofsight.services.attention_forecast import _key, kept_forecast, off_track
from lineofsight.services.checkin import delete_measurement, record_measurement
from lineofsight.services.evaluate import load_organization
from lineofsight.store.check_results import read_check_state, read_kept_report
from lineofsight.store.database import Store
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)
from tests.seeds import DATABASES, paired, spread

AS_OF = dt.date(2026, 11, 22)
PERIODS = {
    m.Frequency.MONTHLY: ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"],
    m.Frequency.QUARTERLY: ["2026-Q1", "2026-Q2", "2026-Q3"],
    m.Frequency.YEARLY: ["2025", "2026"],
}
FORECAST = attention_forecast._forecast  # the real one, whatever a test puts in its place


@pytest.fixture(params=["manufacturing", "techinnovate"])
def store(request: pytest.FixtureRequest, unmade_db_url: str) -> Iterator[Store]:
    copy_example(request, unmade_db_url, request.param)  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[set[str] | None]:
    """The KPIs each forecast made by `off_track` was asked for (None: every one)."""
    calls: list[set[str] | None] = []

    def spy(store: Store, org: m.Organization, as_of: dt.date, kpi_ids: Any, **kwargs: Any) -> Any:
        calls.append(None if kpi_ids is None else set(kpi_ids))
        return FORECAST(store, org, as_of, kpi_ids, **kwargs)

    monkeypatch.setattr(attention_forecast, "_forecast", spy)
    return calls


@pytest.fixture
def unrefreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes leave the kept calls as they are (`refresh_kept_forecast` after each write
    does nothing): the lists bring them up to date themselves."""
    monkeypatch.setattr(attention_forecast, "refresh_kept_forecast", lambda *_: None)


def _kept_rows_are_fresh(store: Store) -> int:
    """Each KPI's forecast kept is the one a whole forecast made now keeps, and nothing else
    is kept; how many are kept."""
    org = load_organization(store)
    kpis = {k.id: k for k in org.kpis}
    fresh = FORECAST(store, None, AS_OF, None).rows
    for row in fresh.iter_rows():
        kpi = kpis[row[0]]
        kept = kept_forecast(store, kpi, row[1], AS_OF, org.calendar)
        assert kept is not None and kept == forecast_of(row, kpi, org.calendar), row[0]
    with store.reading() as conn:
        count = conn.execute(text("SELECT count(*) FROM kept_forecasts")).scalar_one()
    assert count == fresh.height
    return count


def _full(store: Store, as_of: dt.date = AS_OF) -> Any:
    """The calls of a forecast of the whole organisation made now, nothing kept read."""
    return FORECAST(store, load_organization(store), as_of, None).calls


def _write(store: Store, rng: random.Random, org: m.Organization) -> set[str]:
    """A few random check-ins and deletes of measured KPIs; the KPIs written."""
    measured = [k for k in org.kpis if k.formula is None and k.frequency in PERIODS]
    written: set[str] = set()
    for _ in range(rng.randint(1, 5)):
        kpi = rng.choice(measured)
        unit = rng.choice([kpi.unit, *(u for u, _ in kpi.unit_targets)])
        period = rng.choice(PERIODS[kpi.frequency])
        try:
            if rng.random() < 0.25:
                delete_measurement(store, kpi_id=kpi.id, unit_id=unit, period=period, actor="t")
            elif kpi.ratio is not None:
                record_measurement(
                    store,
                    kpi_id=kpi.id,
                    unit_id=unit,
                    period=period,
                    numerator=float(rng.randint(0, 50)),
                    denominator=float(rng.randint(50, 100)),
                    actor="t",
                )
            else:
                low = kpi.bounds.min if kpi.bounds and kpi.bounds.min is not None else 0.0
                high = kpi.bounds.max if kpi.bounds and kpi.bounds.max is not None else low + 200
                value = round(rng.uniform(low, high), 2)
                record_measurement(
                    store, kpi_id=kpi.id, unit_id=unit, period=period, value=value, actor="t"
                )
        except UsageError:
            continue  # nothing to delete there, or a value the KPI does not take
        written.add(kpi.id)
    return written


@spread(1, turn=1)
def test_kept_calls_brought_up_to_date_equal_a_full_forecast_after_random_writes(
    store: Store, seed: int, asked: list[set[str] | None]
) -> None:
    rng = random.Random(seed)
    org = load_organization(store)
    first = off_track(store, AS_OF)
    assert asked == [None]  # nothing kept: made in full
    assert_frame_equal(first, _full(store))
    seen = first.height
    rows = _kept_rows_are_fresh(store)
    for _ in range(5):
        asked.clear()
        written = _write(store, rng, org)
        if written:
            # Each write brought the kept calls up to date after its commit, forecasting
            # again only the KPIs it wrote (and the formulas above them).
            assert asked and all(a is not None for a in asked)
            again = set().union(*(a for a in asked if a is not None))
            assert written <= again and len(again) < len(org.kpis)
        with store.reading() as conn:
            state = read_check_state(conn)
            kept = read_kept_report(conn, _key(AS_OF))
        assert kept is not None and kept[0] == state  # kept, fresh for this state
        rows += _kept_rows_are_fresh(store)  # each KPI's forecast too, as a page reads it
        asked.clear()
        got = off_track(store, AS_OF)
        assert asked == []  # read back, nothing forecast
        assert_frame_equal(got, _full(store))
        seen += got.height
    assert seen > 0 and rows > 0  # the comparisons compare something


@pytest.mark.parametrize(
    ("store", "unmade_db_url"),
    [pytest.param("manufacturing", db, id=f"manufacturing-{db}") for db in DATABASES],
    indirect=True,
)
def test_a_write_brings_the_kept_forecast_up_to_date_from_the_kpis_it_forecasts_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, asked: list[set[str] | None]
) -> None:
    """A check-in of a formula's input brings the kept forecast up to date from the
    definitions and measurements of the KPIs it forecasts again (the input and the formulas
    above it) and of what those formulas read: the formulas above the input found in what
    the scorecard the check-in brought up to date holds, not in every KPI's definition (nor
    every formula's, nor every measurement); each KPI's kept forecast is then the one a
    whole forecast makes."""
    from lineofsight.services import evaluate
    from lineofsight.store import forecast_reads

    org = load_organization(store)
    graph = organisation_graph(org)
    formula = next(k for k in org.kpis if k.formula is not None and k.target is not None)
    measured = graph.kpis[graph.formula_inputs[formula.id][0]]
    assert measured.formula is None and measured.frequency in PERIODS
    off_track(store, AS_OF)
    whole: list[str] = []
    for module, name in (
        (evaluate, "read_definition_frames"),
        (forecast_reads, "read_forecast_definitions"),
        (forecast_reads, "read_forecast_measurements"),
        (forecast_reads, "read_formula_kpis"),
    ):

        def spy(*args: Any, _real: Any = getattr(module, name), _name: str = name) -> Any:
            whole.append(_name)
            return _real(*args)

        monkeypatch.setattr(module, name, spy)
    some: list[set[str]] = []
    real_some = forecast_reads.read_some_forecast_definitions

    def some_spy(store_: Store, kpi_ids: Any, unit_ids: Any) -> Any:
        some.append(set(kpi_ids))
        return real_some(store_, kpi_ids, unit_ids)

    monkeypatch.setattr(forecast_reads, "read_some_forecast_definitions", some_spy)
    asked.clear()
    record_measurement(
        store,
        kpi_id=measured.id,
        unit_id=measured.unit,
        period=PERIODS[measured.frequency][-1],
        value=61.5,
        actor="t",
    )
    again = reachable_in([measured.id], graph.formula_users)
    assert formula.id in again
    assert asked == [again]  # the input and the formulas above it, forecast again
    assert whole == []
    assert some == [graph.read_through(again)]  # with what those formulas read
    monkeypatch.undo()
    with store.reading() as conn:
        kept = read_kept_report(conn, _key(AS_OF))
        assert kept is not None and kept[0] == read_check_state(conn)
    assert _kept_rows_are_fresh(store) > 0


@paired(turn=0)
def test_a_write_during_the_forecast_leaves_no_calls_marked_fresh(
    store: Store, monkeypatch: pytest.MonkeyPatch, unrefreshed: None
) -> None:
    org = load_organization(store)
    off_track(store, AS_OF)
    rng = random.Random(7)
    _write(store, rng, org)
    written: set[str] = set()

    def racing(
        store_: Store, org_: m.Organization, as_of: dt.date, kpi_ids: Any, **kwargs: Any
    ) -> Any:
        calls = FORECAST(store_, org_, as_of, kpi_ids, **kwargs)
        while not written:  # a check-in commits after the values were read
            written.update(_write(store, rng, org))
        return calls

    monkeypatch.setattr(attention_forecast, "_forecast", racing)
    off_track(store, AS_OF)
    monkeypatch.setattr(attention_forecast, "_forecast", FORECAST)
    with store.reading() as conn:
        state = read_check_state(conn)
        kept = read_kept_report(conn, _key(AS_OF))
    assert kept is None or kept[0] != state  # not claimed for the state after that write
    assert_frame_equal(off_track(store, AS_OF), _full(store))


@paired(turn=1)
def test_a_check_report_saved_after_a_write_keeps_the_calls_and_another_date_replaces_them(
    store: Store, asked: list[set[str] | None], unrefreshed: None
) -> None:
    from lineofsight.services.check import check

    off_track(store, AS_OF)
    _write(store, random.Random(3), load_organization(store))
    check(file=None, store=store, as_of=AS_OF)  # keeps its report on the new state
    asked.clear()
    assert_frame_equal(off_track(store, AS_OF), _full(store))
    assert asked and asked[0] is not None  # brought up to date, not made again in full
    other = dt.date(2026, 12, 31)
    off_track(store, other)
    with store.reading() as conn:
        assert read_kept_report(conn, _key(AS_OF)) is None  # one date kept at a time
        assert read_kept_report(conn, _key(other)) is not None


def _applied(store: Store, org: m.Organization) -> None:
    from lineofsight.services.apply import apply_organization

    apply_organization(store, org, source="t")


@paired(turn=0)
def test_an_apply_of_changed_kpis_forecasts_only_those_again(
    store: Store, asked: list[set[str] | None]
) -> None:
    """A KPI's target moved, another KPI removed: the kept calls are brought up to date with those
    KPIs (and the formulas above them) forecast again, and equal a full forecast."""
    from dataclasses import replace

    org = load_organization(store)
    first = off_track(store, AS_OF)
    targeted = [k for k in org.kpis if k.target is not None and k.formula is None]
    moved = next(k for k in targeted if k.direction is m.Direction.INCREASE)
    assert moved.target is not None
    far = m.FinalTarget(moved.target.value * 10 + 1000, moved.target.by)
    named = {c.kpi for k in org.kpis for c in k.contributes_to}
    named |= {i for k in org.kpis for i in k.influences}
    formulas = " ".join(k.formula or "" for k in org.kpis)
    others = [k for k in targeted if k.id != moved.id and k.id not in named]
    others = [k for k in others if k.id not in formulas]  # nothing else names it
    gone = next((k for k in others if k.id in set(first["id"].to_list())), others[0])
    changed = tuple(
        replace(k, target=far) if k.id == moved.id else k for k in org.kpis if k.id != gone.id
    )
    asked.clear()
    _applied(store, replace(org, kpis=changed))
    # The apply brought the kept forecast up to date itself: each KPI's as a whole forecast
    # made now keeps it, the KPI removed gone; the lists read it back.
    assert len(asked) == 1 and asked[0] is not None
    assert moved.id in asked[0] and len(asked[0]) < len(org.kpis)
    assert _kept_rows_are_fresh(store) > 0
    got = off_track(store, AS_OF)
    assert_frame_equal(got, _full(store))
    assert gone.id not in got["id"].to_list()
    assert len(asked) == 1


@paired(turn=1)
def test_an_apply_that_changes_a_unit_forecasts_everything_again(
    store: Store, asked: list[set[str] | None]
) -> None:
    from dataclasses import replace

    org = load_organization(store)
    off_track(store, AS_OF)
    unit = replace(org.units[-1], name=org.units[-1].name + " (renamed)")
    asked.clear()
    _applied(store, replace(org, units=(*org.units[:-1], unit)))
    assert_frame_equal(off_track(store, AS_OF), _full(store))
    assert asked == [None]  # made again in full


@paired(turn=0)
def test_a_units_list_after_a_write_brings_the_kept_calls_up_to_date(
    store: Store, asked: list[set[str] | None], unrefreshed: None
) -> None:
    """A list of a few KPIs (one unit's, the off-track page of a unit) asked after a write
    brings the whole organisation's kept calls up to date and keeps them, rather than
    forecasting its KPIs alone and leaving the next list of the organisation to start over."""
    rng = random.Random(7)
    org = load_organization(store)
    off_track(store, AS_OF)
    written: set[str] = set()
    while not written:
        written = _write(store, rng, org)
    scope = sorted({k.id for k in org.kpis if k.unit == org.units[0].id} | written)
    asked.clear()
    got = off_track(store, AS_OF, scope)
    full = _full(store)
    assert_frame_equal(got, full.filter(full["id"].is_in(scope)))
    assert len(asked) == 1 and asked[0] is not None and written <= asked[0]
    asked.clear()
    assert_frame_equal(off_track(store, AS_OF), full)  # read back: kept, fresh
    assert asked == []


@paired(turn=0)
def test_every_kpis_calls_made_in_a_second_process_are_a_full_forecasts_and_kept(
    store: Store, monkeypatch: pytest.MonkeyPatch, asked: list[set[str] | None]
) -> None:
    # Every list at once with nothing kept: the forecast of the whole organisation is made in
    # a second process while the lists are built, then kept; the next lists read it back.
    from lineofsight.services.attention import attention_board, attention_lists

    monkeypatch.setattr(attention_forecast, "ASIDE_KPIS", 0)
    monkeypatch.setattr(attention_forecast, "_cores", lambda: 2)
    expected = _full(store)
    asked.clear()
    collect = attention_forecast.off_track_aside(store, AS_OF, 1)
    assert_frame_equal(collect(), expected)
    assert asked == []  # made in the other process, not in this one
    attention_forecast.settle()  # which keeps them after handing them over
    with store.reading() as conn:
        assert read_kept_report(conn, _key(AS_OF)) is not None
    assert_frame_equal(off_track(store, AS_OF), expected)
    assert asked == []  # read back
    lists = attention_lists(store, AS_OF)
    assert any(i.kind == "off_track" for items in lists.values() for i in items)
    # Placed last into lists already cut: each list as cut from a board of every item.
    board = attention_board(store, AS_OF)
    assert lists == {person: board.for_person(person) for person in lists}


@paired(turn=1)
def test_a_second_process_that_fails_leaves_the_forecast_to_this_one(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, asked: list[set[str] | None]
) -> None:
    monkeypatch.setattr(attention_forecast, "ASIDE_KPIS", 0)
    monkeypatch.setattr(attention_forecast, "_cores", lambda: 2)
    expected = _full(store)
    asked.clear()
    real = store.url
    # The other process opens a store with no strategy: it fails, and this one forecasts.
    monkeypatch.setattr(store, "url", f"sqlite:///{tmp_path / 'elsewhere' / 'empty.db'}")
    collect = attention_forecast.off_track_aside(store, AS_OF, 1)
    monkeypatch.setattr(store, "url", real)
    assert_frame_equal(collect(), expected)
    assert asked == [None]


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """The second processes started (always, whatever the organisation's size), each by its
    own handle: what becomes of them is checked on the handle, not by looking for them."""
    monkeypatch.setattr(attention_forecast, "ASIDE_KPIS", 0)
    monkeypatch.setattr(attention_forecast, "_cores", lambda: 2)
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(subprocess, "Popen", popen)
    return started


@paired(turn=0)
def test_a_second_process_never_collected_is_stopped_when_let_go(
    store: Store, children: list[subprocess.Popen[bytes]]
) -> None:
    # The caller failed before collecting (a busy store, a failed check): the second process
    # must not stay blocked on its output forever beside a server.
    import gc

    collect = attention_forecast.off_track_aside(store, AS_OF, 1)
    assert len(children) == 1
    (child,) = children
    del collect
    gc.collect()
    # Waited for (stopped if it was still running, blocked or not): reaped, not a zombie.
    # Whether it had ended by itself first does not matter, so nothing here depends on timing.
    assert child.returncode is not None
    assert child.stdout is not None and child.stdout.closed


@paired(turn=1)
def test_a_second_process_is_stopped_when_this_process_fails_while_helping(
    store: Store, children: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process failed while fitting a batch it took (out of memory, a bug): the second
    # process, which waits for that batch, is stopped and its pipes closed, not left blocked
    # for as long as this process (a server) lives.
    def failing_help(*_: Any) -> bytes:
        raise MemoryError("no memory left for a batch")

    monkeypatch.setattr(attention_forecast, "_help", failing_help)
    collect = attention_forecast.off_track_aside(store, AS_OF, 1)
    (child,) = children
    with pytest.raises(MemoryError):
        collect()
    assert child.returncode is not None
    assert child.stdout is not None and child.stdout.closed
    assert child.stdin is not None and child.stdin.closed


@paired(turn=0)
def test_the_second_process_does_not_run_modules_of_the_working_folder(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    asked: list[set[str] | None],
) -> None:
    monkeypatch.setattr(attention_forecast, "ASIDE_KPIS", 0)
    monkeypatch.setattr(attention_forecast, "_cores", lambda: 2)
    expected = _full(store)
    asked.clear()
    # A module named like one the second process imports, in the folder los runs from.
    folder = tmp_path / "here"
    folder.mkdir()
    (folder / "json.py").write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(folder)
    collect = attention_forecast.off_track_aside(store, AS_OF, 1)
    assert_frame_equal(collect(), expected)
    assert asked == []  # made by the second process, not handed back to this one
