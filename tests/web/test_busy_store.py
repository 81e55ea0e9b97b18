"""A write that cannot get the store in time is refused clearly, on every surface, and writes
nothing: the command line says the store is busy (exit code 3), the API answers 503 with
Retry-After in its one error shape, a page says so, a service raises StoreBusy."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.errors import StoreBusy, UsageError
from lineofsight.services import accounts
from lineofsight.services.checkin import record_measurement
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from lineofsight.web.errors import RETRY_AFTER
from tests.conftest import Los
from tests.web.conftest import build_store, log_in
from tests.web.site import csrf_from
from tests.web.test_api import assert_error
from tests.writers import WriteLockHolder, stored_state

BUSY = re.compile(
    r"the store is busy: another write is running \(waited [\d.]+ s of the 0\.05 s allowed\); "
    r"nothing was written"
)


def test_a_write_that_cannot_get_the_store_is_refused_clearly_everywhere(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_store(db_url, tmp_path / "setup")
    store = Store(db_url)
    token = accounts.create_token(store, "admin", actor="tests")
    store.close()
    auth = {"Authorization": f"Bearer {token}"}
    data = tmp_path / "may.csv"
    data.write_text("kpi,period,value\nrevenue,2026-05,150\n", encoding="utf-8")
    monkeypatch.setenv("LOS_BUSY_TIMEOUT", "0.05")
    monkeypatch.setenv("LOS_WEB_BUSY_TIMEOUT", "0.05")
    # Logging in writes a session: done before another write holds the store.
    app = create_app(db_url, secret_key="test secret")
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    admin_client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    log_in(client, "alice")
    log_in(admin_client, "admin")
    before = stored_state(db_url)
    los = Los(db_url)
    checkin = {"kpi": "revenue", "period": "2026-05", "value": 150}

    with WriteLockHolder(db_url):
        # The command line first: on SQLite it loads through its own copy of the library,
        # which must not meet this process's other connections to the file.
        result = los("load", str(data))
        assert result.exit_code == 3, result.output
        assert BUSY.search(result.output) and "LOS_BUSY_TIMEOUT" in result.output
        assert "Traceback" not in result.output

        service_store = Store(db_url)
        with pytest.raises(StoreBusy, match="the store is busy"):
            record_measurement(
                service_store,
                kpi_id="revenue",
                unit_id=None,
                period="2026-05",
                value=150,
                actor="tests",
            )
        service_store.close()

        with client, admin_client:
            answer = client.post("/api/v1/measurements", json=checkin, headers=auth)
            error = assert_error(answer, 503, "busy")
            assert BUSY.match(error["message"]) and error["details"] == []
            assert answer.headers["retry-after"] == str(RETRY_AFTER)

            upload = {"file": ("may.csv", io.BytesIO(data.read_bytes()), "text/csv")}
            answer = client.post("/api/v1/measurements/upload", files=upload, headers=auth)
            assert BUSY.match(assert_error(answer, 503, "busy")["message"])
            assert answer.headers["retry-after"] == str(RETRY_AFTER)

            # Pages are reads: they are served while another write runs.
            csrf = csrf_from(client.get("/kpis/revenue/checkin").text)
            page = client.post(
                "/kpis/revenue/checkin",
                data={"period": "2026-05", "value": "150", "csrf_token": csrf},
            )
            # The form comes back as sent, saying why nothing was saved.
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["retry-after"] == str(RETRY_AFTER)
            assert "The store is busy: another write is running" in page.text
            assert 'name="value" value="150"' in page.text
            # Any other page write gets the same answer, as an error page.
            csrf = csrf_from(admin_client.get("/upload").text)
            upload = {"file": ("may.csv", io.BytesIO(data.read_bytes()), "text/csv")}
            page = admin_client.post("/upload", files=upload, data={"csrf_token": csrf})
            assert page.status_code == 503 and page.headers["retry-after"] == str(RETRY_AFTER)
            assert "The store is busy: another write is running" in page.text
        app.state.store.close()

    assert stored_state(db_url) == before  # nothing of any refused write was stored
    # Once the other write has finished, the same writes go through.
    assert los("load", str(data)).exit_code == 0
    app = create_app(db_url, secret_key="test secret")
    with TestClient(app) as client:  # type: ignore[arg-type]
        checkin["value"] = 151
        answer = client.post("/api/v1/measurements", json=checkin, headers=auth)
        assert answer.status_code == 200 and answer.json()["action"] == "replaced", answer.text
    app.state.store.close()


def test_a_bad_wait_setting_is_named(
    db_url: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_BUSY_TIMEOUT", "soon")
    result = Los(db_url)("init")
    assert result.exit_code == 2
    assert "LOS_BUSY_TIMEOUT: 'soon' is not a number of seconds" in result.output
    monkeypatch.setenv("LOS_WEB_BUSY_TIMEOUT", "-1")
    with pytest.raises(UsageError, match="LOS_WEB_BUSY_TIMEOUT: '-1' is not a number of seconds"):
        create_app(db_url, secret_key="test secret", busy_timeout=None)
