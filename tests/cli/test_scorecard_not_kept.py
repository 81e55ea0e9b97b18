"""A scorecard the store cannot keep (a full disk, an I/O error) is `los status`'s to say;
every other command and page that computes one (the briefing book, the inbox, the web app)
gives its output as before and leaves the reason in the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services.accounts import Grant, add_user
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.cli.test_status_keeping import AS_OF, NO_ROOM, _fill_the_disk, _kept, example
from tests.conftest import Los
from tests.web.conftest import log_in

__all__ = ["example"]  # the fixture, shared with the status's own tests


def test_the_briefing_book_is_given_when_its_scorecard_cannot_be_kept(
    example: Los, workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert example.db_url is not None
    _fill_the_disk(example.db_url)
    with caplog.at_level(logging.WARNING):
        result = example("brief", "techinnovate", "--as-of", AS_OF, "-o", "book.html")
    assert result.exit_code == 0, result.output
    assert "error" not in result.output
    assert (workdir / "book.html").stat().st_size > 0
    assert any(NO_ROOM in record.getMessage() for record in caplog.records)
    assert _kept(example.db_url) == 0


def test_the_inbox_is_given_when_its_scorecard_cannot_be_kept(example: Los) -> None:
    assert example.db_url is not None
    _fill_the_disk(example.db_url)
    result = example("inbox", "--person", "lucas_moreau", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "error" not in result.output
    assert "attention list as of 2026-12-05" in result.output
    assert _kept(example.db_url) == 0


def test_a_status_as_tables_still_says_it_could_not_keep_it(example: Los) -> None:
    assert example.db_url is not None
    _fill_the_disk(example.db_url)
    result = example("status", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "error: the scorecard could not be kept in the store" in result.output


def test_a_web_page_is_given_when_its_scorecard_cannot_be_kept(example: Los) -> None:
    assert example.db_url is not None
    _fill_the_disk(example.db_url)
    store = Store(example.db_url)
    try:
        add_user(store, "boss", "a long enough password", [Grant("admin")], actor="tests")
    finally:
        store.close()
    app = create_app(example.db_url, secret_key="test secret")
    try:
        with TestClient(app, follow_redirects=False) as client:
            assert log_in(client, "boss", "a long enough password").status_code == 303
            page = client.get(f"/?as_of={AS_OF}")
            assert page.status_code == 200, page.text[:500]
            status = client.get("/heatmap")
            assert status.status_code == 200, status.text[:500]
    finally:
        app.state.store.close()
    assert _kept(example.db_url) == 0
