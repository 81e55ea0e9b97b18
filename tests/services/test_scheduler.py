"""The scheduler on SQLite and PostgreSQL: due jobs run once, missed runs once, failures back
off, two schedulers never run one job at once, a dead run's lease expires, state survives a
restart. Times are given (`now`), never waited for; threads meet at barriers and events."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineofsight.domain.schedules import parse_schedule
from lineofsight.services.scheduler import (
    Job,
    JobOutcome,
    backoff,
    job_statuses,
    run_due,
    run_job,
)
from lineofsight.store import jobs as job_rows
from lineofsight.store.database import Store

UTC = dt.UTC
T = dt.datetime(2026, 12, 6, 5, 0, tzinfo=UTC)  # a Sunday, 05:00 UTC
MINUTE = dt.timedelta(minutes=1)
WAIT = 30.0  # seconds a test waits for another thread at most (it fails, never hangs)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store(db_url)
    yield opened
    opened.close()


class Counter:
    """A job's `run`: counts its calls, returns a summary or raises what it is told to."""

    def __init__(self, summary: str = "42 rows") -> None:
        self.calls = 0
        self.summary = summary
        self.fail: Exception | None = None
        self.lock = threading.Lock()

    def __call__(self, _store: Store) -> str:
        with self.lock:
            self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.summary


def job(run: Callable[[Store], str], schedule: str = "daily", key: str = "test:a") -> Job:
    return Job(key, parse_schedule(schedule), run)


def row(store: Store, key: str = "test:a") -> job_rows.JobRow:
    with store.reading() as conn:
        return job_rows.read_jobs(conn, [key])[key]


def test_a_new_job_runs_at_once_then_on_its_schedule(store: Store) -> None:
    counter = Counter()
    daily = job(counter)
    [outcome] = run_due(store, [daily], T)
    assert outcome == JobOutcome(
        key="test:a",
        ok=True,
        summary="42 rows",
        started=T,
        finished=T,
        next_due=dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
        attempts=0,
    )
    assert run_due(store, [daily], T + dt.timedelta(hours=20)) == []  # 01:00: not yet
    assert counter.calls == 1
    [again] = run_due(store, [daily], dt.datetime(2026, 12, 7, 2, 0, 30, tzinfo=UTC))
    assert again.ok and again.next_due == dt.datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
    assert counter.calls == 2
    saved = row(store)
    assert (saved.state, saved.last_outcome, saved.last_error, saved.attempts) == (
        "idle",
        "42 rows",
        None,
        0,
    )
    assert saved.lease_owner is None and saved.lease_until is None
    assert saved.last_started_at == dt.datetime(2026, 12, 7, 2, 0, 30, tzinfo=UTC)


def test_runs_missed_while_nothing_ran_run_once(store: Store) -> None:
    counter = Counter()
    hourly = job(counter, "hourly")
    run_due(store, [hourly], T)
    later = T + dt.timedelta(days=3, minutes=17)  # 72 hourly runs missed
    [outcome] = run_due(store, [hourly], later)
    assert outcome.next_due == dt.datetime(2026, 12, 9, 6, 0, tzinfo=UTC)  # from now on
    assert run_due(store, [hourly], later) == []
    assert run_due(store, [hourly], later + dt.timedelta(minutes=40)) == []
    assert counter.calls == 2


def test_a_failure_is_recorded_and_retried_with_back_off(store: Store) -> None:
    counter = Counter()
    counter.fail = RuntimeError("warehouse unreachable:\n  connection refused")
    daily = job(counter)
    now = T
    retries = []
    for expected in (1, 2, 4, 8, 16, 32, 60, 60):
        [outcome] = run_due(store, [daily], now)
        assert not outcome.ok
        assert outcome.summary == "RuntimeError: warehouse unreachable: connection refused"
        assert outcome.next_due - now == expected * MINUTE
        assert run_due(store, [daily], outcome.next_due - dt.timedelta(seconds=1)) == []
        retries.append(outcome.attempts)
        now = outcome.next_due
    assert retries == [1, 2, 3, 4, 5, 6, 7, 8]
    failed = row(store)
    assert failed.state == "failed" and failed.attempts == 8
    assert failed.last_error == "RuntimeError: warehouse unreachable: connection refused"
    assert failed.last_outcome is None
    counter.fail = None
    [fixed] = run_due(store, [daily], now)
    assert fixed.ok and fixed.attempts == 0
    assert fixed.next_due == dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    ok = row(store)
    assert (ok.state, ok.attempts, ok.last_error, ok.last_outcome) == ("idle", 0, None, "42 rows")


def test_a_retry_never_waits_past_the_next_scheduled_run(store: Store) -> None:
    counter = Counter()
    counter.fail = ValueError("bad rows")
    hourly = job(counter, "hourly")
    [first] = run_due(store, [hourly], dt.datetime(2026, 12, 6, 5, 59, 30, tzinfo=UTC))
    assert first.next_due == dt.datetime(2026, 12, 6, 6, 0, tzinfo=UTC)  # not 06:00:30


@pytest.mark.parametrize(
    ("schedule", "attempts", "minutes"),
    [
        ("daily", 1, 1),
        ("daily", 2, 2),
        ("daily", 6, 32),
        ("daily", 7, 60),
        ("daily", 500, 60),
        ("*/5 * * * *", 4, 5),  # never longer than the schedule's own interval
        ("* * * * *", 3, 1),  # nor shorter than a minute
        ("hourly", 0, 1),
    ],
)
def test_back_off(schedule: str, attempts: int, minutes: int) -> None:
    assert backoff(attempts, parse_schedule(schedule), T) == minutes * MINUTE


def test_the_state_survives_a_restart(db_url: str) -> None:
    counter = Counter()
    daily = job(counter)
    first = Store(db_url)
    try:
        run_due(first, [daily], T)
    finally:
        first.close()
    again = Store(db_url)
    try:
        assert run_due(again, [daily], T + dt.timedelta(hours=2)) == []
        [status] = job_statuses(again, [daily])
        assert status.state == "idle" and status.row is not None
        assert status.row.last_outcome == "42 rows"
        assert status.row.next_due == dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    finally:
        again.close()
    assert counter.calls == 1


def _race(db_url: str, key: str) -> tuple[int, list[list[JobOutcome]]]:
    """Two schedulers, each with its own store, released at once on one due job: how often the
    job ran, and what each scheduler reported."""
    counter = Counter()
    loser_done = threading.Event()

    def run(store: Store) -> str:
        counter(store)
        # Hold the run until the other scheduler has tried and given up: both would be in
        # here at once if both had claimed the job.
        assert loser_done.wait(WAIT), "the other scheduler never gave up"
        return "ran"

    racing = job(run, key=key)
    barrier = threading.Barrier(2)
    results: list[list[JobOutcome]] = [[], []]
    errors: list[BaseException] = []

    def scheduler(index: int) -> None:
        store = Store(db_url, migrate=False)
        try:
            barrier.wait(WAIT)
            results[index] = run_due(store, [racing], T, owner=f"scheduler-{index}")
            if not results[index]:
                loser_done.set()
        except BaseException as exc:
            errors.append(exc)
            loser_done.set()
        finally:
            store.close()

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not errors, errors
    return counter.calls, results


def test_two_schedulers_racing_run_a_due_job_exactly_once(db_url: str) -> None:
    Store(db_url).close()  # migrated before the race
    for round_ in range(4):
        calls, results = _race(db_url, f"race:{round_}")
        assert calls == 1
        assert sorted(len(r) for r in results) == [0, 1]
        assert [o.ok for r in results for o in r] == [True]


def test_a_run_whose_process_died_is_claimed_again_once_its_lease_expires(store: Store) -> None:
    counter = Counter()
    daily = Job("test:a", parse_schedule("daily"), counter, lease=dt.timedelta(minutes=10))
    run_due(store, [daily], T)
    due = dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    # A scheduler claims the job and dies before it finishes: its lease stays behind.
    with store.transaction() as conn:
        assert job_rows.claim_job(conn, "test:a", "dead", due, due + 10 * MINUTE) == 0
    assert row(store).state == "running"
    assert run_due(store, [daily], due + 9 * MINUTE) == []  # the lease still holds
    [outcome] = run_due(store, [daily], due + 10 * MINUTE)
    assert outcome.ok and outcome.recorded
    assert counter.calls == 2
    # The dead scheduler's late word is not taken: the job is no longer its own.
    with store.transaction() as conn:
        assert not job_rows.finish_job(
            conn,
            "test:a",
            "dead",
            schedule="daily",
            finished_at=due,
            next_due=due,
            outcome="late",
            error=None,
        )
    assert row(store).last_outcome == "42 rows"


def test_a_hung_run_taken_over_does_not_overwrite_the_new_runs_outcome(db_url: str) -> None:
    lease = dt.timedelta(minutes=10)
    other = Store(db_url)
    calls: list[str] = []
    inner: list[list[JobOutcome]] = []

    def run(_store: Store) -> str:
        calls.append("run")
        if len(calls) == 1:  # the first run hangs; meanwhile another scheduler looks
            inner.append(run_due(other, [taken], T + 5 * MINUTE, owner="b"))
            inner.append(run_due(other, [taken], T + lease, owner="b"))
            return "first"
        return "second"

    taken = Job("test:a", parse_schedule("daily"), run, lease=lease)
    store = Store(db_url)
    try:
        [first] = run_due(store, [taken], T, owner="a")
        assert inner[0] == []
        assert [(o.summary, o.recorded) for o in inner[1]] == [("second", True)]
        assert (first.summary, first.recorded) == ("first", False)
        saved = row(store)
        assert (saved.state, saved.last_outcome, saved.last_started_at) == (
            "idle",
            "second",
            T + lease,
        )
    finally:
        store.close()
        other.close()


def test_a_long_run_keeps_its_lease(store: Store) -> None:
    """The scheduler renews the lease while a run lasts, so nobody takes a live job over."""
    seen: list[dt.datetime] = []

    def run(s: Store) -> str:
        first = row(s).lease_until
        assert first is not None
        renewed = threading.Event()
        for _ in range(int(WAIT * 100)):  # bounded: fails after WAIT seconds
            current = row(s).lease_until
            if current is not None and current > first:
                seen.extend([first, current])
                renewed.set()
                break
            renewed.wait(0.01)
        return "renewed" if renewed.is_set() else "never renewed"

    lease = dt.timedelta(seconds=0.3)
    now = dt.datetime.now(UTC)
    [outcome] = run_due(store, [Job("test:a", parse_schedule("daily"), run, lease=lease)], now)
    assert outcome.summary == "renewed"
    assert seen[1] > seen[0]


def test_a_jobs_run_is_outside_the_schedulers_transactions(db_url: str) -> None:
    """A job writes in its own transactions: were the scheduler holding one, this write would
    wait for it and give up."""
    store = Store(db_url, busy_timeout=2)

    def run(s: Store) -> str:
        with s.transaction() as conn:
            job_rows.register_jobs(conn, [("test:written", "hourly", T)])
        return "wrote"

    try:
        [outcome] = run_due(store, [job(run)], T)
        assert (outcome.ok, outcome.summary) == (True, "wrote")
        assert row(store, "test:written").schedule == "hourly"
    finally:
        store.close()


def test_a_changed_schedule_moves_the_next_run(store: Store) -> None:
    counter = Counter()
    run_due(store, [job(counter, "daily")], T)
    assert run_due(store, [job(counter, "hourly")], T + 30 * MINUTE) == []
    saved = row(store)
    assert (saved.schedule, saved.next_due) == ("hourly", T + dt.timedelta(hours=1))
    [outcome] = run_due(store, [job(counter, "hourly")], T + dt.timedelta(hours=1))
    assert outcome.ok and counter.calls == 2


def test_run_job_runs_now_unless_another_scheduler_runs_it(store: Store) -> None:
    counter = Counter()
    daily = job(counter)
    run_due(store, [daily], T)
    forced = run_job(store, daily, T + MINUTE)
    assert forced is not None and forced.ok and counter.calls == 2
    with store.transaction() as conn:
        job_rows.claim_job(conn, "test:a", "other", T, T + dt.timedelta(hours=1), due_only=False)
    assert run_job(store, daily, T + 2 * MINUTE) is None
    assert counter.calls == 2


def test_jobs_run_one_after_the_other_and_a_failure_stops_no_other(store: Store) -> None:
    order: list[str] = []

    def named(name: str, fail: bool = False) -> Job:
        def run(_store: Store) -> str:
            order.append(name)
            if fail:
                raise OSError("timed out")
            return name

        return Job(f"test:{name}", parse_schedule("daily"), run)

    outcomes = run_due(store, [named("c"), named("a", fail=True), named("b")], T)
    assert order == ["a", "b", "c"]
    assert [(o.key, o.ok) for o in outcomes] == [
        ("test:a", False),
        ("test:b", True),
        ("test:c", True),
    ]


def test_a_stop_starts_no_further_job(store: Store) -> None:
    stop = threading.Event()
    order: list[str] = []

    def first(_store: Store) -> str:
        order.append("first")
        stop.set()
        return "stopping"

    second = Counter()
    outcomes = run_due(store, [job(first, key="test:1"), job(second, key="test:2")], T, stop=stop)
    assert [o.key for o in outcomes] == ["test:1"]
    assert second.calls == 0


def test_a_long_summary_or_error_is_one_line_cut_short(store: Store) -> None:
    counter = Counter("x" * 2000)
    [outcome] = run_due(store, [job(counter)], T)
    assert len(outcome.summary) == 500 and outcome.summary.endswith("…")
    assert row(store).last_outcome == outcome.summary


def test_a_password_in_a_url_never_reaches_the_store(store: Store) -> None:
    """Jobs redact their secrets; a URL's password in a driver's message is caught here too."""
    counter = Counter()
    counter.fail = ConnectionError(
        "could not connect to postgresql+psycopg://ann:s3cr%40t@db.example.com/dw " + "x" * 600
    )
    [outcome] = run_due(store, [job(counter)], T)
    assert "s3cr" not in outcome.summary
    assert outcome.summary.startswith(
        "ConnectionError: could not connect to postgresql+psycopg://ann:***@db.example.com/dw"
    )
    assert "s3cr" not in (row(store).last_error or "")


steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3 * 24 * 60),  # minutes until the next look
        st.booleans(),  # whether the run (if any) fails
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["hourly", "daily", "weekly", "monthly", "*/10 * * * *"]), steps)
def test_a_job_runs_exactly_when_due(
    tmp_path: Path, schedule_text: str, looks: list[tuple[int, bool]]
) -> None:
    """Over any sequence of looks and failures: a job runs only when it is due and then once;
    after a success it is due at its schedule's next time; after a failure within an hour and
    never past that time."""
    store = Store(f"sqlite:///{tmp_path / 'property.db'}")
    schedule = parse_schedule(schedule_text)
    counter = Counter()
    checked = Job(f"test:{uuid.uuid4().hex}", schedule, counter)
    now, next_due, failures = T, None, 0
    try:
        for minutes, fail in looks:
            now += dt.timedelta(minutes=minutes)
            counter.fail = RuntimeError("down") if fail else None
            calls = counter.calls
            outcomes = run_due(store, [checked], now)
            due = next_due is None or now >= next_due
            assert len(outcomes) == (1 if due else 0)
            assert counter.calls == calls + len(outcomes)
            for outcome in outcomes:
                assert outcome.next_due > now
                assert outcome.ok is not fail
                if fail:
                    failures += 1
                    assert outcome.attempts == failures
                    assert outcome.next_due - now <= dt.timedelta(hours=1)
                    assert outcome.next_due <= schedule.next_after(now)
                else:
                    failures = 0
                    assert outcome.next_due == schedule.next_after(now)
                next_due = outcome.next_due
            assert run_due(store, [checked], now) == []  # nothing runs twice at one time
    finally:
        store.close()


_CHILD = """
import datetime as dt, sys
from lineofsight.domain.schedules import parse_schedule
from lineofsight.services.scheduler import Job, run_due
from lineofsight.store.database import Store

def hang(_store):
    print("started", flush=True)
    sys.stdin.read()  # until killed: the parent never writes
    return "never"

now = dt.datetime.fromisoformat(sys.argv[2])
job = Job("test:a", parse_schedule("daily"), hang, lease=dt.timedelta(minutes=10))
run_due(Store(sys.argv[1]), [job], now, owner="child")
"""


def test_a_scheduler_process_killed_mid_run_leaves_the_job_to_the_next(db_url: str) -> None:
    import subprocess
    import sys

    Store(db_url).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, db_url, T.isoformat()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"  # the child holds the job
    finally:
        child.kill()
        child.wait(WAIT)
    store = Store(db_url)
    try:
        held = row(store)
        assert (held.state, held.lease_owner) == ("running", "child")
        counter = Counter()
        daily = Job("test:a", parse_schedule("daily"), counter, lease=dt.timedelta(minutes=10))
        assert run_due(store, [daily], T + 9 * MINUTE) == []
        [outcome] = run_due(store, [daily], T + 10 * MINUTE)
        assert outcome.ok and counter.calls == 1
        assert row(store).state == "idle" and row(store).lease_owner is None
    finally:
        store.close()
