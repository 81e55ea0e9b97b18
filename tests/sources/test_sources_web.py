"""The sources in the web app and the API: the page lists each source with its state, an admin
starts a refresh from it (CSRF, audit-logged), and the API starts one and reads a source's
state. And a secret read from the environment shows nowhere: not in the store, the command
line's output, the logs, the page or the API."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.audit import read_audit
from lineofsight.store.database import Store
from lineofsight.web.api_sources import Running
from lineofsight.web.app import create_app
from tests.conftest import Los
from tests.sources.facts import postgresql_facts, sqlite_facts, strategy
from tests.web.conftest import PASSWORD, csrf_of, log_in

SECRET = "Pw7-kq39-never-shown"
MONTH = "strftime('%Y-%m', day)"
REVENUE = (
    f"select {MONTH} as period, sum(amount) as value, region as unit from orders "
    "where day >= :since group by 1, 3"
)
NORTH = (
    f"select {MONTH} as period, count(*) as value from orders "
    "where region = 'north' and day >= :since group by 1"
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _cheap_hashes() -> Iterator[None]:
    from argon2 import PasswordHasher

    original = accounts.hasher
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts.hasher = original


@pytest.fixture
def site(los: Los, workdir: Path, db_url: str) -> Iterator[TestClient]:
    """A store with one SQLite source and users per role, and a client of its web app."""
    folder = workdir / "facts"
    folder.mkdir()
    kpis = [
        {"id": "revenue", "source": {"from": "lite", "query": REVENUE, "schedule": "daily"}},
        {"id": "north_orders", "unit": "north", "source": {"from": "lite", "query": NORTH}},
    ]
    (workdir / "strategy.yaml").write_text(strategy({"lite": {"url": sqlite_facts(folder)}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    store = Store(db_url)
    for name, role in (("admin", "admin"), ("editor", "editor"), ("viewer", "viewer")):
        accounts.add_user(store, name, PASSWORD, (Grant(role),), actor="tests")
    accounts.add_user(store, "north_viewer", PASSWORD, (Grant("viewer", "north"),), actor="tests")
    store.close()
    app = create_app(db_url, secret_key="test secret")
    with TestClient(app, follow_redirects=False) as client:
        yield client
    app.state.store.close()


def bearer(client: TestClient, username: str) -> dict[str, str]:
    token = accounts.create_token(client.app.state.store, username, actor="tests")  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def wait_for_run(client: TestClient, headers: dict[str, str], name: str) -> dict[str, object]:
    """The source's last run once it has ended (a bounded wait: the run is on a thread)."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = client.get(f"/api/v1/sources/{name}", headers=headers).json()
        if found["last_run"] and found["last_run"]["state"] != "running":
            return found  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"the refresh of {name} did not end")


def test_the_page_lists_sources_and_an_admin_refreshes_one(site: TestClient) -> None:
    log_in(site, "viewer")
    page = site.get("/sources")
    assert page.status_code == 200
    assert 'id="source-lite"' in page.text
    assert "daily" in page.text and "never" in page.text
    assert "Refresh now" not in page.text  # a viewer may not start one
    assert site.post("/sources/lite/refresh", data={"csrf_token": csrf_of(site)}).status_code == 403
    site.post("/logout", data={"csrf_token": csrf_of(site)})

    log_in(site, "admin")
    page = site.get("/sources")
    assert "Refresh now" in page.text
    assert site.post("/sources/lite/refresh", data={}).status_code == 403  # no CSRF token
    token = CSRF.search(page.text)
    assert token is not None
    started = site.post("/sources/lite/refresh", data={"csrf_token": token.group(1)})
    assert started.status_code == 303
    assert started.headers["location"] == "/sources?started=lite"
    state = wait_for_run(site, bearer(site, "admin"), "lite")
    assert state["state"] == "ok"
    assert state["last_run"]["added"] == 30  # type: ignore[index]
    assert state["last_run"]["trigger"] == "web"  # type: ignore[index]
    page = site.get("/sources?started=lite")
    assert 'id="started"' in page.text
    assert "30 read: 30 added, 0 replaced, 0 unchanged" in page.text
    entries = read_audit(site.app.state.store, subject="lite")  # type: ignore[attr-defined]
    assert [(e.actor, e.action) for e in entries] == [("admin", "source.refresh")]


def test_the_api_starts_a_refresh_and_reads_a_source(site: TestClient) -> None:
    editor, viewer = bearer(site, "editor"), bearer(site, "viewer")
    listed = site.get("/api/v1/sources", headers=viewer).json()["sources"]
    assert [(s["name"], s["kind"], s["schedules"], s["kpis"], s["state"]) for s in listed] == [
        ("lite", "sql", ["daily"], ["revenue", "north_orders"], "never")
    ]
    # An account scoped to a unit sees the KPIs of its units only.
    scoped = site.get("/api/v1/sources", headers=bearer(site, "north_viewer")).json()
    assert [(s["name"], s["kpis"]) for s in scoped["sources"]] == [("lite", ["north_orders"])]
    assert listed[0]["next_run"] is not None
    missing = site.get("/api/v1/sources/nothing", headers=viewer)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "source 'nothing' not found"
    assert site.post("/api/v1/sources/lite/refresh", headers=viewer).status_code == 403

    done = site.post("/api/v1/sources/lite/refresh?wait=true", headers=editor)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "ok"
    assert (done.json()["rows_read"], done.json()["added"]) == (30, 30)
    # The same summary as `los refresh --format json`: the kind and each query's :since too.
    assert done.json()["kind"] == "sql"
    assert set(done.json()["since"]) == {"revenue", "north_orders"}
    state = site.get("/api/v1/sources/lite", headers=viewer).json()
    assert state["state"] == "ok"
    assert state["runs"][0]["trigger"] == "api"
    assert state["runs"][0]["actor"] == "editor"

    # One refresh of a source at a time: while one runs here, another is refused.
    running = Running()
    site.app.state.refreshing = running  # type: ignore[attr-defined]
    assert running.claim("lite")
    busy = site.post("/api/v1/sources/lite/refresh", headers=editor)
    assert busy.status_code == 409
    running.release("lite")
    started = site.post("/api/v1/sources/lite/refresh", headers=editor)
    assert started.status_code == 202
    assert started.json() == {"source": "lite", "state": "running"}
    assert wait_for_run(site, editor, "lite")["state"] == "ok"


def _store_text(db_url: str) -> str:
    """Everything the store holds, as text (and an SQLite file's bytes)."""
    store = Store(db_url)
    parts = []
    try:
        metadata = MetaData()
        with store.reading() as conn:
            metadata.reflect(conn)
            for table in metadata.tables.values():
                parts.extend(repr(row) for row in conn.execute(select(table)))
    finally:
        store.close()
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        for suffix in ("", "-wal"):
            path = Path(url.database + suffix)
            if path.exists():
                parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


@pytest.mark.postgres
def test_a_secret_never_appears(
    los: Los,
    workdir: Path,
    db_url: str,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with postgresql_facts(pg_url) as facts:
        # The test server trusts local connections: the password is sent, and not needed.
        user = make_url(pg_url).username or "postgres"
        secret_url = facts.replace(f"//{user}@", f"//{user}:{SECRET}@")
        monkeypatch.setenv("FACTS_URL", secret_url)
        monkeypatch.setenv("DOWN_URL", f"postgresql+psycopg://{user}:{SECRET}@127.0.0.1:9/x")
        month = "date_trunc('month', day)"
        kpis = [
            {
                "id": "revenue",
                "source": {
                    "from": "facts",
                    "query": f"select {month} as period, sum(amount) as value from orders "
                    "where day >= :since group by 1",
                },
            },
            {"id": "broken", "source": {"from": "facts_bad", "query": "select nothing"}},
            {"id": "remote", "source": {"from": "down", "query": "select 1"}},
        ]
        sources = {
            "facts": {"url": "env:FACTS_URL"},
            "facts_bad": {"url": "env:FACTS_URL"},
            "down": {"url": "env:DOWN_URL", "timeout": 5},
        }
        (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
        outputs = [los("apply", "strategy.yaml").output]
        refreshed = los("-vv", "refresh", "--all", "--format", "json", "--db", db_url)
        outputs.append(refreshed.output)
        summaries = {s["source"]: s for s in json.loads(refreshed.stdout)["sources"]}
        assert summaries["facts"]["state"] == "ok" and summaries["facts"]["added"] == 10
        assert summaries["facts_bad"]["reason"] == "query"
        assert summaries["down"]["reason"] == "unreachable"
        outputs.append(los("refresh", "--all").output)
        outputs.append(los("sources").output)
        outputs.append(los("sources", "--format", "json").output)
        exported = los("export")
        outputs.append(exported.output)
        assert "url: env:FACTS_URL" in exported.stdout  # the reference is kept, not its value

        store = Store(db_url)
        accounts.add_user(store, "admin", PASSWORD, (Grant("admin"),), actor="tests")
        store.close()
        app = create_app(db_url, secret_key="test secret")
        with TestClient(app, follow_redirects=False) as client:
            headers = bearer(client, "admin")
            log_in(client, "admin")
            outputs.append(client.get("/sources").text)
            outputs.append(client.get("/api/v1/sources", headers=headers).text)
            for name in ("facts", "facts_bad", "down"):
                outputs.append(client.get(f"/api/v1/sources/{name}", headers=headers).text)
                answer = client.post(f"/api/v1/sources/{name}/refresh?wait=true", headers=headers)
                outputs.append(answer.text)
            outputs.append(client.get("/kpis/revenue").text)
            outputs.append(client.get("/api/v1/kpis/revenue/measurements", headers=headers).text)
        app.state.store.close()
        outputs.append("\n".join(r.getMessage() for r in caplog.records))
        outputs.append(_store_text(db_url))
    assert "Failed facts_bad (query)" in outputs[2]
    for text_ in outputs:
        assert SECRET not in text_


def test_only_an_admin_changes_what_a_source_reads(site: TestClient, workdir: Path) -> None:
    original = (workdir / "strategy.yaml").read_text()
    # An editor may change a KPI's name, not its query (a query runs on the server).
    renamed = original.replace("name: Revenue", "name: Net revenue")
    yaml = {"Content-Type": "application/yaml"}
    done = site.put("/api/v1/strategy", content=renamed, headers={**yaml, **bearer(site, "editor")})
    assert done.status_code == 200, done.text
    peeking = renamed.replace("from orders where day", "from orders, other where day", 1)
    refused = site.put(
        "/api/v1/strategy", content=peeking, headers={**yaml, **bearer(site, "editor")}
    )
    assert refused.status_code == 403, refused.text
    assert "the whole organisation" in refused.text
    listed = site.get("/api/v1/sources/lite", headers=bearer(site, "admin")).json()
    assert listed["name"] == "lite"
    allowed = site.put(
        "/api/v1/strategy", content=peeking, headers={**yaml, **bearer(site, "admin")}
    )
    assert allowed.status_code == 200, allowed.text


def test_rows_of_periods_not_ended_are_kept_with_the_run_and_shown(
    los: Los, workdir: Path, db_url: str
) -> None:
    # A mistyped year (2062): the refresh ends "ok" with the rows left for later, and says so
    # wherever its last run shows (a scheduled refresh has no one reading its output).
    (workdir / "data").mkdir()
    (workdir / "data" / "a.csv").write_text(
        "kpi,period,value\nhires,2026-07,3\nhires,2062-07,4\nhires,2062-08,5\n"
    )
    kpis = [{"id": "hires", "source": {"kind": "file", "path": "data/*.csv"}}]
    (workdir / "strategy.yaml").write_text(strategy({}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    assert los("refresh", "hires").exit_code == 0
    said = "2 rows of periods not ended yet left out"
    listed = los("sources")
    assert listed.exit_code == 0 and said in listed.stdout, listed.output
    run = json.loads(los("sources", "--format", "json").stdout)["sources"][0]["last_run"]
    assert (run["state"], run["rows_read"], run["added"], run["not_ended"]) == ("ok", 3, 1, 2)

    store = Store(db_url)
    accounts.add_user(store, "viewer", PASSWORD, (Grant("viewer"),), actor="tests")
    store.close()
    app = create_app(db_url, secret_key="test secret")
    with TestClient(app, follow_redirects=False) as client:
        log_in(client, "viewer")
        page = client.get("/sources").text
        assert f'<span class="not-ended">{said}</span>' in page
        api = client.get("/api/v1/sources/hires", headers=bearer(client, "viewer")).json()
        assert api["last_run"]["not_ended"] == 2
        # A run that left nothing out says nothing of it.
        (workdir / "data" / "a.csv").write_text("kpi,period,value\nhires,2026-07,3\n")
        assert los("refresh", "hires").exit_code == 0
        assert "not-ended" not in client.get("/sources").text
        assert "not ended" not in los("sources").stdout
    app.state.store.close()


def test_a_sourced_kpi_names_its_source_and_its_check_in_says_a_refresh_replaces_it(
    site: TestClient, los: Los, workdir: Path
) -> None:
    log_in(site, "admin")
    page = site.get("/kpis/revenue")
    assert page.status_code == 200
    line = page.text.split('id="kpi-source"', 1)[1].split("</p>", 1)[0]
    assert 'href="/sources#source-lite"' in line and "lite</a> (daily)" in line
    assert "last refresh never" in line and "Enter a value by hand" in line
    assert "Check in a value" not in page.text
    form = site.get("/kpis/revenue/checkin")
    assert form.status_code == 200
    assert 'id="checkin-source"' in form.text
    assert "its next refresh replaces a value entered here" in form.text
    assert los("refresh", "--source", "lite").exit_code == 0
    assert "last refresh ok at " in site.get("/kpis/revenue").text
    # The facts are gone: the next refresh fails, and the page says when (the reason is on
    # the sources page, for the data team).
    (workdir / "facts" / "facts.sqlite").unlink()
    assert los("refresh", "--source", "lite").exit_code != 0
    line = site.get("/kpis/revenue").text.split('id="kpi-source"', 1)[1].split("</p>", 1)[0]
    assert "last refresh failed at " in line and "no such table" not in line


def test_a_value_entered_through_the_api_for_a_sourced_kpi_warns_as_a_load_does(
    site: TestClient, los: Los, workdir: Path
) -> None:
    body = {"kpi": "revenue", "unit": "north", "period": "2026-07", "value": 77}
    answer = site.post("/api/v1/measurements", json=body, headers=bearer(site, "admin"))
    assert answer.status_code == 201, answer.text
    (warning,) = answer.json()["warnings"]
    # The words `los load` says of the same value in a file (its file named before them).
    (workdir / "typed.csv").write_text("kpi,period,value,unit\nrevenue,2026-07,77,north\n")
    loaded = los("load", "typed.csv", "--format", "json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["loaded"][0]["warnings"] == [f"typed.csv: {warning}"]
    assert warning == (
        "KPI revenue takes its values from source 'lite': its next refresh replaces the value "
        "given here if it brings its period (the value is stored)"
    )


def test_a_refreshed_value_that_looks_like_a_slip_is_shown_on_the_page_and_in_the_api(
    site: TestClient, workdir: Path
) -> None:
    from tests.sources.facts import execute

    admin = bearer(site, "admin")
    first = site.post("/api/v1/sources/lite/refresh?wait=true", headers=admin).json()
    assert first["warnings"] == []
    facts = f"sqlite:///{workdir / 'facts' / 'facts.sqlite'}"
    execute(facts, "update orders set amount = amount * 100 where day like '2026-10%'")
    answer = site.post("/api/v1/sources/lite/refresh?wait=true&full=true", headers=admin).json()
    assert answer["replaced"] == 2
    assert [w.split(":")[0] for w in answer["warnings"]] == [
        "KPI revenue at unit north, 2026-10",
        "KPI revenue at unit south, 2026-10",
    ]
    assert (
        site.get("/api/v1/sources/lite", headers=admin).json()["last_run"]["warnings"]
        == (answer["warnings"])
    )
    log_in(site, "viewer")
    page = site.get("/sources").text
    assert "2 values to check" in page
    assert "KPI revenue at unit north, 2026-10: 10,000 is 200 times the usual size" in page


def test_the_api_refuses_a_refresh_running_in_another_process(site: TestClient) -> None:
    import datetime as dt

    from lineofsight.store.sources import start_run

    now = dt.datetime.now(dt.UTC)
    with site.app.state.store.transaction() as conn:  # type: ignore[attr-defined]
        start_run(
            conn,
            source="lite",
            trigger="schedule",
            actor=None,
            full=False,
            at=now,
            lease_until=now + dt.timedelta(minutes=5),
        )
    answer = site.post("/api/v1/sources/lite/refresh?wait=true", headers=bearer(site, "admin"))
    assert answer.status_code == 409
    assert answer.json()["error"]["message"].startswith(
        "a refresh of source 'lite' is running (started "
    )
    assert "by the scheduler): wait for it to end" in answer.json()["error"]["message"]


def test_a_secret_in_a_url_parameter_is_refused_by_apply_check_and_the_api(
    los: Los, site: TestClient, workdir: Path
) -> None:
    leaking = (
        (workdir / "strategy.yaml")
        .read_text()
        .replace("facts.sqlite", "facts.sqlite?motherduck_token=Hunter2Secret")
    )
    (workdir / "leaking.yaml").write_text(leaking)
    line = next(i for i, text_ in enumerate(leaking.splitlines(), 1) if "Hunter2Secret" in text_)
    said = f"leaking.yaml:{line}: sources.lite.url: its parameter motherduck_token holds a secret"
    for command in ("apply", "check"):
        result = los(command, "leaking.yaml")
        assert result.exit_code == 2, result.output
        assert said in result.output
        assert "env:NAME" in result.output and "Hunter2Secret" not in result.output
    refused = site.put(
        "/api/v1/strategy",
        content=leaking,
        headers={"Content-Type": "application/yaml", **bearer(site, "admin")},
    )
    assert refused.status_code == 422, refused.text
    assert "its parameter motherduck_token holds a secret" in refused.text
    assert "Hunter2Secret" not in refused.text
    assert "Hunter2Secret" not in los("export", "-").output
