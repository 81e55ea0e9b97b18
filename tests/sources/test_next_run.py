"""When a scheduled source is next refreshed, after a refresh by hand that no scheduler saw:
at its schedule's next time, the same in `los sources`, `los jobs` and the scheduler itself
(which does not refresh it again at once). On SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from lineofsight.domain.schedules import parse_schedule
from tests.conftest import Los
from tests.sources.facts import sqlite_facts, strategy

QUERY = (
    "select strftime('%Y-%m', day) as period, sum(amount) as value, region as unit "
    "from orders where day >= :since group by 1, 3"
)


def _source(los: Los) -> dict[str, object]:
    result = los("sources", "--format", "json")
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.stdout)["sources"]
    return source  # type: ignore[no-any-return]


def _next_run(los: Los) -> dt.datetime:
    return dt.datetime.fromisoformat(str(_source(los)["next_run"]))


def test_a_source_refreshed_by_hand_is_next_refreshed_at_its_schedules_next_time(
    los: Los, workdir: Path, tmp_path: Path
) -> None:
    kpis = [{"id": "revenue", "source": {"from": "facts", "query": QUERY, "schedule": "daily"}}]
    sources = {"facts": {"url": sqlite_facts(tmp_path)}}
    (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    before = dt.datetime.now(dt.UTC)
    assert _next_run(los) - before < dt.timedelta(minutes=1), "never refreshed: due at once"

    refreshed = los("refresh", "--all", "--format", "json")
    assert refreshed.exit_code == 0, refreshed.output
    (summary,) = json.loads(refreshed.stdout)["sources"]
    assert summary["state"] == "ok", summary
    last = _source(los)["last_run"]
    assert isinstance(last, dict)
    finished = dt.datetime.fromisoformat(last["finished_at"])
    expected = parse_schedule("daily").next_after(finished)
    assert expected > dt.datetime.now(dt.UTC)
    assert _next_run(los) == expected
    jobs = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    (job,) = [j for j in jobs if j["key"] == "refresh:facts:daily"]
    assert dt.datetime.fromisoformat(job["next_due"]) == expected
    ran = los("jobs", "--due")
    assert "refresh:facts" not in ran.output, "not due again until its schedule's next time"
    assert _next_run(los) == expected


def test_los_jobs_tells_the_last_refresh_by_hand_as_los_sources_does(
    los: Los, workdir: Path, tmp_path: Path
) -> None:
    kpis = [{"id": "revenue", "source": {"from": "facts", "query": QUERY, "schedule": "hourly"}}]
    gone = f"sqlite:///{tmp_path / 'gone' / 'facts.sqlite'}"
    (workdir / "strategy.yaml").write_text(strategy({"facts": {"url": gone}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    listed = los("jobs")
    assert "refresh:facts:hourly  hourly  new  next now  never run" in listed.output
    for _ in range(2):
        assert los("refresh", "--all").exit_code == 1
    last = _source(los)["last_run"]
    assert isinstance(last, dict) and last["state"] == "failed"
    listed = los("jobs")
    (line,) = [x for x in listed.output.splitlines() if x.startswith("refresh:facts:hourly")]
    assert "never run" not in line
    assert "(by hand): failed: " in line and str(last["error"]) in line
    jobs = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    (job,) = [j for j in jobs if j["key"] == "refresh:facts:hourly"]
    assert job["last_run_outside"]["trigger"] == "command"
    assert job["last_run_outside"]["error"] == last["error"]


def test_a_refresh_by_hand_when_the_job_is_due_pushes_its_next_run_back(
    los: Los, workdir: Path, tmp_path: Path, db_url: str
) -> None:
    from sqlalchemy import text

    from lineofsight.store.database import Store

    kpis = [{"id": "revenue", "source": {"from": "facts", "query": QUERY, "schedule": "daily"}}]
    (workdir / "strategy.yaml").write_text(
        strategy({"facts": {"url": sqlite_facts(tmp_path)}}, kpis)
    )
    assert los("apply", "strategy.yaml").exit_code == 0
    assert "refresh:facts:daily" in los("jobs", "--due").output  # the scheduler's own run
    # Its next time has come (the store's clock is the real one: set the job due an hour ago).
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            conn.execute(
                text("UPDATE scheduled_jobs SET next_due = :t WHERE key = 'refresh:facts:daily'"),
                {"t": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)},
            )
    finally:
        store.close()
    jobs = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    (job,) = [j for j in jobs if j["key"] == "refresh:facts:daily"]
    assert dt.datetime.fromisoformat(job["next_due"]) < dt.datetime.now(dt.UTC)

    assert los("refresh", "--all").exit_code == 0
    last = _source(los)["last_run"]
    assert isinstance(last, dict)
    expected = parse_schedule("daily").next_after(dt.datetime.fromisoformat(last["finished_at"]))
    assert _next_run(los) == expected
    jobs = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    (job,) = [j for j in jobs if j["key"] == "refresh:facts:daily"]
    assert dt.datetime.fromisoformat(job["next_due"]) == expected
    ran = los("jobs", "--due")
    assert "refresh:facts" not in ran.output, "not due again until its schedule's next time"
    assert _next_run(los) == expected
    jobs = json.loads(los("jobs", "--format", "json").stdout)["jobs"]
    (job,) = [j for j in jobs if j["key"] == "refresh:facts:daily"]
    assert dt.datetime.fromisoformat(job["next_due"]) == expected
