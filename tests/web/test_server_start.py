"""A fresh server's workers start from the scorecards kept in the store
(`services.serve_start`): the pages and API answers of a worker started from them are those of
one that computed them, on SQLite and PostgreSQL; `los serve` keeps them before its workers
start."""

from __future__ import annotations

import datetime as dt
import gc
import re
import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from lineofsight.engine import frames
from lineofsight.services.attention_forecast import _key
from lineofsight.services.serve_start import keep_before_start
from lineofsight.store.check_results import read_check_state, read_kept_report
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.web.conftest import log_in

PAGES = (
    "/",
    "/?period=2026-03",
    "/map",
    "/map?period=2026-03",
    "/units/sales",
    "/kpis/revenue",
    "/kpis/conversion?period=2026-03",
    "/objectives/sell_more",
    "/lists/red",
    "/heatmap",  # the reader's own units: the whole company for the admin
)
API = (
    "/api/v1/status",
    "/api/v1/status?period=2026-03",
    "/api/v1/status?as_of=2026-03-31",
    "/api/v1/kpis/revenue",
    "/api/v1/units/sales",
)
# What differs between two sessions of the same page: the session's form token.
TOKEN = re.compile(r'(name="csrf_token" value=|data-csrf=|"csrf_token": ?)"[^"]*"')


def _forget_kept(url: str) -> None:
    """No scorecard kept in the store (what the writes of the set-up kept)."""
    store = Store(url)
    try:
        with store.transaction() as conn:
            conn.execute(text("DELETE FROM scorecard_patches"))
            conn.execute(text("DELETE FROM scorecard_snapshots"))
    finally:
        store.close()


def _kept_days(url: str) -> set[str]:
    store = Store(url)
    try:
        with store.reading() as conn:
            rows = conn.execute(text("SELECT as_of FROM scorecard_snapshots")).all()
    finally:
        store.close()
    return {str(row[0])[:10] for row in rows}


@pytest.fixture
def full_scores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dt.date]]:
    """The as-of dates of every scorecard computed in full meanwhile (the engine's scoring
    of all KPIs; a kept scorecard brought up to date scores none)."""
    seen: list[dt.date] = []
    score = frames.score_kpis

    def counted(defs, measurements, day, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(day)
        return score(defs, measurements, day, *args, **kwargs)

    monkeypatch.setattr(frames, "score_kpis", counted)
    yield seen


def _answers(url: str) -> dict[str, tuple[int, str]]:
    """Every page (as an admin and as a viewer of one unit) and API answer of a fresh app."""
    app = create_app(url, secret_key="test secret")
    answers: dict[str, tuple[int, str]] = {}
    try:
        for user in ("admin", "sales_viewer"):
            with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
                assert log_in(client, user).status_code == 303
                for path in PAGES + API:
                    answer = client.get(path)
                    answers[f"{user} {path}"] = (answer.status_code, TOKEN.sub("", answer.text))
    finally:
        app.state.store.close()
    return answers


def test_a_worker_from_the_kept_scorecard_answers_as_one_that_computed_it(
    web_url: str, full_scores: list[dt.date]
) -> None:
    _forget_kept(web_url)
    computed = _answers(web_url)
    assert dt.date.today() in full_scores  # this app computed today's scorecard itself
    assert all(status == 200 for status, _ in computed.values()), {
        path: status for path, (status, _) in computed.items() if status != 200
    }

    _forget_kept(web_url)
    assert keep_before_start(web_url) is True
    assert dt.date.today().isoformat() in _kept_days(web_url)
    full_scores.clear()
    started = _answers(web_url)
    # Today's scorecard (and the one the home page compares it with) read as kept: only the
    # period reports and the other dates the test asks for are computed by the app.
    assert dt.date.today() not in full_scores
    assert started == computed


def test_nothing_is_kept_before_a_strategy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(url).close()
    assert keep_before_start(url) is False
    assert _kept_days(url) == set()


def test_serve_keeps_todays_scorecard_before_its_workers_start(
    web_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from tests.conftest import Los

    _forget_kept(web_url)
    seen: dict[str, set[str]] = {}

    def server(target: str, **settings: object) -> None:
        """uvicorn's place: what the store keeps when the workers would start."""
        seen["kept"] = _kept_days(web_url)
        store = Store(web_url)
        try:
            with store.reading() as conn:
                kept = read_kept_report(conn, _key(dt.date.today()))
                fresh = kept is not None and kept[0] == read_check_state(conn)
            seen["forecast"] = {"fresh"} if fresh else set()
        finally:
            store.close()

    for name in ("LOS_SECRET_KEY", "LOS_SERVE_DATABASE_URL", "LOS_SERVE_SCHEDULER"):
        monkeypatch.setenv(name, "set by the test")
    monkeypatch.setattr(uvicorn, "run", server)
    port = str(_free_port())  # `serve` makes sure it could listen there before it starts
    result = Los(None)("serve", "--workers", "2", "--no-scheduler", "--port", port, "--db", web_url)
    assert result.exit_code == 0, result.output
    assert dt.date.today().isoformat() in seen["kept"]
    assert seen["forecast"] == {"fresh"}  # today's forecast kept too: a KPI's page reads it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_says_that_its_port_is_taken_before_it_starts(
    web_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not "Serving ..." and the scheduler started, then uvicorn's error and exit code 3 (which
    # says "store busy" elsewhere): one line naming the address, exit 2, nothing started.
    import uvicorn

    from tests.conftest import Los

    started: list[object] = []
    for name in ("LOS_SECRET_KEY", "LOS_SERVE_DATABASE_URL", "LOS_SERVE_SCHEDULER"):
        monkeypatch.setenv(name, "set by the test")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **settings: started.append(args))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = Los(None)("serve", "--port", str(port), "--db", web_url)
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in result.output
    assert "Serving" not in result.output and started == []
    unknown = Los(None)("serve", "--host", "no-such-host.invalid", "--db", web_url)
    assert unknown.exit_code == 2 and "cannot listen on no-such-host.invalid:8000" in unknown.output
    assert started == []


def test_the_port_check_binds_as_the_server_does() -> None:
    """Every interface ("") is a host; an IPv6 server beside an IPv4 one on the same port is
    not refused (IPv6 only, as asyncio binds); a taken IPv4 port is."""
    from lineofsight.cli.web_commands import _can_listen
    from lineofsight.errors import UsageError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match="address already in use"):
            _can_listen("127.0.0.1", port)
        if socket.has_ipv6:
            try:
                with socket.socket(socket.AF_INET6) as six:
                    six.bind(("::1", 0))
            except OSError:
                pass  # no IPv6 on this machine: nothing more to check
            else:
                _can_listen("::", port)
    _can_listen("", _free_port())


def test_page_rows_read_in_one_go_are_those_read_by_name(web_url: str) -> None:
    """A snapshot's KPI rows (read as tuples) are the rows read by column name, and the
    snapshots of two dates share one set of the organisation's indexes."""
    from lineofsight.services.scorecards import ScorecardCache
    from lineofsight.web.pagedata import _kpi_row, _kpi_rows, snapshot

    store = Store(web_url)
    try:
        cache = ScorecardCache(store)
        for day in (dt.date(2026, 3, 31), dt.date(2026, 2, 28), dt.date.today()):
            kpis = cache.scorecard(as_of=day.isoformat()).evaluation.kpis
            by_name = {(r["id"], r["unit"]): _kpi_row(r) for r in kpis.iter_rows(named=True)}
            assert len(by_name) >= 4
            assert _kpi_rows(kpis) == by_name
        march = snapshot(cache, dt.date(2026, 3, 31))
        february = snapshot(cache, dt.date(2026, 2, 28))
        assert march.kpi_rows != february.kpi_rows  # two dates' rows, one organisation
        assert march.supporters is february.supporters
        assert march.supporters == {
            "sell_more": ["revenue", "conversion", "xss"],
            "grow": ["defects"],
        }
        assert march.child_units == {
            None: ["acme"],
            "acme": ["sales", "ops"],
            "sales": ["sales_east"],
        }
        assert march.kpis_by_owner == {
            "alice": ["revenue", "conversion", "xss"],
            "bob": ["defects"],
        }
    finally:
        store.close()


def test_a_starting_worker_makes_the_two_snapshots_of_the_home_page(web_url: str) -> None:
    """The worker's warm-up makes today's snapshot and the one the home page compares it
    with, so that the first home page waits for neither."""
    from lineofsight.services.scorecards import ScorecardCache
    from lineofsight.store.organization import values_revision
    from lineofsight.web.pagedata import _lru
    from lineofsight.web.pages_overview import previous_as_of

    app = create_app(web_url, secret_key="test secret", warm=True)
    try:
        with TestClient(app, follow_redirects=False):  # type: ignore[arg-type]
            app.state.warming.join(60)
            assert not app.state.warming.is_alive()
            assert gc.isenabled()  # paused while it made them, on again after
            cache: ScorecardCache = app.state.scorecards
            made = _lru(cache, "_page_snapshots", 8)
            version = values_revision(cache.revision())
            now = made.peek((version, dt.date.today(), None))
            assert now is not None
            earlier = previous_as_of(now, "")
            assert earlier is not None
            before = earlier[0]
            assert before < dt.date.today()
            assert made.peek((version, before, None)) is not None
    finally:
        app.state.store.close()


def test_serve_names_its_store_without_the_password(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "Serving ..." line goes to the service's log: a password in the store's URL (as the
    README says to give one, in LOS_DATABASE_URL) is not in it."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from tests.conftest import Los
    from tests.stores import drop_postgresql, postgresql_store

    url = postgresql_store(pg_url)
    try:
        parsed = make_url(url)
        # The test server trusts its local connections: a password is sent and not needed.
        secret = "Sh0uldNeverShow"
        with_password = parsed.set(
            username=parsed.username or "postgres", password=secret
        ).render_as_string(hide_password=False)
        for name in ("LOS_SECRET_KEY", "LOS_SERVE_DATABASE_URL", "LOS_SERVE_SCHEDULER"):
            monkeypatch.setenv(name, "set by the test")
        monkeypatch.setenv("LOS_DATABASE_URL", with_password)
        monkeypatch.setattr(uvicorn, "run", lambda *args, **settings: None)
        port = str(_free_port())
        result = Los(None)("serve", "--no-scheduler", "--port", port)
        assert result.exit_code == 0, result.output
        assert "Serving Line of Sight" in result.output
        assert secret not in result.output
        assert "***" in result.output
    finally:
        drop_postgresql(pg_url, url)
