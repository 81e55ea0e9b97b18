"""The PostgreSQL server of the store stops while the web app runs: every page and API call
answers 503 `unavailable` (a short page, the API's error body), the log gets one line per
request without a traceback or the password, and the app answers again once the server is
back, with no restart, from the first request after a restart of the server on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.pgserver import PgServer, start_server
from tests.web.conftest import build_store, log_in
from tests.web.test_api import assert_error

PASSWORD_IN_URL = "db-pass-never-shown"


@pytest.fixture
def own_server() -> Iterator[PgServer]:
    """A PostgreSQL server of this test's own, which it may stop and start."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


def test_the_web_app_answers_503_while_the_store_cannot_be_reached(
    own_server: PgServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The server trusts local connections: a password in the URL is not needed, only kept.
    url = own_server.url.replace("los@", f"los:{PASSWORD_IN_URL}@")
    build_store(url, tmp_path / "setup")
    store = Store(url)
    token = accounts.create_token(store, "admin", actor="tests")
    store.close()
    auth = {"Authorization": f"Bearer {token}"}
    app = create_app(url, secret_key="test secret")
    browser = TestClient(app, follow_redirects=False, raise_server_exceptions=False)  # type: ignore[arg-type]
    api = TestClient(app, follow_redirects=False, raise_server_exceptions=False)  # type: ignore[arg-type]
    try:
        assert log_in(browser, "alice").status_code == 303
        assert browser.get("/kpis/revenue").status_code == 200
        assert api.get("/api/v1/status", headers=auth).status_code == 200

        own_server.halt()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            answers = {
                "api status": api.get("/api/v1/status", headers=auth),
                "api kpi": api.get("/api/v1/kpis/revenue", headers=auth),
                "api write": api.post(
                    "/api/v1/measurements",
                    headers=auth,
                    json={"kpi": "revenue", "period": "2026-03", "value": 1},
                ),
            }
            for name, answer in answers.items():
                assert_error(answer, 503, "unavailable")
                message = answer.json()["error"]["message"]
                assert message.startswith("the store cannot be reached"), (name, message)
                assert answer.headers["Retry-After"].isdigit(), name
            pages = {
                "page": browser.get("/kpis/revenue"),
                "home": browser.get("/"),
                "log in": log_in(TestClient(app, follow_redirects=False), "bob"),
            }
            for name, page in pages.items():
                assert page.status_code == 503, (name, page.text[:300])
                assert "The store cannot be reached" in page.text, name
                assert "Retry-After" in page.headers, name
        records = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(records) == len(answers) + len(pages), [r.getMessage() for r in records]
        for record in records:
            text = record.getMessage()
            assert record.exc_info is None and "Traceback" not in text, text
            assert "\n" not in text, text
            assert PASSWORD_IN_URL not in text, text
            assert "the store cannot be reached: store error on postgresql" in text, text
        # The first met the connection the server ended; the next ones, no server at all.
        assert "Connection refused" in records[-1].getMessage()

        own_server.resume()
        assert api.get("/api/v1/status", headers=auth).status_code == 200
        assert browser.get("/kpis/revenue").status_code == 200  # the same session

        # A restart while no request comes: the connections the pool keeps were ended by
        # the server, and the first request after it is answered, not given a 503 (the pool
        # checks a connection before handing it out).
        own_server.halt()
        own_server.resume()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert api.get("/api/v1/status", headers=auth).status_code == 200
            assert browser.get("/kpis/revenue").status_code == 200
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    finally:
        app.state.store.close()
