"""The background scheduler of `los serve`: rounds in its own thread, jobs read afresh each
round, a failing round does not end it, and a stop waits for the running job and starts no
other. Every wait is on an event or a round, bounded."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from lineofsight.domain.schedules import parse_schedule
from lineofsight.services.scheduler import Job
from lineofsight.services.scheduler_runner import BackgroundScheduler
from lineofsight.store import jobs as job_rows
from lineofsight.store.database import Store

WAIT = 30.0
# Long enough that no second round comes by itself during a test: rounds come from wake().
NEVER = 3600.0


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store(db_url)
    yield opened
    opened.close()


def test_rounds_run_due_jobs_and_pick_up_new_ones(store: Store) -> None:
    ran: list[str] = []

    def make(name: str) -> Job:
        return Job(f"test:{name}", parse_schedule("daily"), lambda _s: ran.append(name) or name)

    listed = [make("a")]
    scheduler = BackgroundScheduler(store, lambda _store: list(listed), interval=NEVER)
    scheduler.start()
    try:
        assert scheduler.wait_for_round(0, WAIT)  # the first round starts at once
        assert ran == ["a"]
        listed.append(make("b"))  # a job added to the strategy file
        scheduler.wake()
        assert scheduler.wait_for_round(1, WAIT)
        assert ran == ["a", "b"]  # a ran once: it is not due again until 02:00
    finally:
        assert scheduler.stop(WAIT)
    assert not scheduler.running
    with store.reading() as conn:
        rows = job_rows.read_jobs(conn)
    assert {key: row.last_outcome for key, row in rows.items()} == {"test:a": "a", "test:b": "b"}


def test_a_failing_round_does_not_end_the_scheduler(store: Store) -> None:
    calls: list[int] = []

    def jobs(_store: Store) -> list[Job]:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("the strategy file is being rewritten")
        return [Job("test:a", parse_schedule("hourly"), lambda _s: "fine")]

    scheduler = BackgroundScheduler(store, jobs, interval=NEVER)
    scheduler.start()
    try:
        assert scheduler.wait_for_round(0, WAIT)
        scheduler.wake()
        assert scheduler.wait_for_round(1, WAIT)
    finally:
        assert scheduler.stop(WAIT)
    with store.reading() as conn:
        assert job_rows.read_jobs(conn)["test:a"].last_outcome == "fine"


def test_a_stop_lets_the_running_job_finish_and_starts_no_other(store: Store) -> None:
    started, release = threading.Event(), threading.Event()
    second: list[str] = []

    def slow(_store: Store) -> str:
        started.set()
        assert release.wait(WAIT)
        return "finished"

    jobs = [
        Job("test:1", parse_schedule("daily"), slow),
        Job("test:2", parse_schedule("daily"), lambda _s: second.append("ran") or "ran"),
    ]
    scheduler = BackgroundScheduler(store, lambda _store: jobs, interval=NEVER)
    scheduler.start()
    assert started.wait(WAIT)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(scheduler.stop(WAIT)))
    stopper.start()
    for _ in range(int(WAIT * 100)):  # until the stop is asked for (bounded)
        if scheduler.stopping:
            break
        release.wait(0.01)
    assert scheduler.stopping and scheduler.running  # still finishing its job
    release.set()
    stopper.join(WAIT)
    assert stopped == [True] and not scheduler.running
    assert second == []
    with store.reading() as conn:
        rows = job_rows.read_jobs(conn)
    assert rows["test:1"].state == "idle" and rows["test:1"].last_outcome == "finished"
    assert rows["test:2"].last_started_at is None  # registered, never started


def test_the_interval_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="positive"):
        BackgroundScheduler(store, lambda _s: [], interval=0)
