"""A scorecard brought up to date from its stored snapshot is the scorecard computed in full,
after any writes: random check-ins, replacements and deletes, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.domain import model as m
from lineofsight.engine.frames import FrameEvaluation, evaluate_frames
from lineofsight.errors import UsageError
from lineofsight.services.checkin import delete_measurement, record_measurement
from lineofsight.services.evaluate import (
    frame_window,
    load_organization,
    older_measurements,
    read_definition_frames,
    read_measurement_frame,
)
from lineofsight.services.scorecard_frames import labelled
from lineofsight.services.shapes import status_json
from lineofsight.services.snapshots import Scorecard, scorecard
from lineofsight.store.database import Store
from lineofsight.store.labels import read_labels
from lineofsight.store.scorecards import read_marks, read_snapshot, save_snapshot
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)
from tests.seeds import paired, spread

AS_OF = dt.date(2026, 11, 22)


def _full(store: Store, as_of: dt.date, lag: bool = True) -> FrameEvaluation:
    defs = read_definition_frames(store)
    frame = read_measurement_frame(store, frame_window(defs, as_of, lag))
    return evaluate_frames(defs, frame, as_of, lag, older_measurements(store))


def _same(card: Scorecard, want: FrameEvaluation, store: Store) -> None:
    got = card.evaluation
    assert_frame_equal(got.kpis, want.kpis)
    assert_frame_equal(got.objectives, want.objectives)
    assert_frame_equal(got.units, want.units)
    # The rows kept are the rows written: labelled with names, units and period ends.
    labels = labelled(want, read_definition_frames(store), read_labels(store))
    assert card.status_json() == status_json(labels.evaluation())


@pytest.fixture(params=["manufacturing", "techinnovate"])
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, request.param)  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


def _periods(kpi: m.Kpi) -> list[str]:
    """Recent periods of the KPI's frequency, around the as-of date's evaluation period, and
    older ones (a row's last known value may be older than any period a scorecard reads)."""
    if kpi.frequency is m.Frequency.QUARTERLY:
        return ["2025-Q3", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    if kpi.frequency is m.Frequency.MONTHLY:
        return ["2025-11", "2026-04", "2026-06", "2026-08", "2026-09", "2026-10", "2026-11"]
    if kpi.frequency is m.Frequency.YEARLY:
        return ["2023", "2024", "2025", "2026"]
    return []


def _since_window(kpi: m.Kpi) -> list[str]:
    """The periods of the KPI's frequency from the first day the scorecards of these tests
    read (April 2026, a quarterly KPI's slots on 22 November) to the end of 2026."""
    if kpi.frequency is m.Frequency.QUARTERLY:
        return ["2026-Q2", "2026-Q3", "2026-Q4"]
    if kpi.frequency is m.Frequency.MONTHLY:
        return [f"2026-{month:02d}" for month in range(4, 13)]
    if kpi.frequency is m.Frequency.YEARLY:
        return ["2026"]
    return []


def _write_randomly(store: Store, rng: random.Random, count: int, below: bool = True) -> None:
    """`count` random writes of values; with `below`, at the units below a KPI's own too (a
    write there can add or take away a row: the scorecard is then saved in full)."""
    org = load_organization(store)
    measured = [k for k in org.kpis if k.formula is None and _periods(k)]
    for _ in range(count):
        kpi = rng.choice(measured)
        # Its own unit, the units with a target, and those below its own: a value there can
        # add a row at that unit, or move the row's period (each row at its own).
        units = [kpi.unit, *(u for u, _ in kpi.unit_targets)]
        if below:
            units += [u.id for u in org.units if u.parent == kpi.unit]
        unit = rng.choice(units)
        period = rng.choice(_periods(kpi))
        if rng.random() < 0.1:
            # Every value of the row since the first day any scorecard here reads deleted: its
            # last known value is older than the days read.
            for recent in _since_window(kpi):
                with contextlib.suppress(UsageError):
                    delete_measurement(store, kpi_id=kpi.id, unit_id=unit, period=recent, actor="t")
            continue
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
                    allow_future=True,
                )
            else:
                low, high = kpi.bounds.min if kpi.bounds else None, None
                value = rng.uniform(0 if low is None else low, 100 if high is None else high)
                record_measurement(
                    store,
                    kpi_id=kpi.id,
                    unit_id=unit,
                    period=period,
                    value=round(value, 2),
                    actor="t",
                    allow_future=True,
                )
        except UsageError:
            continue  # nothing to delete there, or a value out of the KPI's bounds


@spread(1, turn=0)
def test_patched_scorecards_equal_full_computations_after_random_writes(
    store: Store, seed: int
) -> None:
    rng = random.Random(seed)
    for as_of, period in ((AS_OF, None), (dt.date(2026, 12, 31), "2026-12")):
        first = scorecard(store, period=period, as_of=None if period else as_of.isoformat())
        _same(first, _full(store, as_of, lag=period is None), store)
    for _ in range(4):
        _write_randomly(store, rng, rng.randint(1, 6))
        for as_of, period in ((AS_OF, None), (dt.date(2026, 12, 31), "2026-12")):
            lag = period is None
            got = scorecard(store, period=period, as_of=None if period else as_of.isoformat())
            _same(got, _full(store, as_of, lag), store)
            with store.reading() as conn:
                kept = read_snapshot(conn, as_of, lag)
                marks = read_marks(conn)
            assert kept is not None and kept.marks == marks  # saved, covering every write


@paired(turn=0)
def test_a_check_in_shows_in_the_next_status_and_only_its_kpi_is_scored_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorecard(store, as_of=AS_OF.isoformat())
    defs = read_definition_frames(store)
    kpi_id = defs.kpis.filter(pl.col("formula").is_null()).row(0, named=True)["id"]
    own = defs.kpis.filter(pl.col("id") == kpi_id).row(0, named=True)
    before = scorecard(store, as_of=AS_OF.isoformat())
    row = before.evaluation.kpis.filter(pl.col("id") == kpi_id, pl.col("own_unit")).row(
        0, named=True
    )
    assert row["period"] is not None
    import lineofsight.engine.frames as frames

    scored: list[set[str]] = []
    real = frames.score_kpis

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        scored.append(set(kwargs.get("only") or ()))
        return real(*args, **kwargs)

    monkeypatch.setattr(frames, "score_kpis", spy)
    # The check-in brings the kept scorecard up to date itself; the status after it reads it.
    record_measurement(
        store,
        kpi_id=kpi_id,
        unit_id=own["unit_id"],
        period=row["period"],
        value=1.5,
        actor="t",
        allow_future=True,
    )
    # The kept scorecard patched: its KPI only (then the next turn's made ahead, in full).
    writes = len(scored)
    assert writes in (1, 2) and kpi_id in scored[0]
    assert len(scored[0]) < defs.kpis.height  # not every KPI again
    after = scorecard(store, as_of=AS_OF.isoformat())
    got = after.evaluation.kpis.filter(pl.col("id") == kpi_id, pl.col("own_unit")).row(
        0, named=True
    )
    assert got["actual"] == 1.5
    assert len(scored) == writes  # read as kept: nothing scored by the status
    _same(after, _full(store, AS_OF), store)


@paired(turn=1)
def test_an_apply_makes_the_next_status_compute_in_full(store: Store) -> None:
    from dataclasses import replace

    from lineofsight.services.apply import apply_organization

    before = scorecard(store, as_of=AS_OF.isoformat())
    org = load_organization(store)
    scored = {
        r["id"]
        for r in before.evaluation.kpis.filter(
            pl.col("own_unit"), pl.col("actual") != pl.col("target")
        ).iter_rows(named=True)
    }
    flip = {m.Direction.INCREASE: m.Direction.DECREASE, m.Direction.DECREASE: m.Direction.INCREASE}
    kpi = next(k for k in org.kpis if k.id in scored and k.direction in flip)
    moved = replace(kpi, direction=flip[kpi.direction])
    apply_organization(
        store,
        replace(org, kpis=tuple(moved if k.id == kpi.id else k for k in org.kpis)),
        source="t",
    )
    got = scorecard(store, as_of=AS_OF.isoformat())
    _same(got, _full(store, AS_OF), store)
    row = (pl.col("id") == kpi.id) & pl.col("own_unit")
    assert (
        got.evaluation.kpis.filter(row)["miss"].to_list()
        != before.evaluation.kpis.filter(row)["miss"].to_list()
    )


@paired(turn=0)
def test_an_older_snapshot_never_replaces_a_newer_one(store: Store) -> None:
    scorecard(store, as_of=AS_OF.isoformat())
    with store.reading() as conn:
        newest = read_snapshot(conn, AS_OF, True)
    assert newest is not None
    older = type(newest.marks)(newest.marks.definitions, newest.marks.load_id - 1, 0)
    assert not save_snapshot(store, AS_OF, True, older, b"stale")
    with store.reading() as conn:
        kept = read_snapshot(conn, AS_OF, True)
    assert kept == newest


def _check_in_one(store: Store, value: float) -> str:
    org = load_organization(store)
    kpi = next(
        k
        for k in org.kpis
        if k.formula is None and k.ratio is None and k.frequency is m.Frequency.MONTHLY
    )
    if kpi.bounds is not None and kpi.bounds.min is not None and kpi.bounds.max is not None:
        value = (kpi.bounds.min + kpi.bounds.max) / 2
    record_measurement(
        store,
        kpi_id=kpi.id,
        unit_id=kpi.unit,
        period="2026-09",
        value=value,
        actor="t",
        allow_future=True,
    )
    return kpi.id


@pytest.mark.parametrize("moment", ["before the values are read", "before the result is saved"])
@paired(turn=1)
def test_a_write_during_a_status_is_shown_by_the_next_one(
    store: Store, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """Another process's check-in commits while a status computes: the status saves what it
    read, claiming only the writes it had seen, and the next status shows the check-in."""
    import lineofsight.services.checkin as checkin
    import lineofsight.services.evaluate as evaluate
    import lineofsight.services.snapshots as snapshots

    # Writes that leave the kept scorecard as it is (as one of many rows does), so that the
    # status patches it, and the write in the middle of it is not brought in by the write.
    monkeypatch.setattr(checkin, "refresh_kept", lambda store: None)
    scorecard(store, as_of=AS_OF.isoformat())
    _write_randomly(store, random.Random(7), 3)  # the next status patches
    written: list[str] = []
    if moment == "before the values are read":
        real_read = evaluate.read_kpi_frame

        def read_after_a_write(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not written:
                written.append(_check_in_one(store, 1.25))
            return real_read(*args, **kwargs)

        monkeypatch.setattr(evaluate, "read_kpi_frame", read_after_a_write)
    else:
        real_save = snapshots.save_snapshot

        def save_after_a_write(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not written:
                written.append(_check_in_one(store, 1.25))
            return real_save(*args, **kwargs)

        monkeypatch.setattr(snapshots, "save_snapshot", save_after_a_write)
    scorecard(store, as_of=AS_OF.isoformat())
    monkeypatch.undo()
    assert written
    with store.reading() as conn:
        kept = read_snapshot(conn, AS_OF, True)
        now = read_marks(conn)
    assert kept is not None and kept.marks != now  # the write is not claimed
    got = scorecard(store, as_of=AS_OF.isoformat())
    _same(got, _full(store, AS_OF), store)
    rows = got.evaluation.kpis.filter(pl.col("id") == written[0], pl.col("own_unit"))
    assert rows.height == 1


@pytest.mark.parametrize("share", [1.0, 0.0], ids=["patches", "saved in full"])
@spread(11, turn=1)
def test_patches_saved_beside_the_scorecard_give_the_full_computation(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int, share: float
) -> None:
    """Writes after writes: each status saves the rows changed since the scorecard was saved
    in full (or, past the share, the whole scorecard), and reads them back right."""
    import lineofsight.services.snapshots as snapshots

    monkeypatch.setattr(snapshots, "PATCH_SHARE", share)
    rng = random.Random(seed)
    scorecard(store, as_of=AS_OF.isoformat())
    with store.reading() as conn:
        base = read_snapshot(conn, AS_OF, True)
    assert base is not None and base.patch is None
    for _ in range(4):
        _write_randomly(store, rng, rng.randint(1, 4), below=False)
        got = scorecard(store, as_of=AS_OF.isoformat())
        _same(got, _full(store, AS_OF), store)
        with store.reading() as conn:
            kept = read_snapshot(conn, AS_OF, True)
            marks = read_marks(conn)
        assert kept is not None and kept.marks == marks
        if share:  # the scorecard saved in full is the first one, patched
            assert kept.payload == base.payload and kept.saved == base.marks
            assert kept.patch is not None and len(kept.patch) < len(kept.payload)
        else:
            assert kept.patch is None
        # Read back by the next status (nothing written since): the same rows.
        again = scorecard(store, as_of=AS_OF.isoformat())
        _same(again, _full(store, AS_OF), store)


def _depth(objectives: pl.DataFrame, objective_id: str) -> list[str]:
    parents = dict(objectives.select("id", "parent_id").iter_rows())
    chain = [objective_id]
    while parents.get(chain[-1]) in parents:
        chain.append(parents[chain[-1]])
    return chain


@paired(turn=0)
def test_a_check_in_deep_in_the_tree_rolls_up_only_its_objectives_and_their_ancestors(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineofsight.engine.frame_rollups as rollups
    import lineofsight.services.snapshots as snapshots

    monkeypatch.setattr(snapshots, "PATCH_SHARE", 1.0)
    scorecard(store, as_of=AS_OF.isoformat())
    defs = read_definition_frames(store)
    org = load_organization(store)
    measured = {k.id: k for k in org.kpis if k.formula is None and k.ratio is None}
    supports = defs.supports.filter(pl.col("kpi_id").is_in(list(measured)))
    # The measured KPI that supports the deepest objective.
    kpi_id, objective_id = max(
        supports.select("kpi_id", "objective_id").iter_rows(),
        key=lambda pair: len(_depth(defs.objectives, pair[1])),
    )
    assert len(_depth(defs.objectives, objective_id)) >= 2  # an objective under another
    kpi = measured[kpi_id]
    value = 1.5
    if kpi.bounds is not None and kpi.bounds.min is not None and kpi.bounds.max is not None:
        value = (kpi.bounds.min + kpi.bounds.max) / 2
    period = next(
        p for p in _periods(kpi) if p in ("2026-Q3", "2026-10", "2025")
    )  # in the as-of date's evaluation period or before
    objectives_rolled: list[set[str] | None] = []
    units_rolled: list[set[str] | None] = []
    real_objectives, real_units = rollups.rollup_objectives, rollups.rollup_units

    def objectives_spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        objectives_rolled.append(None if kwargs.get("only") is None else set(kwargs["only"]))
        return real_objectives(*args, **kwargs)

    def units_spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        units_rolled.append(None if kwargs.get("only") is None else set(kwargs["only"]))
        return real_units(*args, **kwargs)

    monkeypatch.setattr(rollups, "rollup_objectives", objectives_spy)
    monkeypatch.setattr(rollups, "rollup_units", units_spy)
    # The check-in rolls the kept scorecard up itself; the status after it reads it.
    record_measurement(
        store,
        kpi_id=kpi_id,
        unit_id=kpi.unit,
        period=period,
        value=value,
        actor="t",
        allow_future=True,
    )
    got = scorecard(store, as_of=AS_OF.isoformat())
    monkeypatch.undo()
    _same(got, _full(store, AS_OF), store)
    # The KPI's objectives and their ancestors, nothing else (formulas reading the KPI add
    # theirs); the units of the rows scored again.
    readers = {kpi_id} | {k.id for k in org.kpis if k.formula is not None and kpi_id in k.formula}
    want = {
        o
        for reader, supported in defs.supports.select("kpi_id", "objective_id").iter_rows()
        if reader in readers
        for o in _depth(defs.objectives, supported)
    }
    assert len(objectives_rolled) == 1 and objectives_rolled[0] is not None
    assert set(_depth(defs.objectives, objective_id)) <= objectives_rolled[0] <= want
    assert len(objectives_rolled[0]) < defs.objectives.height or defs.objectives.height <= len(want)
    assert len(units_rolled) == 1 and units_rolled[0] is not None and kpi.unit in units_rolled[0]
    with store.reading() as conn:
        kept = read_snapshot(conn, AS_OF, True)
    assert kept is not None and kept.patch is not None


_WARM = """
import sys
from lineofsight.cli.app import app
sys.argv = ["los", "status", "--as-of", "2026-11-22", "--format", "json", "--db", sys.argv[1]]
try:
    app()
except SystemExit:
    pass
heavy = ("polars", "pyarrow", "lineofsight.engine", "lineofsight.engine.frames", "pydantic")
if sys.argv[1].startswith("sqlite:"):  # read with Python's sqlite3
    heavy += ("sqlalchemy",)
print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


@paired(turn=1)
def test_a_status_on_an_up_to_date_scorecard_loads_no_polars_nor_the_engine_nor_sqlalchemy(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read back as it was saved, and with a patch beside it: the rows are written as kept."""
    import json
    import subprocess
    import sys

    import lineofsight.services.snapshots as snapshots

    monkeypatch.setattr(snapshots, "PATCH_SHARE", 1.0)
    for write in (False, True):
        if write:
            _write_randomly(store, random.Random(3), 3, below=False)
        scorecard(store, as_of=AS_OF.isoformat())  # brought up to date (a patch the 2nd time)
        with store.reading() as conn:
            kept = read_snapshot(conn, AS_OF, True)
        assert kept is not None and (kept.patch is not None) == write
        done = subprocess.run(
            [sys.executable, "-c", _WARM, store.url],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "LOS_DATABASE_URL": ""},
        )
        assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
        assert json.loads(done.stdout) == json.loads(status_json(_full_labelled(store)))


def _full_labelled(store: Store) -> FrameEvaluation:
    want = _full(store, AS_OF)
    return labelled(want, read_definition_frames(store), read_labels(store)).evaluation()


@spread(4, turn=1)
def test_writes_of_values_bring_the_scorecard_kept_last_up_to_date_themselves(
    store: Store, seed: int, tmp_path: Path
) -> None:
    """Check-ins, deletes and loads patch the scorecard saved last (here the 2026-12 period
    report, saved after the as-of one) in their own process: read back as stored, without a
    status bringing it up to date, it covers every write and is the full computation."""
    from lineofsight.services.measurements import load_file
    from lineofsight.services.snapshots import decode

    rng = random.Random(seed)
    scorecard(store, as_of=AS_OF.isoformat())
    scorecard(store, period="2026-12")
    newest, older = (dt.date(2026, 12, 31), False), (AS_OF, True)
    with store.reading() as conn:
        untouched = read_snapshot(conn, *older)
    for round_ in range(3):
        _write_randomly(store, rng, rng.randint(1, 4))
        row = _full(store, AS_OF).kpis.filter(pl.col("period").is_not_null()).row(0, named=True)
        csv = tmp_path / f"one{round_}.csv"
        csv.write_text(
            f"kpi,unit,period,value\n{row['id']},{row['unit']},{row['period']},{round_}.5\n"
        )
        with contextlib.suppress(UsageError):  # a ratio KPI takes a numerator and denominator
            load_file(store, csv)
        with store.reading() as conn:
            kept = read_snapshot(conn, *newest)
            marks = read_marks(conn)
            other = read_snapshot(conn, *older)
        assert kept is not None and kept.marks == marks  # covers every write
        card = decode(kept.payload, newest[0], kept.patch)
        assert card is not None
        _same(card, _full(store, newest[0], lag=False), store)
        # Only the scorecard saved last: the other is brought up to date by its next status.
        assert other == untouched
    _same(scorecard(store, as_of=AS_OF.isoformat()), _full(store, AS_OF), store)


@paired(turn=0)
def test_the_kept_scorecard_reads_the_same_through_sqlite3_and_sqlalchemy(store: Store) -> None:
    from lineofsight.store.scorecards import read_snapshot_marks, written_since

    scorecard(store, as_of=AS_OF.isoformat())
    _write_randomly(store, random.Random(6), 3)
    with store.plain_reading() as plain, store.reading() as conn:
        if store.url.startswith("postgresql"):
            assert plain is None  # PostgreSQL is read through SQLAlchemy only
            return
        assert plain is not None
        for reads in (plain, conn):
            assert read_snapshot(reads, AS_OF, True) == read_snapshot(conn, AS_OF, True)
            assert read_marks(reads) == read_marks(conn)
            saved = read_snapshot_marks(reads, AS_OF, True)
            assert saved is not None and saved == read_snapshot(conn, AS_OF, True).marks
            assert written_since(reads, saved) == written_since(conn, saved)
        assert read_snapshot(plain, dt.date(2026, 1, 1), True) is None


@pytest.mark.parametrize("held", ["computed in full", "read back"])
@spread(8, turn=0)
def test_a_scorecard_held_in_memory_takes_the_rows_of_a_newer_patch(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int, held: str
) -> None:
    """The web app's way: after check-ins (each patching the kept scorecard), the scorecard
    it holds takes the patch's rows without the scorecard saved in full read again, and is
    the full computation, JSON rows included."""
    import lineofsight.services.snapshots as snapshots

    monkeypatch.setattr(snapshots, "PATCH_SHARE", 1.0)  # patches, however small the store
    rng = random.Random(seed)
    card = scorecard(store, as_of=AS_OF.isoformat())
    if held == "read back":
        card = scorecard(store, as_of=AS_OF.isoformat())  # the kept one, decoded
        assert not card.holds_rows
    else:
        assert card.holds_rows
    assert card.base is not None
    decoded: list[object] = []
    real_decode = snapshots.decode

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(args)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(snapshots, "decode", spy)
    for _ in range(3):
        _write_randomly(store, rng, rng.randint(1, 3))
        before = len(decoded)
        card = scorecard(store, as_of=AS_OF.isoformat(), previous=card)
        assert len(decoded) == before  # the scorecard saved in full not read again
        _same(card, _full(store, AS_OF), store)
    monkeypatch.undo()
    # A scorecard the store no longer holds the base of is read again, right.
    with store.transaction() as conn:
        from sqlalchemy import text

        conn.execute(text("DELETE FROM scorecard_patches"))
        conn.execute(text("DELETE FROM scorecard_snapshots"))
    _write_randomly(store, rng, 2)
    _same(scorecard(store, as_of=AS_OF.isoformat(), previous=card), _full(store, AS_OF), store)


@spread(9, turn=1)
def test_a_new_as_of_date_is_carried_from_the_nearest_kept_one_as_computed_in_full(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Day after day (across ends of weeks, months, quarters and the days values fall due),
    with writes in between: the scorecard of a date no status asked for yet, carried from
    the kept scorecard of the nearest date, is the full computation; so is the next status
    of that date, read back (its scorecard saved as the other's with a patch)."""
    import lineofsight.services.snapshots as snapshots
    from lineofsight.services.snapshot_days import moved_kpis

    monkeypatch.setattr(snapshots, "PATCH_SHARE", 1.0)  # patches, however small the store
    monkeypatch.setattr(snapshots, "CARRY_SHARE", 1.0)  # carried, however many KPIs move
    rng = random.Random(seed)
    days = [AS_OF + dt.timedelta(days=n) for n in (1, 2, 8, 9, 10, 30, 39, 40, 41, 70)]
    days += [dt.date(2026, 9, 30), dt.date(2026, 10, 1), dt.date(2027, 1, 1)]
    scorecard(store, as_of=AS_OF.isoformat())
    moved: list[int] = []
    patched: list[bool] = []
    saved: list[bool] = []
    defs = read_definition_frames(store)
    for day in days:
        if rng.random() < 0.5:
            _write_randomly(store, rng, rng.randint(1, 3))
        with store.reading() as conn:
            nearest = snapshots.read_nearest_key(conn, day, True, read_marks(conn).definitions)
        assert nearest is not None
        moved.append(len(moved_kpis(defs, nearest, day, True)))
        got = scorecard(store, as_of=day.isoformat())
        _same(got, _full(store, day), store)
        with store.reading() as conn:
            kept = read_snapshot(conn, day, True)
        # Carried: the other's scorecard with a patch (or saved in full when the KPIs' rows
        # are other ones, past the end of a year: unit targets of another year); or, when no
        # KPI moved and nothing was written since the other, its rows as they are, unsaved.
        saved.append(kept is not None)
        patched.append(kept is not None and kept.patch is not None)
        again = scorecard(store, as_of=day.isoformat())
        _same(again, _full(store, day), store)
    # Some days move no KPI at all, some move some: both are exercised.
    assert 0 in moved and max(moved) > 0
    assert any(patched) and not all(saved)
    # A period report is carried the same way.
    scorecard(store, period="2026-11")
    _same(scorecard(store, period="2026-12"), _full(store, dt.date(2026, 12, 31), False), store)


def _turn(store: Store, day: dt.date, horizon: int = 370) -> dt.date | None:
    from lineofsight.services.snapshot_days import next_turn
    from lineofsight.services.snapshots import CARRY_SHARE
    from lineofsight.store.scorecards import read_kpi_groups

    with store.reading() as conn:
        groups = read_kpi_groups(conn)
    assert groups is not None
    start, due_days, counts = groups
    return next_turn(counts, m.Calendar(start, due_days), day, True, CARRY_SHARE, horizon)


@paired(turn=1)
def test_writes_keep_the_date_asked_and_the_next_turn_ready(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an apply that changes a definition and after check-ins, the kept scorecards of
    the date a status asked for last and of the next date where most rows move are up to
    date: their next statuses score nothing and equal full computations."""
    from dataclasses import replace

    import lineofsight.engine.frames as frames
    from lineofsight.services.apply import apply_organization
    from lineofsight.services.snapshots import AHEAD_DAYS
    from lineofsight.store.scorecards import read_newest_key

    first = _turn(store, AS_OF)
    assert first is not None
    asked = first - dt.timedelta(days=3)  # the turn is near: made ahead by each write
    turn = _turn(store, asked, AHEAD_DAYS)
    assert turn is not None and asked < turn
    scorecard(store, as_of=asked.isoformat())
    org = load_organization(store)
    kpi = next(k for k in org.kpis if k.direction is m.Direction.INCREASE)
    moved = replace(kpi, direction=m.Direction.DECREASE)
    apply_organization(
        store,
        replace(org, kpis=tuple(moved if k.id == kpi.id else k for k in org.kpis)),
        source="t",
    )
    rng = random.Random(7)
    scored: list[object] = []
    real = frames.score_kpis

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        scored.append(kwargs.get("only"))
        return real(*args, **kwargs)

    for step in range(3):
        if step:
            _write_randomly(store, rng, 2)
        with store.reading() as conn:
            marks = read_marks(conn)
            assert read_newest_key(conn) == (asked, True)  # the turn was made ahead
            for day in (asked, turn):
                kept = read_snapshot(conn, day, True)
                assert kept is not None and kept.marks == marks
        for day in (asked, turn):
            want = _full(store, day)
            monkeypatch.setattr(frames, "score_kpis", spy)
            got = scorecard(store, as_of=day.isoformat(), save=False)
            monkeypatch.setattr(frames, "score_kpis", real)
            assert scored == []  # read as kept
            _same(got, want, store)
    # The days between and after are carried from the nearest kept date before them.
    for day in (turn - dt.timedelta(days=1), turn + dt.timedelta(days=1)):
        _same(scorecard(store, as_of=day.isoformat()), _full(store, day), store)


@paired(turn=0)
def test_a_turn_far_ahead_is_not_made_by_a_write(store: Store) -> None:
    from lineofsight.services.snapshots import AHEAD_DAYS

    first = _turn(store, AS_OF)
    assert first is not None
    asked = first - dt.timedelta(days=AHEAD_DAYS + 1)
    assert _turn(store, asked, AHEAD_DAYS) is None
    scorecard(store, as_of=asked.isoformat())
    _check_in_one(store, 2.0)
    with store.reading() as conn:
        kept = read_snapshot(conn, asked, True)
        assert kept is not None and kept.marks == read_marks(conn)  # brought up to date
        assert read_snapshot(conn, first, True) is None  # too far ahead: not made


@paired(turn=1)
def test_a_write_before_any_status_keeps_nothing(store: Store) -> None:
    _check_in_one(store, 2.0)
    with store.reading() as conn:
        assert read_snapshot(conn, AS_OF, True) is None


@paired(turn=0)
def test_a_write_of_many_kpis_scores_them_all_at_once_not_one_by_one(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The patch-or-full rule counts the KPIs written against the KPIs there are (a KPI has
    a row per unit): a write of more than `PATCH_SHARE` of them (a refresh giving every KPI
    its new period) scores every KPI at once and saves the scorecard in full, which is the
    full computation; a write of fewer still patches (the check-in test above)."""
    import lineofsight.engine.frames as frames
    from lineofsight.services import snapshots
    from lineofsight.services.measurements import load_file

    monkeypatch.setattr(snapshots, "PATCH_SHARE", 0.25)
    kept = scorecard(store, as_of=AS_OF.isoformat())
    defs = kept.defs
    plain = defs.kpis.filter(
        pl.col("formula").is_null(),
        pl.col("ratio_scale").is_null(),
        pl.col("frequency") == "monthly",
    )
    count = int(defs.kpis.height * 0.25) + 1
    # Few enough rows for a patch when rows were counted: the case the rule is about.
    assert count <= kept.kpi_rows * 0.25 and plain.height >= count
    lines = [
        f"{kpi},{unit},2026-10,{index}.25"
        for index, (kpi, unit) in enumerate(plain.select("id", "unit_id").head(count).iter_rows())
    ]
    csv = tmp_path / "many.csv"
    csv.write_text("kpi,unit,period,value\n" + "\n".join(lines) + "\n")
    scored: list[object] = []
    real = frames.score_kpis

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        scored.append(kwargs.get("only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(frames, "score_kpis", spy)
    load_file(store, csv)
    assert scored and scored[0] is None  # the date asked: every KPI scored at once
    with store.reading() as conn:
        saved = read_snapshot(conn, AS_OF, True)
        marks = read_marks(conn)
    assert saved is not None and saved.patch is None and saved.marks == marks
    monkeypatch.undo()
    _same(scorecard(store, as_of=AS_OF.isoformat()), _full(store, AS_OF), store)


_IN_FULL = """
import sys
from lineofsight.cli.app import app
sys.argv = ["los", "status", "--as-of", "2026-11-22", "--format", "json", "--db", sys.argv[1]]
try:
    app()
except SystemExit:
    pass
loaded = [m for m in ("sqlalchemy",) if m in sys.modules] if "sqlite:" in sys.argv[1] else []
print(loaded, file=sys.stderr)
"""


def _forget_kept(store: Store) -> None:
    from sqlalchemy import text

    with store.transaction() as conn:
        conn.execute(text("DELETE FROM scorecard_patches"))
        conn.execute(text("DELETE FROM scorecard_snapshots"))


@paired(turn=1)
def test_a_status_computed_in_full_is_written_out_then_kept_without_sqlalchemy(
    store: Store,
) -> None:
    """With no scorecard kept, `los status` (a process writing into a pipe) gives the full
    computation and keeps it after; on an SQLite file it loads no SQLAlchemy to read the
    definitions and labels nor to save, and the time it saves reads back as a time."""
    import json
    import os
    import subprocess
    import sys

    from sqlalchemy import select

    from lineofsight.store import tables as t

    _write_randomly(store, random.Random(11), 5)
    _forget_kept(store)
    done = subprocess.run(
        [sys.executable, "-c", _IN_FULL, store.url],
        capture_output=True,
        check=True,
        env={**os.environ, "LOS_DATABASE_URL": ""},
    )
    assert done.stderr.decode().strip().splitlines()[-1] == "[]", done.stderr
    assert json.loads(done.stdout) == json.loads(status_json(_full_labelled(store)))
    # Kept by a second process on an SQLite file, which ends on its own: waited for within a
    # bound, never timed.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with store.reading() as conn:
            if read_snapshot(conn, AS_OF, True) is not None:
                break
        time.sleep(0.05)
    with store.reading() as conn:
        kept = read_snapshot(conn, AS_OF, True)
        marks = read_marks(conn)
        saved_at = conn.execute(select(t.scorecard_snapshots.c.saved_at)).scalar_one()
    assert kept is not None and kept.marks == marks
    assert isinstance(saved_at, dt.datetime)
    if saved_at.tzinfo is not None:
        saved_at = saved_at.astimezone(dt.UTC).replace(tzinfo=None)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs(saved_at - now) < dt.timedelta(minutes=10)
    # The next status reads the kept scorecard: the same bytes.
    assert scorecard(store, as_of=AS_OF.isoformat()).status_json_bytes() + b"\n" == done.stdout


@paired(turn=0)
def test_a_scorecard_left_to_keep_later_is_kept_by_keep(store: Store) -> None:
    _forget_kept(store)
    card = scorecard(store, as_of=AS_OF.isoformat(), later=True)
    assert card.pending is not None
    with store.reading() as conn:
        assert read_snapshot(conn, AS_OF, True) is None
    text = card.status_json_bytes()
    card.keep()
    card.keep()  # once
    assert card.pending is None
    with store.reading() as conn:
        assert read_snapshot(conn, AS_OF, True) is not None
    assert scorecard(store, as_of=AS_OF.isoformat()).status_json_bytes() == text


@spread(12, turn=0)
def test_a_full_score_reads_only_the_months_its_kpis_look_at_and_scores_the_same(
    store: Store, seed: int
) -> None:
    """Monthly KPIs' values of the months only quarterly KPIs look at are not read; a formula
    of a frequency that looks further back makes the whole window read. On three days (the
    store written once: the days only read it)."""
    from dataclasses import replace

    from lineofsight.services.evaluate import frame_windows, scoring_measurements

    _write_randomly(store, random.Random(seed), 40)
    defs = read_definition_frames(store)
    frequency = dict(defs.kpis.select("id", "frequency").iter_rows())
    for day in (AS_OF, dt.date(2026, 12, 31), dt.date(2026, 7, 3)):
        wide = read_measurement_frame(store, frame_window(defs, day))
        narrow = scoring_measurements(store, defs, day)
        key = ["kpi_id", "unit_id", "period_start", "period_end"]
        assert narrow.join(wide, on=key, how="anti").is_empty(), day
        # Left out: the values before the latest frequency's window of the KPIs of the other
        # frequencies; nothing when a formula's frequency looks further back.
        windows = frame_windows(defs, day)
        latest = max(start for start, _ in windows.values())
        early = [f for f, (start, _) in windows.items() if start < latest]
        skipped = wide.filter(
            (pl.col("period_end") < latest)
            & ~pl.col("kpi_id").replace_strict(frequency, return_dtype=pl.String).is_in(early)
        )
        formulas = defs.kpis.filter(
            pl.col("formula").is_not_null() & pl.col("frequency").is_in(early)
        )
        assert narrow.height == wide.height - (0 if formulas.height else skipped.height), day
        older = older_measurements(store)
        got = evaluate_frames(defs, narrow, day, older=older)
        want = evaluate_frames(defs, wide, day, older=older)
        assert_frame_equal(got.kpis, want.kpis)
        assert_frame_equal(got.objectives, want.objectives)
        assert_frame_equal(got.units, want.units)
        quarterly = defs.kpis.filter(pl.col("frequency") == "quarterly")["id"][0]
        formula = defs.kpis.with_columns(
            formula=pl.when(pl.col("id") == quarterly).then(pl.lit("a + b")).otherwise("formula")
        )
        assert scoring_measurements(store, replace(defs, kpis=formula), day).height == wide.height


def test_a_name_with_a_line_separator_in_it_stays_one_row() -> None:
    import json

    from lineofsight.services.shapes import status_rows

    names = ["plain", "line\u2028separator", "next\x85line", "para\u2029graph", "form\x0cfeed"]
    frame = pl.DataFrame({"kpi_id": [f"k{i}" for i in range(len(names))], "name": names})
    rows = status_rows(frame)
    assert [json.loads(row)["name"] for row in rows] == names
    assert status_rows(frame.clear()).len() == 0


@paired(turn=1)
def test_a_write_of_every_kpi_scores_in_full_with_the_definitions_held(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that keeps its store (`los serve`) scores a write of more than a patch holds
    in full with the definitions it scored with last, without reading the kept scorecard
    again: the rows are the full computation's, and an apply makes it read them again."""
    from dataclasses import replace

    from lineofsight.services import snapshots
    from lineofsight.services.apply import apply_organization
    from lineofsight.services.measurements import load_file
    from lineofsight.services.snapshots import decode

    scorecard(store, as_of=AS_OF.isoformat())
    org = load_organization(store)
    # Monthly KPIs (a quarterly one may be kept in fiscal quarters, which a calendar quarter
    # would overlap).
    monthly = m.Frequency.MONTHLY
    measured = [k for k in org.kpis if k.formula is None and k.frequency is monthly]
    read = []
    original = snapshots.read_snapshot
    monkeypatch.setattr(snapshots, "read_snapshot", lambda *a: read.append(a[1:]) or original(*a))

    def write_all(round_: int) -> None:
        lines = ["kpi,unit,period,value,numerator,denominator"]
        for kpi in measured:
            period = _periods(kpi)[-2]
            if kpi.ratio is not None:
                lines.append(f"{kpi.id},{kpi.unit},{period},,{round_ + 1},100")
            else:
                low = kpi.bounds.min if kpi.bounds and kpi.bounds.min is not None else 0
                lines.append(f"{kpi.id},{kpi.unit},{period},{low + round_ + 0.5},,")
        csv = tmp_path / f"all{round_}.csv"
        csv.write_text("\n".join(lines) + "\n")
        load_file(store, csv)  # brings the kept scorecard up to date itself

    def kept_is_full() -> None:
        with store.reading() as conn:
            kept = read_snapshot(conn, AS_OF, True)
            marks = read_marks(conn)
        assert kept is not None and kept.marks == marks
        card = decode(kept.payload, AS_OF, kept.patch)
        assert card is not None
        _same(card, _full(store, AS_OF), store)

    for round_ in range(2):
        write_all(round_)
        kept_is_full()
    # The second write found the definitions the first one scored with in memory.
    assert read.count((AS_OF, True)) <= 1
    # An apply changes them: the next write reads them again, and scores with them.
    flip = {m.Direction.INCREASE: m.Direction.DECREASE, m.Direction.DECREASE: m.Direction.INCREASE}
    kpi = next(k for k in measured if k.direction in flip)
    moved = replace(kpi, direction=flip[kpi.direction])
    org = load_organization(store)
    apply_organization(
        store,
        replace(org, kpis=tuple(moved if k.id == kpi.id else k for k in org.kpis)),
        source="t",
    )
    write_all(2)
    kept_is_full()


@paired(turn=0)
def test_an_apply_that_only_reorders_kpis_is_scored_in_the_new_order_by_a_process_holding_them(
    store: Store,
) -> None:
    """An apply that only moves KPIs records their new positions: the definitions a process
    holds (`los serve`) are let go, and a later full score lists them in the new order."""
    from dataclasses import replace

    from lineofsight.services.apply import apply_organization

    scorecard(store, as_of=AS_OF.isoformat())  # holds the definitions it scored with
    org = load_organization(store)
    plan = apply_organization(store, replace(org, kpis=tuple(reversed(org.kpis))), source="t")
    assert {r.field for r in plan.records} == {"position"}  # nothing but the order changed
    day = AS_OF - dt.timedelta(days=40)  # a date not kept: scored in full
    card = scorecard(store, as_of=day.isoformat())
    want = _full(store, day)
    assert want.kpis["id"][0] == org.kpis[-1].id  # the full computation is in the new order
    _same(card, want, store)


@paired(turn=1)
def test_an_apply_that_only_reorders_kpis_lets_the_kept_scorecards_go(store: Store) -> None:
    """A date's kept scorecard is in the order of the apply it was scored after: one that
    only moves KPIs moves the definitions mark, so that date lists them in the new order."""
    from dataclasses import replace

    from lineofsight.services.apply import apply_organization

    scorecard(store, as_of=AS_OF.isoformat())  # kept for AS_OF
    org = load_organization(store)
    plan = apply_organization(store, replace(org, kpis=tuple(reversed(org.kpis))), source="t")
    assert {r.field for r in plan.records} == {"position"}  # nothing but the order changed
    card = scorecard(store, as_of=AS_OF.isoformat())
    want = _full(store, AS_OF)
    assert want.kpis["id"][0] == org.kpis[-1].id
    _same(card, want, store)


@paired(turn=0)
def test_a_scorecard_scored_before_a_reorder_and_kept_after_it_does_not_bring_back_the_old_order(
    store: Store,
) -> None:
    """A status scores, an apply that only moves KPIs commits, then the status keeps what it
    scored: that scorecard covers the definitions before the apply, and is not read as the
    current one."""
    from dataclasses import replace

    from lineofsight.services.apply import apply_organization

    day = AS_OF - dt.timedelta(days=40)
    card = scorecard(store, as_of=day.isoformat(), later=True)  # kept after its output
    org = load_organization(store)
    apply_organization(store, replace(org, kpis=tuple(reversed(org.kpis))), source="t")
    card.keep()
    again = scorecard(store, as_of=day.isoformat())
    want = _full(store, day)
    assert want.kpis["id"][0] == org.kpis[-1].id
    _same(again, want, store)


def _kept_definitions(store: Store) -> tuple[int, int, bytes] | None:
    """The key and frames of the definitions kept in the store, if any."""
    from sqlalchemy import text

    with store.reading() as conn:
        row = conn.execute(text("SELECT definitions, activity, payload FROM kept_definitions"))
        found = row.first()
    return None if found is None else (int(found[0]), int(found[1]), bytes(found[2]))


def _set_kept_definitions(store: Store, kept: tuple[int, int, bytes] | None) -> None:
    from sqlalchemy import text

    with store.transaction() as conn:
        conn.execute(text("DELETE FROM kept_definitions"))
        if kept is not None:
            conn.execute(
                text(
                    "INSERT INTO kept_definitions (key, definitions, activity, payload) "
                    "VALUES (1, :d, :a, :p)"
                ),
                {"d": kept[0], "a": kept[1], "p": kept[2]},
            )


@contextlib.contextmanager
def _fresh_process_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The store as a fresh process opens it (no definitions held in memory), in which the
    definition tables are not read for a full score (an AssertionError if they are)."""
    from lineofsight.services import evaluate

    def unread(*args: object, **kwargs: object) -> None:
        raise AssertionError("the definition tables were read again")

    other = Store(store.url)
    monkeypatch.setattr(evaluate, "read_scoring_inputs", unread)
    try:
        yield other
    finally:
        monkeypatch.undo()
        other.close()


@paired(turn=1)
def test_a_status_in_full_keeps_its_definitions_and_the_next_one_in_full_decodes_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scorecard computed in full keeps the definitions and labels it was scored with
    beside it, keyed on the definition change and the activity count; a later one computed
    in full (another process, no scorecard kept for any date) decodes them instead of
    reading the definition tables, and gives the rows computed from the tables."""
    from lineofsight.store.scorecards import read_activity

    _forget_kept(store)
    _set_kept_definitions(store, None)
    scorecard(store, as_of=AS_OF.isoformat())  # computed in full, kept
    kept = _kept_definitions(store)
    with store.reading() as conn:
        assert kept is not None and kept[:2] == (read_marks(conn).definitions, read_activity(conn))
    _forget_kept(store)
    day = AS_OF - dt.timedelta(days=40)
    with _fresh_process_store(store, monkeypatch) as other:
        card = scorecard(other, as_of=day.isoformat(), save=False)
    _same(card, _full(store, day), store)


@paired(turn=0)
def test_definitions_kept_before_an_apply_that_only_reorders_kpis_are_not_used(
    store: Store,
) -> None:
    """An apply that only moves KPIs moves the definitions mark (and the activity count):
    definitions kept before it (by a save that came late) are not decoded, so a status in
    full lists the KPIs in the new order."""
    from dataclasses import replace

    from lineofsight.services.apply import apply_organization

    _forget_kept(store)
    scorecard(store, as_of=AS_OF.isoformat())  # keeps the definitions in this order
    before = _kept_definitions(store)
    assert before is not None
    org = load_organization(store)
    plan = apply_organization(store, replace(org, kpis=tuple(reversed(org.kpis))), source="t")
    assert {r.field for r in plan.records} == {"position"}  # nothing but the order changed
    _forget_kept(store)
    _set_kept_definitions(store, before)
    other = Store(store.url)  # nothing held
    try:
        card = scorecard(other, as_of=AS_OF.isoformat(), save=False)
    finally:
        other.close()
    want = _full(store, AS_OF)
    assert want.kpis["id"][0] == org.kpis[-1].id  # the full computation is in the new order
    _same(card, want, store)


@paired(turn=1)
def test_definitions_kept_by_another_release_are_read_again_from_the_tables(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept definitions laid out by another release (or damaged) are not decoded: the
    definition tables are read, and the scorecard is the full computation."""
    from lineofsight.store.scorecards import read_activity

    _forget_kept(store)
    with store.reading() as conn:
        key = (read_marks(conn).definitions, read_activity(conn))
    _set_kept_definitions(store, (*key, b'{"format": 0, "release": "0.0"}\nrest'))
    other = Store(store.url)
    try:
        card = scorecard(other, as_of=AS_OF.isoformat(), save=False)
    finally:
        other.close()
    _same(card, _full(store, AS_OF), store)
    # A status in full that keeps its scorecard keeps its definitions in this release's
    # layout in their place (the key is the same), so that the next one decodes them.
    scorecard(store, as_of=AS_OF.isoformat())
    kept = _kept_definitions(store)
    assert kept is not None and kept[:2] == key
    assert not kept[2].startswith(b'{"format": 0')
    _forget_kept(store)
    with _fresh_process_store(store, monkeypatch) as again:
        decoded = scorecard(again, as_of=AS_OF.isoformat(), save=False)
    _same(decoded, _full(store, AS_OF), store)


@paired(turn=0)
def test_a_date_too_far_to_carry_is_scored_with_the_definitions_of_the_nearest_kept_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A date whose nearest kept scorecard is too far to carry (most KPIs' rows move) is
    computed in full with that scorecard's definitions and labels, decoded to try the carry
    already, not read again from the tables; the same rows as computed from them."""
    _forget_kept(store)
    scorecard(store, as_of=AS_OF.isoformat())  # kept for AS_OF
    _set_kept_definitions(store, None)
    day = AS_OF - dt.timedelta(days=100)  # other periods for every monthly KPI: not carried
    with _fresh_process_store(store, monkeypatch) as other:
        card = scorecard(other, as_of=day.isoformat(), save=False)
    _same(card, _full(store, day), store)


@paired(turn=1)
def test_a_scorecard_is_kept_while_another_transaction_holds_the_kept_definitions(
    store: Store,
) -> None:
    """On PostgreSQL, a save whose kept definitions' row another transaction holds (written,
    not yet committed) keeps its scorecard without waiting for that row nor failing on it:
    the definitions are then not kept by this save."""
    import psycopg

    from lineofsight.store.scorecards import KeptDefinitions, read_activity

    if not store.url.startswith("postgresql"):
        pytest.skip("SQLite lets one write at a time: no other transaction holds a row")
    _forget_kept(store)
    _set_kept_definitions(store, None)
    with store.reading() as conn:
        marks = read_marks(conn)
        activity = read_activity(conn)
    other = psycopg.connect(store.url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        other.execute(
            "INSERT INTO kept_definitions (key, definitions, activity, payload)"
            " VALUES (1, %s, %s, %s)",
            (marks.definitions, activity - 1, b"held"),
        )
        kept = KeptDefinitions((marks.definitions, activity), b"head", [(0, 4)])
        assert save_snapshot(store, AS_OF, True, marks, b"card", definitions=kept)
        with store.reading() as conn:
            saved = read_snapshot(conn, AS_OF, True)
        assert saved is not None and saved.marks == marks
        other.commit()
    finally:
        other.close()
    assert _kept_definitions(store) == (marks.definitions, activity - 1, b"held")


@paired(turn=0)
def test_a_save_given_up_for_a_newer_scorecard_keeps_no_definitions(store: Store) -> None:
    """A save that finds a newer scorecard kept for its date keeps nothing, not even the
    definitions it was scored with."""
    from lineofsight.store.scorecards import KeptDefinitions, read_activity

    scorecard(store, as_of=AS_OF.isoformat())
    _set_kept_definitions(store, None)
    with store.reading() as conn:
        newest = read_snapshot(conn, AS_OF, True)
        activity = read_activity(conn)
    assert newest is not None
    older = type(newest.marks)(newest.marks.definitions, newest.marks.load_id - 1, 0)
    kept = KeptDefinitions((older.definitions, activity), b"head", [(0, 5)])
    assert not save_snapshot(store, AS_OF, True, older, b"stale", definitions=kept)
    assert _kept_definitions(store) is None


@paired(turn=1)
def test_kept_definitions_of_another_key_are_not_read(store: Store) -> None:
    """Definitions kept for another key (the first status in full after an apply) are not
    read out of the store: their frames stay where they are."""
    import sqlite3

    from lineofsight.store.scorecards import read_kept_definitions

    if store.sqlite_file is None:
        pytest.skip("the rows read are seen through Python's sqlite3")
    _set_kept_definitions(store, (7, 11, b"frames"))
    read: list[object] = []

    class Fetched:
        def __init__(self, rows: list[tuple[object, ...]]) -> None:
            self.rows = rows

        def fetchall(self) -> list[tuple[object, ...]]:
            return self.rows

    class Recording(sqlite3.Connection):
        def execute(self, *args: object) -> Fetched:  # type: ignore[override]
            rows = super().execute(*args).fetchall()  # type: ignore[arg-type]
            read.extend(value for row in rows for value in row)
            return Fetched(rows)

    conn = sqlite3.connect(store.sqlite_file, factory=Recording)
    try:
        assert read_kept_definitions(conn, (7, 12)) is None
        assert b"frames" not in read
        assert read_kept_definitions(conn, (7, 11)) == b"frames"
        assert b"frames" in read
    finally:
        conn.close()
