"""What keeps a refresh honest and safe: a float sum that differs only in its last bits is
the value stored (no false revision), a refresh whose process was killed ends when its lease
runs out, a DuckDB query cannot read the server's files, and only an admin changes what a
source reads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from lineofsight.store.database import Store
from lineofsight.store.sources import start_run
from tests.conftest import Los
from tests.sources.facts import duckdb_facts, execute, sqlite_facts, stored, strategy

MONTH = "strftime('%Y-%m', day)"
REVENUE = (
    f"select {MONTH} as period, sum(amount) as value, region as unit from orders "
    "where day >= :since group by 1, 3"
)


def apply(los: Los, workdir: Path, url: str, query: str = REVENUE) -> None:
    kpis = [{"id": "revenue", "source": {"from": "facts", "query": query}}]
    (workdir / "strategy.yaml").write_text(strategy({"facts": {"url": url}}, kpis))
    result = los("apply", "strategy.yaml")
    assert result.exit_code == 0, result.output


def refresh(los: Los) -> dict[str, object]:
    result = los("refresh", "--all", "--format", "json")
    found: dict[str, object] = json.loads(result.stdout)["sources"][0]
    return found


def test_a_sum_that_differs_in_its_last_bits_is_not_a_revision(
    los: Los, workdir: Path, db_url: str, tmp_path: Path
) -> None:
    url = sqlite_facts(tmp_path)
    apply(los, workdir, url)
    refresh(los)
    # September's north order (90.0) a few units of its last place larger, as a sum added
    # in another order gives it: the same value at the stored precision.
    bits = 90.0 * (1 + 4 * 2.0**-52)
    assert bits != 90.0
    execute(url, "update orders set amount = :a where day = '2026-09-05'", {"a": bits})
    summary = refresh(los)
    assert (summary["replaced"], summary["unchanged"]) == (0, 6)
    values = {(u, p): (v, r) for _, u, p, v, _, _, r in stored(db_url)}
    assert values[("north", "2026-09")] == (90.0, 1)
    # A real change, however small for a person, is one.
    execute(url, "update orders set amount = 90.000001 where day = '2026-09-05'")
    summary = refresh(los)
    assert summary["replaced"] == 1
    values = {(u, p): (v, r) for _, u, p, v, _, _, r in stored(db_url)}
    assert values[("north", "2026-09")] == (90.000001, 2)


def test_a_killed_refresh_ends_when_its_lease_runs_out(
    los: Los, workdir: Path, db_url: str, tmp_path: Path
) -> None:
    apply(los, workdir, sqlite_facts(tmp_path))
    now = dt.datetime.now(dt.UTC)
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            # A refresh whose process died an hour ago, and one that runs now.
            start_run(
                conn,
                source="facts",
                trigger="schedule",
                actor=None,
                full=False,
                at=now - dt.timedelta(hours=1),
                lease_until=now - dt.timedelta(minutes=55),
            )
    finally:
        store.close()
    listed = json.loads(los("sources", "--format", "json").stdout)["sources"][0]
    assert listed["state"] == "failed"
    assert listed["last_run"]["error"].startswith("abandoned: the refresh stopped")

    assert refresh(los)["state"] == "ok"
    store = Store(db_url)
    try:
        with store.reading() as conn:
            runs = conn.execute(
                text("SELECT state, error, lease_until FROM source_runs ORDER BY id")
            ).all()
    finally:
        store.close()
    assert [r[0] for r in runs] == ["failed", "ok"]
    assert runs[0][1].startswith("abandoned") and runs[1][2] is None

    store = Store(db_url)
    try:
        with store.transaction() as conn:
            start_run(
                conn,
                source="facts",
                trigger="command",
                actor=None,
                full=False,
                at=now,
                lease_until=now + dt.timedelta(minutes=5),
            )
    finally:
        store.close()
    listed = json.loads(los("sources", "--format", "json").stdout)["sources"][0]
    assert listed["state"] == "running"


def test_a_duckdb_query_cannot_read_the_servers_files(
    los: Los, workdir: Path, db_url: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("period,value\n2026-01,42\n")
    query = f"select period, value from read_csv('{secret}') where :since is not null"
    url = duckdb_facts(tmp_path)
    apply(los, workdir, url, query)
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["reason"] == "query"
    assert "disabled by configuration" in summary["error"]
    assert stored(db_url) == []
    # The file's own tables are read as before.
    apply(los, workdir, url, REVENUE.replace(MONTH, "date_trunc('month', day)"))
    assert refresh(los)["state"] == "ok"


def test_a_value_missing_because_its_source_failed_says_so(
    los: Los, workdir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTS_URL", sqlite_facts(tmp_path))
    apply(los, workdir, "env:FACTS_URL")
    assert refresh(los)["state"] == "ok"

    def overdue() -> list[str]:
        result = los("inbox", "--as-of", "2027-01-05", "--format", "json")
        assert result.exit_code == 0, result.output
        items = json.loads(result.stdout)["items"]
        return [i["reason"] for i in items if i["kind"] == "overdue" and i["item_id"] == "revenue"]

    # November's value (due 30 days after its end) is late, and nothing says why.
    (late,) = overdue()
    assert "is not in" in late and "source" not in late
    monkeypatch.setenv("FACTS_URL", f"sqlite:///{tmp_path / 'gone' / 'facts.sqlite'}")
    failed = refresh(los)
    assert failed["state"] == "failed" and failed["reason"] == "setup"  # no such file
    (late,) = overdue()
    assert late.endswith(
        ": its source facts failed at its last refresh on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}; the data team has the details"
    ), late
    assert "cannot connect" not in late and "gone" not in late, "the driver's error stays out"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "postgresql://los:Pw-never-shown@127.0.0.1:notaport/crm",
            "url's port is not a number (dialect+driver://user@host:port/database)",
        ),
        (
            "mysql://los:Pw-never-shown@127.0.0.1/crm",
            "the driver for mysql (the module MySQLdb) is not installed here: "
            "pip install 'mysqlclient'",
        ),
        ("nosuchdb://los:Pw-never-shown@127.0.0.1/crm", "no SQLAlchemy dialect for 'nosuchdb' is"),
        # A web address where a database's URL goes: what a source may be, instead.
        (
            "https://los:Pw-never-shown@api.example.com/orders.json",
            "https:// is a web address, not a database: Line of Sight reads sql sources "
            "(url: a SQLAlchemy database URL such as postgresql://host/db), spark sources and "
            "file sources (path: a CSV or XLSX file), not web pages or HTTP/JSON APIs",
        ),
        # An option the driver refuses before it tries to connect (no server on port 1).
        (
            "postgresql://los:Pw-never-shown@127.0.0.1:1/crm?sslmod=require",
            'the url\'s options: invalid connection option "sslmod"',
        ),
        # DuckDB's dialect is the duckdb extra's (installed for the tests: its absence is
        # what a plain install sees, made here by SQLAlchemy's registry not finding it)
        (
            "duckdb:///facts.duckdb",
            "no SQLAlchemy dialect for 'duckdb' is installed here: "
            "pip install 'lineofsight[duckdb]'",
        ),
    ],
)
def test_a_mistake_in_a_source_url_is_a_setup_failure_that_names_it(
    los: Los, workdir: Path, url: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if url.startswith("duckdb"):
        from sqlalchemy.dialects import registry
        from sqlalchemy.exc import NoSuchModuleError

        found = registry.load

        def load(name: str) -> object:
            if name.startswith("duckdb"):
                raise NoSuchModuleError(f"Can't load plugin: sqlalchemy.dialects:{name}")
            return found(name)

        monkeypatch.setattr(registry, "load", load)
    monkeypatch.setenv("FACTS_URL", url)
    apply(los, workdir, "env:FACTS_URL")
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["sources"][0]
    assert summary["reason"] == "setup" and summary["error"].startswith(said), summary["error"]
    text = los("refresh", "--all")
    assert "facts" in text.output and said in text.output and "unexpected" not in text.output
    assert "Pw-never-shown" not in result.output + text.output


def test_a_refresh_of_a_source_already_running_elsewhere_is_refused(
    los: Los, workdir: Path, db_url: str, tmp_path: Path
) -> None:
    from lineofsight.errors import SourceError
    from lineofsight.services.refresh import RefreshJob

    apply(los, workdir, sqlite_facts(tmp_path))
    started = dt.datetime(2026, 12, 8, 2, 2, tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            # Another process's refresh, its lease renewed a moment ago.
            start_run(
                conn,
                source="facts",
                trigger="command",
                actor="bob",
                full=True,
                at=started,
                lease_until=now + dt.timedelta(minutes=5),
            )
    finally:
        store.close()
    before = stored(db_url)

    result = los("refresh", "--source", "facts")
    assert result.exit_code == 1
    assert (
        "Failed facts (running): a refresh of source 'facts' is running (started 2026-12-08 "
        "02:02 UTC by bob): wait for it to end"
    ) in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert stored(db_url) == before
    # The scheduler's refresh is refused alike, and neither is recorded as a run.
    store = Store(db_url)
    try:
        with pytest.raises(SourceError, match=r"a refresh of source 'facts' is running"):
            RefreshJob("facts:daily", "daily", "facts", ("revenue",)).run(store)
        with store.reading() as conn:
            states = conn.execute(text("SELECT state FROM source_runs ORDER BY id")).all()
        assert [s for (s,) in states] == ["running"]
        # Once the other refresh's lease has run out (its process died), it no longer blocks.
        with store.transaction() as conn:
            conn.execute(
                text("UPDATE source_runs SET lease_until = :t"),
                {"t": now - dt.timedelta(minutes=1)},
            )
    finally:
        store.close()
    assert refresh(los)["state"] == "ok"
