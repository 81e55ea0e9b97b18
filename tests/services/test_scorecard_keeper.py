"""No reader computes a scorecard in full in normal use: a write to a store where no status
was asked yet keeps today's scorecard, and the daily keeper (`scorecard:keep`, run by `los
serve`'s scheduler, `los jobs --due` and `los refresh --due`) keeps today's, the next
period turn's and the one the home page compares today with ready, however long since the
last write. Each kept scorecard is the one a
full computation gives; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

import lineofsight.engine.frames as frames
from lineofsight.errors import StoreError
from lineofsight.services.evaluate import (
    frame_window,
    older_measurements,
    read_definition_frames,
    read_measurement_frame,
)
from lineofsight.services.snapshots import (
    AHEAD_DAYS,
    CARRY_SHARE,
    compared_day,
    keep_ready,
    scorecard,
)
from lineofsight.store.database import Store
from lineofsight.store.scorecards import (
    read_kpi_groups,
    read_marks,
    read_newest_key,
    read_snapshot,
)
from tests.conftest import Los
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)
from tests.forecasts_made import forecasts_made

AS_OF = dt.date(2026, 11, 22)
SCORE_KPIS = frames.score_kpis  # the engine's own, not the spy


@pytest.fixture
def store(request: pytest.FixtureRequest, unmade_db_url: str):  # type: ignore[no-untyped-def]
    copy_example(request, unmade_db_url, "techinnovate")  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


def _forget(store: Store) -> None:
    with store.transaction() as conn:
        from sqlalchemy import text

        conn.execute(text("DELETE FROM scorecard_patches"))
        conn.execute(text("DELETE FROM scorecard_snapshots"))


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each call of the engine's KPI scoring (what a status kept up to date never makes)."""
    calls: list[object] = []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("only"))
        return SCORE_KPIS(*args, **kwargs)

    monkeypatch.setattr(frames, "score_kpis", spy)
    return calls


def _same_as_full(store: Store, day: dt.date) -> None:
    """The scorecard of `day` read as kept (nothing scored) equals a full computation."""
    defs = read_definition_frames(store)
    measured = read_measurement_frame(store, frame_window(defs, day, True))
    want = SCORE_KPIS(defs, measured, day, True, older=older_measurements(store))
    want = frames.rollup(defs, want, day)
    got = scorecard(store, as_of=day.isoformat(), save=False).evaluation
    assert_frame_equal(got.kpis, want.kpis)
    assert_frame_equal(got.objectives, want.objectives)
    assert_frame_equal(got.units, want.units)


def _turn(store: Store, day: dt.date, horizon: int = 370) -> dt.date | None:
    from lineofsight.domain import model as m
    from lineofsight.services.snapshot_days import next_turn

    with store.reading() as conn:
        groups = read_kpi_groups(conn)
    assert groups is not None
    start, due_days, counts = groups
    return next_turn(counts, m.Calendar(start, due_days), day, True, CARRY_SHARE, horizon)


def test_a_write_before_any_status_keeps_todays_scorecard(
    store: Store, scored: list[object]
) -> None:
    from lineofsight.domain import model as m
    from lineofsight.services.checkin import record_measurement
    from lineofsight.services.evaluate import load_organization

    kpi = next(
        k
        for k in load_organization(store).kpis
        if k.formula is None and k.ratio is None and k.frequency is m.Frequency.MONTHLY
    )
    _forget(store)  # a store where no status was asked yet
    before = dt.date.today()
    record_measurement(
        store,
        kpi_id=kpi.id,
        unit_id=kpi.unit,
        period="2026-09",
        value=kpi.bounds.min if kpi.bounds and kpi.bounds.min is not None else 1.0,
        actor="t",
        allow_future=True,
    )
    today = dt.date.today()
    with store.reading() as conn:
        kept = read_snapshot(conn, today, True) or read_snapshot(conn, before, True)
        assert kept is not None and kept.marks == read_marks(conn)
        assert read_newest_key(conn) in {(today, True), (before, True)}
    scored.clear()
    _same_as_full(store, today)
    assert scored == []  # the first status of the store read it as kept


def test_the_first_status_of_a_new_store_reads_the_scorecard_kept_by_its_writes(
    los: Los, workdir: Path, scored: list[object]
) -> None:
    assert los("init", "--example", "manufacturing").exit_code == 0
    scored.clear()
    result = los("status", "--format", "json")
    assert result.exit_code == 0, result.output
    assert scored == []  # kept by the init's apply and load, not computed by its reader
    assert json.loads(result.stdout)["kpis"]


def test_the_keeper_keeps_a_day_and_its_next_turn_ready(store: Store, scored: list[object]) -> None:
    first = _turn(store, AS_OF)
    assert first is not None
    day = first - dt.timedelta(days=3)
    assert _turn(store, day) == first
    before = compared_day(day, read_definition_frames(store).calendar)
    assert before < day
    _forget(store)
    summary = keep_ready(store, today=day)
    assert summary == (
        f"the scorecards of {day.isoformat()} and {before.isoformat()} kept; "
        f"that of {first.isoformat()} made ahead"
    )
    with store.reading() as conn:
        marks = read_marks(conn)
        for kept_day in (day, first, before):
            kept = read_snapshot(conn, kept_day, True)
            assert kept is not None and kept.marks == marks
        # The turn and the day compared with are marked ahead: writes keep today's.
        assert read_newest_key(conn) == (day, True)
    scored.clear()
    for kept_day in (day, first, before):
        _same_as_full(store, kept_day)
    assert scored == []
    _forecast_kept(store, day)
    # Run again the same day: both up to date, nothing computed.
    assert keep_ready(store, today=day) == summary
    assert scored == []


def _forecast_kept(store: Store, day: dt.date) -> None:
    """Every targeted KPI's forecast of `day` is kept, as a KPI's page reads it (no fit)."""
    from lineofsight.services.attention_forecast import kept_forecast
    from lineofsight.services.evaluate import load_organization

    org = load_organization(store)
    targeted = [k for k in org.kpis if k.target is not None]
    assert targeted
    for kpi in targeted:
        assert kept_forecast(store, kpi, kpi.unit, day, org.calendar) is not None, kpi.id


def test_the_keeper_forecasts_a_large_organisation_in_a_second_process(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organisation at least `ASIDE_KPIS` large: today's forecast is made in a second
    process (its memory goes with it: `los serve`'s scheduler runs the keeper in the server's
    own process), kept before the keeper returns, the one a whole forecast makes."""
    import subprocess

    from lineofsight.engine.forecast_kept import forecast_of
    from lineofsight.services import attention_forecast
    from lineofsight.services.evaluate import load_organization

    monkeypatch.setattr(attention_forecast, "ASIDE_KPIS", 0)
    monkeypatch.setattr(attention_forecast, "_cores", lambda: 2)
    started: list[object] = []
    real_popen = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> object:
        started.append(args)
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", popen)
    made = forecasts_made(monkeypatch)
    keep_ready(store, today=AS_OF)
    assert len(started) == 1 and made == []  # made by the second process, not in this one
    monkeypatch.undo()
    _forecast_kept(store, AS_OF)
    org = load_organization(store)
    kpis = {k.id: k for k in org.kpis}
    whole = attention_forecast._forecast(store, None, AS_OF, None).rows
    for row in whole.iter_rows():
        kept = attention_forecast.kept_forecast(store, kpis[row[0]], row[1], AS_OF, org.calendar)
        assert kept == forecast_of(row, kpis[row[0]], org.calendar), row[0]


def test_the_keeper_makes_no_turn_more_than_a_week_away(store: Store) -> None:
    first = _turn(store, AS_OF)
    assert first is not None
    day = first - dt.timedelta(days=AHEAD_DAYS + 1)
    assert _turn(store, day, AHEAD_DAYS) is None
    _forget(store)
    before = compared_day(day, read_definition_frames(store).calendar)
    assert keep_ready(store, today=day) == (
        f"the scorecards of {day.isoformat()} and {before.isoformat()} kept"
    )
    with store.reading() as conn:
        assert read_snapshot(conn, day, True) is not None
        assert read_snapshot(conn, first, True) is None


def test_a_store_without_kpis_has_no_keeper_and_keeps_nothing(los: Los) -> None:
    los.make_empty_store()
    assert "scorecard:keep" not in los("jobs").output
    assert db_keeps_nothing(los)


def db_keeps_nothing(los: Los) -> bool:
    assert los.db_url is not None
    opened = Store(los.db_url)
    try:
        return keep_ready(opened) == "no KPIs: no scorecard to keep"
    finally:
        opened.close()


@pytest.mark.parametrize("command", [("jobs", "--due"), ("refresh", "--due")])
def test_cron_runs_the_keeper_once_a_day(los: Los, workdir: Path, command: tuple[str, ...]) -> None:
    assert los("init", "--example", "techinnovate").exit_code == 0
    listed = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    assert [j["key"] for j in listed] == ["scorecard:keep"]
    ran = los(*command)
    assert ran.exit_code == 0, ran.output
    assert f"ran scorecard:keep: the scorecards of {dt.date.today().isoformat()} and " in (
        ran.stdout
    )
    again = los(*command)
    assert again.stdout.strip() == "Nothing is due."


def test_a_fresh_web_apps_home_page_reads_the_kept_scorecards(
    db_url: str, tmp_path: Path, scored: list[object]
) -> None:
    """After the keeper's run, the first home page of a new app server (today's scorecard
    and the one it compares with) scores no KPI."""
    from lineofsight.web.app import create_app
    from tests.web.site import build_site, login

    site = build_site(db_url, tmp_path / "ws")
    opened = Store(site.url)
    try:
        keep_ready(opened)
    finally:
        opened.close()
    app = create_app(site.url, secret_key="keeper-test-key")
    try:
        admin = login(app, "admin")
        scored.clear()
        page = admin.get("/")
        assert page.status_code == 200, page.text
        assert scored == []
    finally:
        app.state.store.close()


def test_the_first_apply_of_a_store_keeps_no_scorecard_of_no_values(
    los: Los, workdir: Path
) -> None:
    """Its load follows and would score everything again: the apply does not score first."""
    import lineofsight.examples

    assert los.db_url is not None
    strategy = Path(lineofsight.examples.__file__).parent / "manufacturing" / "strategy.yaml"
    assert los("apply", str(strategy)).exit_code == 0
    opened = Store(los.db_url)
    try:
        with opened.reading() as conn:
            assert read_newest_key(conn) is None
    finally:
        opened.close()


def test_a_keeper_that_could_not_keep_a_scorecard_says_so(store: Store) -> None:
    """A full disk: the keeper raises the store's reason (the scheduler records the run as
    failed), never a summary saying the scorecards are kept."""
    from tests.cli.test_status_keeping import NO_ROOM, _fill_the_disk

    _forget(store)
    _fill_the_disk(store.url)
    with pytest.raises(StoreError) as raised:
        keep_ready(store, today=AS_OF)
    assert "the scorecard could not be kept in the store" in str(raised.value)
    assert NO_ROOM in str(raised.value)
    with store.reading() as conn:
        assert read_snapshot(conn, AS_OF, True) is None


def test_a_keeper_beside_a_write_says_what_it_did_not_keep(store: Store) -> None:
    """Another write holds the store: no failure (the next run keeps them), but the summary
    names the scorecards not kept instead of calling them kept."""
    from tests.writers import WriteLockHolder

    _forget(store)
    before = compared_day(AS_OF, read_definition_frames(store).calendar)
    with WriteLockHolder(store.url):
        summary = keep_ready(store, today=AS_OF)
    assert summary.startswith(f"not kept: {before.isoformat()} and {AS_OF.isoformat()} ("), summary
    assert "another write held the store" in summary and " kept;" not in summary
    with store.reading() as conn:
        assert read_snapshot(conn, AS_OF, True) is None
    assert keep_ready(store, today=AS_OF).startswith(f"the scorecards of {AS_OF.isoformat()} ")


def test_cron_says_the_keeper_failed_and_exits_1(los: Los) -> None:
    from tests.cli.test_status_keeping import NO_ROOM, _fill_the_disk

    assert los("init", "--example", "techinnovate").exit_code == 0
    assert los.db_url is not None
    opened = Store(los.db_url)
    try:
        _forget(opened)
    finally:
        opened.close()
    _fill_the_disk(los.db_url)
    ran = los("jobs", "--due")
    assert ran.exit_code == 1, ran.output
    assert "FAILED scorecard:keep: the scorecard could not be kept in the store" in ran.output
    assert NO_ROOM in ran.output and "Traceback" not in ran.output
