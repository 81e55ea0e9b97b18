"""The reads of a status computed in full, made in parts at once, give the rows of one read:
the measurements of a window a month at a time, the KPIs' table in two halves,
the labels read with the definitions. On SQLite (through ADBC, in threads) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text

from lineofsight.engine.frame_definitions import DEFINITION_COLUMNS
from lineofsight.services.evaluate import (
    frame_windows,
    read_definition_frames,
    read_definitions_and_labels,
    read_scoring_inputs,
    scoring_measurements,
)
from lineofsight.store import arrow, scorecard_reads
from lineofsight.store.database import Store
from lineofsight.store.labels import read_labels
from lineofsight.store.scorecard_reads import read_definition_tables, read_measurement_rows
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, "techinnovate")  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_measurements_read_in_parts_are_those_read_at_once(store: Store) -> None:
    defs = read_definition_frames(store)
    windows = frame_windows(defs, AS_OF)
    window = min(s for s, _ in windows.values()), max(e for _, e in windows.values())
    latest = max(s for s, _ in windows.values())
    early = (latest, sorted(f for f, (s, _) in windows.items() if s < latest))
    whole = read_measurement_rows(store, window, early)
    assert whole.height > 0
    parts = read_measurement_rows(store, window, early, monthly=True)
    assert_frame_equal(_sorted(parts), _sorted(whole))
    parts = read_measurement_rows(store, window, monthly=True)
    assert_frame_equal(_sorted(parts), _sorted(read_measurement_rows(store, window)))
    # Windows of a day, within a month, across a year's end.
    for first, last in (
        (dt.date(2026, 10, 31), dt.date(2026, 10, 31)),
        (dt.date(2026, 9, 2), dt.date(2026, 9, 29)),
        (dt.date(2025, 11, 15), dt.date(2026, 2, 28)),
    ):
        parts = read_measurement_rows(store, (first, last), monthly=True)
        assert_frame_equal(_sorted(parts), _sorted(read_measurement_rows(store, (first, last))))


def test_definitions_read_with_their_labels_are_those_read_apart(store: Store) -> None:
    defs, labels = read_definitions_and_labels(store)
    alone = read_definition_frames(store)
    for name in ("kpis", "period_targets", "unit_targets", "supports", "objectives", "units"):
        assert_frame_equal(getattr(defs, name), getattr(alone, name))
        assert list(getattr(defs, name).columns) == list(DEFINITION_COLUMNS[name])
    assert (defs.calendar, defs.scoring) == (alone.calendar, alone.scoring)
    apart = read_labels(store)
    assert_frame_equal(labels.kpis, apart.kpis)
    assert_frame_equal(labels.objectives, apart.objectives)
    assert_frame_equal(labels.units, apart.units)
    found = read_definition_tables(store, DEFINITION_COLUMNS, labels=True)
    assert found is not None
    # The KPIs of one plain SELECT (on SQLite in the order of the table's scan, which the two
    # halves claim to keep).
    with store.reading() as conn:
        plain = [row[0] for row in conn.execute(text("SELECT * FROM kpis")).all()]
    assert len(plain) > 2
    if store.dialect == "sqlite":
        assert found[1]["kpis"]["id"].to_list() == plain
    else:
        assert sorted(found[1]["kpis"]["id"].to_list()) == sorted(plain)


def test_months_cut_a_window_into_calendar_months() -> None:
    from lineofsight.store.scorecard_reads import _months

    assert _months(dt.date(2025, 11, 15), dt.date(2026, 2, 3)) == [
        (dt.date(2025, 11, 15), dt.date(2025, 11, 30)),
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 3)),
    ]
    assert _months(dt.date(2026, 10, 31), dt.date(2026, 10, 31)) == [
        (dt.date(2026, 10, 31), dt.date(2026, 10, 31))
    ]


# Between the parts of a read, another process commits a write.


def _commit_elsewhere(store: Store, statements: list[str]) -> None:
    """Run `statements` in one transaction of another connection (on SQLite, of another
    process: this one is inside its Arrow reader's turn) and commit."""
    if store.dialect == "sqlite":
        assert store.sqlite_file is not None
        script = (
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "for s in sys.argv[2:]: c.execute(s)\n"
            "c.execute('COMMIT')\n"
        )
        subprocess.run(
            [sys.executable, "-P", "-c", script, store.sqlite_file, *statements],
            check=True,
            timeout=60,
        )
        return
    other = Store(store.url)
    try:
        with other.transaction() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        other.close()


def _write_after_first(
    monkeypatch: pytest.MonkeyPatch,
    adbc: bool,
    first: Callable[[tuple[Any, ...]], bool],
    write: Callable[[], None],
) -> None:
    """Each part of the reads made through `arrow` waits until the part that `first` picks
    (by its arguments) is read and `write` committed after it (`adbc`: the parts read at
    once through ADBC, else one after the other through SQLAlchemy)."""
    done = threading.Event()
    name = "_adbc_frame" if adbc else "frame_of"
    real = getattr(arrow, name)

    def part(*args: Any) -> Any:
        if first(args):
            frame = real(*args)
            write()
            done.set()
            return frame
        assert done.wait(60), "the first part was never read"
        return real(*args)

    monkeypatch.setattr(arrow, name, part)


def test_kpis_read_in_halves_beside_an_apply_are_each_there_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.arrow_file is None:
        pytest.skip("the KPIs' table is read in halves only through ADBC on an SQLite file")
    with store.reading() as conn:
        ids = {row[0] for row in conn.execute(text("SELECT id FROM kpis")).all()}
    # An apply rewrites a changed KPI by delete and insert: a new row id, past the first half.
    moved = (
        "CREATE TEMP TABLE moved AS SELECT * FROM kpis WHERE rowid = (SELECT min(rowid) FROM kpis)",
        "DELETE FROM kpis WHERE rowid = (SELECT min(rowid) FROM kpis)",
        "INSERT INTO kpis SELECT * FROM moved",
    )
    _write_after_first(
        monkeypatch,
        True,
        lambda args: "rowid <=" in args[1],
        lambda: _commit_elsewhere(store, list(moved)),
    )
    found = read_definition_tables(store, DEFINITION_COLUMNS)
    assert found is not None
    read = found[1]["kpis"]["id"].to_list()
    assert sorted(read) == sorted(ids)  # each KPI once
    monkeypatch.undo()
    with store.reading() as conn:
        plain = [row[0] for row in conn.execute(text("SELECT * FROM kpis")).all()]
    assert read == plain  # the table as it is after the apply, in its order


def test_measurements_read_month_by_month_beside_a_load_are_of_one_state(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = (dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    before = _sorted(read_measurement_rows(store, window))
    august = before.filter(pl.col("period_end").dt.month() == 8).row(0, named=True)
    october = before.filter(pl.col("period_end").dt.month() == 10).row(0, named=True)
    # One load that writes a value of August and one of October.
    load = [
        f"UPDATE measurements SET value = 1000 + value WHERE kpi_id = '{row['kpi_id']}' "
        f"AND unit_id = '{row['unit_id']}' AND period = '{row['period']}'"
        for row in (august, october)
    ]
    adbc = store.arrow_file is not None
    calls = []

    def first(args: tuple[Any, ...]) -> bool:
        if adbc:  # August's read (not that of the rows with a numerator, from August on)
            return list(args[2]) == [dt.date(2026, 8, 1), dt.date(2026, 8, 31)]
        calls.append(args)
        return len(calls) == 1

    _write_after_first(monkeypatch, adbc, first, lambda: _commit_elsewhere(store, load))
    parts = _sorted(read_measurement_rows(store, window, monthly=True))
    monkeypatch.undo()
    after = _sorted(read_measurement_rows(store, window))
    assert not before.equals(after)
    assert parts.equals(before) or parts.equals(after), "half of a load read"


def test_definitions_and_measurements_read_together_are_those_read_apart(store: Store) -> None:
    defs, labels, measurements = read_scoring_inputs(store, AS_OF)
    apart, apart_labels = read_definitions_and_labels(store)
    for name in ("kpis", "period_targets", "unit_targets", "supports", "objectives", "units"):
        assert_frame_equal(getattr(defs, name), getattr(apart, name))
    assert (defs.calendar, defs.scoring) == (apart.calendar, apart.scoring)
    for kind in ("kpis", "objectives", "units"):
        assert_frame_equal(getattr(labels, kind), getattr(apart_labels, kind))
    assert measurements.height > 0
    for day, lag in ((AS_OF, True), (AS_OF, False), (dt.date(2026, 1, 15), True)):
        together = read_scoring_inputs(store, day, lag)[2]
        assert_frame_equal(_sorted(together), _sorted(scoring_measurements(store, apart, day, lag)))


def test_definitions_and_measurements_read_beside_a_load_are_of_one_state(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _sorted(read_scoring_inputs(store, AS_OF)[2])
    october = before.filter(pl.col("period_end").dt.month() == 10).row(0, named=True)
    load = [
        f"UPDATE measurements SET value = 1000 + value WHERE kpi_id = '{october['kpi_id']}' "
        f"AND unit_id = '{october['unit_id']}' AND period_end = '2026-10-31'"
    ]
    adbc = store.arrow_file is not None
    calls = []

    def first(args: tuple[Any, ...]) -> bool:
        # The first of the KPIs' reads: the measurements' are made of it.
        if adbc:
            return "FROM kpis WHERE rowid <=" in args[1]
        calls.append(args)
        return len(calls) == 1

    _write_after_first(monkeypatch, adbc, first, lambda: _commit_elsewhere(store, load))
    parts = _sorted(read_scoring_inputs(store, AS_OF)[2])
    monkeypatch.undo()
    after = _sorted(read_scoring_inputs(store, AS_OF)[2])
    assert not before.equals(after)
    assert parts.equals(before) or parts.equals(after), "half of a load read"


def test_the_calendar_is_read_of_the_same_state_as_the_kpis(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An apply that changes the organisation's due days (and the KPIs' own) lands right after
    # the first look at the organisation: the calendar scored with is that of the KPIs read.
    real = scorecard_reads._organization_row

    def then_an_apply(of: Store) -> Any:
        found = real(of)
        _commit_elsewhere(
            store,
            ["UPDATE organization SET due_days = due_days + 20", "UPDATE kpis SET due_days = NULL"],
        )
        return found

    monkeypatch.setattr(scorecard_reads, "_organization_row", then_an_apply)
    read = read_scoring_inputs(store, AS_OF)[0]
    monkeypatch.undo()
    fresh = read_scoring_inputs(store, AS_OF)[0]
    assert fresh.kpis["due_days"].null_count() == fresh.kpis.height
    assert read.kpis["due_days"].null_count() == fresh.kpis.height
    assert read.calendar == fresh.calendar


def test_the_early_part_read_day_by_day_is_the_rows_tested_by_id(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an SQLite file the early part of a window (the months only some frequencies look
    at) is read day by day along the primary key when its last days are few and its KPIs a
    small share: the same rows in the same order as testing every row against their ids."""
    chosen: list[list[str] | None] = []
    real = scorecard_reads._by_day

    def spy(*args: Any) -> list[str] | None:
        chosen.append(real(*args))
        return chosen[-1]

    monkeypatch.setattr(scorecard_reads, "_by_day", spy)
    read_scoring_inputs(store, AS_OF)
    # Here 33 of the 34 KPIs (monthly and quarterly: a weekly one looks back least) and
    # more than 8 days: tested by id (and always on PostgreSQL).
    assert chosen == [None]
    if store.arrow_file is None:
        return
    defs = read_definition_frames(store)
    every = read_measurement_rows(store)
    decisions: list[bool] = []
    for window, early in (
        ((dt.date(2026, 4, 1), dt.date(2026, 11, 22)), (dt.date(2026, 10, 5), ["monthly"])),
        ((dt.date(2026, 9, 1), dt.date(2026, 11, 22)), (dt.date(2026, 10, 1), ["quarterly"])),
        ((dt.date(2026, 6, 1), dt.date(2026, 11, 22)), (dt.date(2026, 7, 1), ["quarterly"])),
        ((dt.date(2026, 6, 1), dt.date(2026, 11, 22)), (dt.date(2026, 7, 1), ["weekly"])),
    ):
        mine = defs.kpis.filter(pl.col("frequency").is_in(early[1]))["id"].to_list()
        days = every.filter(
            (pl.col("period_end") >= window[0]) & (pl.col("period_end") < early[0])
        )["period_end"].n_unique()
        with store.arrow_turn():
            decided = real(store, defs.kpis, window, early)
        few = days <= 8 and days * len(mine) <= defs.kpis.height
        assert decided == (mine if few else None), (window, early)
        decisions.append(few)
        for ended in (False, True):  # in the columns of a plain read and of one through ADBC
            reads = scorecard_reads._measurement_reads
            tested = arrow.read_frames(store, reads(window, early, False, ended=ended))
            by_day = arrow.read_frames(store, reads(window, early, False, mine, ended))
            assert_frame_equal(by_day[-1], tested[-1])  # the same rows in the same order
    assert tested[-1].height > 0
    assert True in decisions and False in decisions, decisions


def test_measurements_read_with_the_kpis_given_choose_the_early_part_read_alike(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the KPIs known already (definitions held in memory, kept in the store, or of a
    kept scorecard), the measurements' read chooses the early part's way as a read beside
    the definitions does (day by day when it pays, on an SQLite file): the same rows in the
    same order as without the KPIs given."""
    chosen: list[list[str] | None] = []
    real = scorecard_reads._by_day

    def spy(*args: Any, **kwargs: Any) -> list[str] | None:
        chosen.append(real(*args, **kwargs))
        return chosen[-1]

    monkeypatch.setattr(scorecard_reads, "_by_day", spy)
    defs = read_definition_frames(store)
    for window, early in (
        ((dt.date(2026, 4, 1), dt.date(2026, 11, 22)), (dt.date(2026, 10, 5), ["monthly"])),
        ((dt.date(2026, 9, 1), dt.date(2026, 11, 22)), (dt.date(2026, 10, 1), ["quarterly"])),
    ):
        given = read_measurement_rows(store, window, early, kpis=defs.kpis)
        assert_frame_equal(given, read_measurement_rows(store, window, early))
    assert len(chosen) == 2
    assert any(c is not None for c in chosen) == (store.arrow_file is not None), chosen


def test_the_older_values_of_some_kpis_are_those_of_every_measurement_before(
    store: Store,
) -> None:
    """`read_older_measurement_rows` (along the key, through ADBC on SQLite): the rows of
    these KPIs, every unit, whose last day is before the day given and, when given, on or
    after the first one; for few KPIs and for more than it finds along the key."""
    every = read_measurement_rows(store)
    ids = sorted(every["kpi_id"].unique().to_list())[::3]
    before, since = dt.date(2026, 8, 1), dt.date(2025, 7, 31)
    mine = every.filter(pl.col("kpi_id").is_in(ids) & (pl.col("period_end") < before))
    assert mine.filter(pl.col("period_end") < since).height > 0
    for few in (True, False):
        limit = len(ids) if few else len(ids) - 1
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scorecard_reads, "_FEW_KPIS", limit)
            read = scorecard_reads.read_older_measurement_rows
            assert_frame_equal(_sorted(read(store, ids, before)), _sorted(mine))
            assert_frame_equal(
                _sorted(read(store, ids, before, since)),
                _sorted(mine.filter(pl.col("period_end") >= since)),
            )
    assert scorecard_reads.read_older_measurement_rows(store, [], before).is_empty()


def test_measurements_read_in_fewer_columns_are_those_of_the_stored_columns(
    store: Store,
) -> None:
    """Through ADBC on an SQLite file a window's measurements come in fewer columns (each
    row's last day and label as one text, the numerator and denominator read apart for the
    rows that hold either): the same rows and values as read in the stored columns, for a
    window read whole or a month at a time, with an early part or not."""
    if store.arrow_file is None:
        pytest.skip("read in fewer columns only through ADBC on an SQLite file")
    reads = scorecard_reads._measurement_reads
    rows = scorecard_reads.measurement_rows
    defs = read_definition_frames(store)
    windows = frame_windows(defs, AS_OF)
    window = min(s for s, _ in windows.values()), max(e for _, e in windows.values())
    latest = max(s for s, _ in windows.values())
    early = (latest, sorted(f for f, (s, _) in windows.items() if s < latest))
    for args in ((window, early, True), (window, None, False), ((AS_OF, AS_OF), None, True)):
        stored = rows(arrow.read_frames(store, reads(*args)))
        ended = arrow.read_frames(store, reads(*args, ended=True))
        assert all(f.columns[:4] == ["kpi_id", "unit_id", "ended", "value"] for f in ended)
        assert any("numerator" not in f.columns for f in ended)
        assert_frame_equal(_sorted(rows(ended)), _sorted(stored))
    whole = rows(arrow.read_frames(store, reads(window, None, False, ended=True)))
    # The window holds values of a ratio, of several grains, and of several last days.
    assert whole["numerator"].null_count() < whole.height
    assert whole["value"].null_count() < whole.height
    assert whole["period"].str.len_bytes().n_unique() > 1
    assert whole["period_end"].n_unique() > 3
    empty = rows(arrow.read_frames(store, reads((AS_OF, AS_OF), None, False, ended=True)))
    assert empty.is_empty()
    assert empty.schema == {**scorecard_reads.STORED_SCHEMA, "period_start": pl.Date}


def test_the_early_part_read_day_by_day_finds_ids_of_any_characters(store: Store) -> None:
    """The ids of the early part's KPIs read day by day (and of those whose older values are
    read) are written into the query as a JSON array in hexadecimal: an id with quotes, a
    backslash and characters past ASCII finds its rows, and only its own."""
    if store.arrow_file is None:
        pytest.skip("read day by day only through ADBC on an SQLite file")
    every = read_measurement_rows(store)
    day = every.filter(pl.col("period_end") < dt.date(2026, 7, 1))["period_end"].max()
    assert isinstance(day, dt.date)
    source = every.filter(pl.col("period_end") == day)["kpi_id"][0]
    odd = "q'\"\\ö😀"
    hexed = odd.encode().hex()
    _commit_elsewhere(
        store,
        [
            f"INSERT INTO measurements SELECT period_end, CAST(X'{hexed}' AS TEXT), unit_id,"
            " period, value + 1, numerator, denominator, note, revision, load_id"
            f" FROM measurements WHERE kpi_id = '{source}'"
        ],
    )
    copied = read_measurement_rows(store).filter(pl.col("kpi_id") == odd)
    window, early = (dt.date(2026, 1, 1), AS_OF), (dt.date(2026, 7, 1), ["monthly"])
    for ids in ([odd], [odd, source]):
        reads = scorecard_reads._measurement_reads(window, early, False, ids, ended=True)
        found = scorecard_reads.with_starts(arrow.read_frames(store, reads)[-1])
        mine = copied.filter(pl.col("period_end").is_between(window[0], early[0], "left")).height
        assert found.filter(pl.col("kpi_id") == odd).height == mine > 0
        assert set(found["kpi_id"]) == set(ids) & set(found["kpi_id"])
    # The older values of some KPIs are found from their ids written the same way.
    older = scorecard_reads.read_older_measurement_rows(store, [odd], early[0], window[0])
    assert older["kpi_id"].to_list() == [odd] * mine


def test_the_scorecard_of_measurements_in_any_order_is_the_same(store: Store) -> None:
    """The engine reads a window's rows in any order (through ADBC the rows holding a
    numerator or a denominator are read apart, after the others)."""
    from lineofsight.engine.frames import evaluate_frames
    from lineofsight.services.evaluate import older_measurements

    defs = read_definition_frames(store)
    for day, lag in ((AS_OF, True), (AS_OF, False), (dt.date(2026, 1, 15), True)):
        rows = scoring_measurements(store, defs, day, lag)
        assert rows.height > 1
        first = evaluate_frames(defs, rows, day, lag, older_measurements(store))
        for other in (rows.reverse(), rows.sample(fraction=1.0, shuffle=True, seed=7)):
            again = evaluate_frames(defs, other, day, lag, older_measurements(store))
            for name in ("kpis", "objectives", "units"):
                assert_frame_equal(getattr(again, name), getattr(first, name))
