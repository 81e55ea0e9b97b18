"""`los jobs` lists the scheduled jobs with their state; `los jobs --due` runs the due ones
(what cron calls when `los serve` runs without its scheduler)."""

from __future__ import annotations

import json

import pytest

from lineofsight.domain.schedules import parse_schedule
from lineofsight.services import jobs as job_families
from lineofsight.services.scheduler import Job
from lineofsight.store.database import Store
from tests.conftest import Los


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One family of two jobs: `test:ok` succeeds, `test:bad` fails."""
    calls: list[str] = []

    def ok(_store: Store) -> str:
        calls.append("ok")
        return "120 rows read, 3 replaced"

    def bad(_store: Store) -> str:
        calls.append("bad")
        raise ConnectionError("warehouse unreachable")

    def family(_store: Store) -> list[Job]:
        return [
            Job("test:ok", parse_schedule("daily"), ok),
            Job("test:bad", parse_schedule("0 6 * * mon-fri"), bad),
        ]

    monkeypatch.setattr(job_families, "FAMILIES", (family,))
    return calls


def test_no_jobs_says_how_to_make_one(los: Los) -> None:
    los.make_empty_store()
    result = los("jobs", "--db", str(los.db_url))
    assert result.exit_code == 0, result.output
    assert "No scheduled jobs" in result.output
    # Notifications have no `schedule:` key: their section alone makes their (hourly) job.
    assert "a source's `schedule:` or a `notifications:` section" in result.output


def test_list_run_due_and_list_again(los: Los, ran: list[str]) -> None:
    los.make_empty_store()
    db = ("--db", str(los.db_url))
    listed = los("jobs", *db)
    assert listed.exit_code == 0, listed.output
    assert "test:bad  0 6 * * mon-fri  new  next now  never run" in listed.output
    assert "test:ok  daily  new  next now  never run" in listed.output

    due = los("jobs", "--due", *db)
    assert due.exit_code == 1, due.output  # one failed: cron hears of it
    assert "FAILED test:bad: ConnectionError: warehouse unreachable (retry " in due.output
    assert "ran test:ok: 120 rows read, 3 replaced (next " in due.output
    assert sorted(ran) == ["bad", "ok"]

    again = los("jobs", "--due", *db)
    assert (again.exit_code, again.output.strip()) == (0, "Nothing is due."), again.output
    assert len(ran) == 2

    data = json.loads(los("jobs", "--format", "json", *db).stdout)
    by_key = {job["key"]: job for job in data["jobs"]}
    assert by_key["test:ok"]["state"] == "idle"
    assert by_key["test:ok"]["last_outcome"] == "120 rows read, 3 replaced"
    assert by_key["test:ok"]["next_due"].endswith("T02:00:00+00:00")
    assert by_key["test:bad"]["state"] == "failed"
    assert by_key["test:bad"]["attempts"] == 1
    assert by_key["test:bad"]["last_error"] == "ConnectionError: warehouse unreachable"

    text = los("jobs", *db).output
    assert "test:bad  0 6 * * mon-fri  failed (1 failed in a row)  next " in text
    assert "failed: ConnectionError: warehouse unreachable" in text


def test_due_as_json(los: Los, ran: list[str]) -> None:
    los.make_empty_store()
    result = los("jobs", "--due", "--format", "json", "--db", str(los.db_url))
    assert result.exit_code == 1
    outcomes = {o["key"]: o for o in json.loads(result.stdout)["ran"]}
    assert outcomes["test:ok"]["ok"] is True
    assert outcomes["test:bad"] | {"started": None, "finished": None, "next_due": None} == {
        "key": "test:bad",
        "ok": False,
        "summary": "ConnectionError: warehouse unreachable",
        "started": None,
        "finished": None,
        "next_due": None,
        "attempts": 1,
    }


def test_no_store_says_so(workdir: object, tmp_path: object) -> None:
    result = Los(None)("jobs", "--db", f"sqlite:///{tmp_path}/missing/los.db")
    assert result.exit_code == 2
    assert "no store at" in result.output and "los init" in result.output
