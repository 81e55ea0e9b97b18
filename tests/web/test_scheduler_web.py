"""`los serve`'s background scheduler: a job running in it holds no page or API request, the
scheduler stops with the app, and `--no-scheduler` (LOS_SERVE_SCHEDULER=off) runs none."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fastapi.testclient import TestClient

from lineofsight.domain.schedules import parse_schedule
from lineofsight.services.scheduler import Job
from lineofsight.store import jobs as job_rows
from lineofsight.store.database import Store
from lineofsight.web.app import create_app, scheduler_setting
from tests.web.conftest import AS_OF, log_in

WAIT = 30.0


def test_pages_answer_while_a_job_runs(web_url: str) -> None:
    started, release = threading.Event(), threading.Event()

    def long_refresh(_store: object) -> str:
        started.set()
        assert release.wait(WAIT), "the test never let the job finish"
        return "refreshed"

    job = Job("test:long", parse_schedule("hourly"), long_refresh)
    app = create_app(
        web_url, secret_key="test secret", scheduler_interval=3600, jobs=lambda _s: [job]
    )
    try:
        with TestClient(app, follow_redirects=False) as client:
            assert started.wait(WAIT)
            scheduler = app.state.scheduler
            assert scheduler is not None and scheduler.running
            assert log_in(client, "admin").status_code == 303
            page = client.get("/", params={"as_of": AS_OF})
            assert page.status_code == 200 and "Revenue" in page.text
            kpi = client.get("/kpis/revenue", params={"as_of": AS_OF})
            assert kpi.status_code == 200
            # All of that answered while the job was still running.
            assert not release.is_set()
            with app.state.store.reading() as conn:
                assert job_rows.read_jobs(conn)["test:long"].state == "running"
            release.set()
        # Leaving the client shuts the app down: the scheduler stops after its job.
        assert not scheduler.running
        with app.state.store.reading() as conn:
            row = job_rows.read_jobs(conn)["test:long"]
        assert (row.state, row.last_outcome) == ("idle", "refreshed")
    finally:
        release.set()
        app.state.store.close()


def test_pages_read_while_a_job_holds_a_write_transaction(web_url: str) -> None:
    """A refresh writes its values in one transaction: the pages that only read go on."""
    go, writing, release = threading.Event(), threading.Event(), threading.Event()

    def refresh(store: Store) -> str:
        assert go.wait(WAIT)
        with store.transaction() as conn:
            job_rows.register_jobs(conn, [("test:written", "hourly", dt.datetime.now(dt.UTC))])
            writing.set()
            assert release.wait(WAIT), "the test never let the job finish"
        return "written"

    job = Job("test:write", parse_schedule("hourly"), refresh)
    app = create_app(
        web_url, secret_key="test secret", scheduler_interval=3600, jobs=lambda _s: [job]
    )
    try:
        with TestClient(app, follow_redirects=False) as client:
            assert log_in(client, "admin").status_code == 303  # a login writes its session
            go.set()
            assert writing.wait(WAIT)
            for path in ("/", "/kpis/revenue", "/units/sales"):
                assert client.get(path, params={"as_of": AS_OF}).status_code == 200, path
            assert not release.is_set()
            release.set()
    finally:
        release.set()
        app.state.store.close()


def test_no_scheduler_runs_without_an_interval(web_url: str) -> None:
    ran: list[str] = []
    job = Job("test:never", parse_schedule("hourly"), lambda _s: ran.append("x") or "x")
    app = create_app(web_url, secret_key="test secret", jobs=lambda _s: [job])
    try:
        with TestClient(app) as client:
            assert client.get("/login").status_code == 200
            assert app.state.scheduler is None
        assert ran == []
    finally:
        app.state.store.close()


def test_the_servers_scheduler_setting() -> None:
    assert scheduler_setting(None) == 30.0
    assert scheduler_setting("") == 30.0
    assert scheduler_setting("5") == 5.0
    assert scheduler_setting(" OFF ") is None
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(RuntimeError, match="LOS_SERVE_SCHEDULER"):
            scheduler_setting(bad)


def test_app_from_environment_reads_the_scheduler_setting(
    web_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.web.app import app_from_environment

    monkeypatch.setenv("LOS_SERVE_DATABASE_URL", web_url)
    for setting, expected in (("off", None), ("7", 7.0)):
        monkeypatch.setenv("LOS_SERVE_SCHEDULER", setting)
        app = app_from_environment()
        try:
            with TestClient(app):
                scheduler = app.state.scheduler
                assert (scheduler.interval if scheduler else None) == expected
            assert scheduler is None or not scheduler.running
        finally:
            app.state.store.close()


@pytest.mark.parametrize(("options", "schedulers"), [((), 1), (("--no-scheduler",), 0)])
@pytest.mark.parametrize("workers", ["1", "3"])
def test_serve_runs_one_scheduler_for_all_its_workers(
    web_url: str,
    monkeypatch: pytest.MonkeyPatch,
    workers: str,
    options: tuple[str, ...],
    schedulers: int,
) -> None:
    """`los serve` runs the scheduler in its own process and tells its workers to run none,
    however many workers it starts; it stops the scheduler when the server ends."""
    import os

    import uvicorn

    from tests.conftest import Los

    seen: dict[str, object] = {}

    def server(target: str, timeout_worker_healthcheck: int = 5, **settings: object) -> None:
        """uvicorn's place: what the workers would be started with, and the threads now."""
        seen["settings"] = settings
        seen["healthcheck"] = timeout_worker_healthcheck
        seen["app"] = target
        seen["workers_scheduler"] = os.environ["LOS_SERVE_SCHEDULER"]
        seen["threads"] = [t for t in threading.enumerate() if t.name == "los scheduler"]

    for name in ("LOS_SECRET_KEY", "LOS_SERVE_DATABASE_URL", "LOS_SERVE_SCHEDULER"):
        monkeypatch.setenv(name, "set by the test")
    monkeypatch.setattr(uvicorn, "run", server)
    result = Los(None)("serve", "--workers", workers, *options, "--db", web_url)
    assert result.exit_code == 0, result.output
    assert seen["app"] == "lineofsight.web.app:app_from_environment"
    assert seen["settings"]["workers"] == int(workers)  # type: ignore[index]
    assert seen["workers_scheduler"] == "off"
    # A worker busy making a large scorecard is not taken for a hung one and replaced.
    assert seen["healthcheck"] == 60
    threads = seen["threads"]
    assert isinstance(threads, list) and len(threads) == schedulers
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "the scheduler outlived the server"
