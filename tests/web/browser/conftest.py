"""Real headless Chromium (Debian's package) driven by Playwright, against `los serve`'s app
started on a free port over the worked example, on SQLite and on PostgreSQL.

Playwright's own browser download cannot work offline, so the browser is the system's
Chromium (`scripts/ensure-chromium.sh`, run by `make install`). Screenshots go to
$LOS_TEST_ARTIFACTS, else tests/artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser.serving import CHROMIUM_ARGS, Served, chromium_path
from tests.web.site import build_site, drop_url, fresh_url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("LOS_TEST_ARTIFACTS") or Path(__file__).parents[2] / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        running = Served(build_site(url, folder / "ws"), request.param)
        running.start()
        try:
            yield running
        finally:
            running.stop()
    finally:
        drop_url(url, pg)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()
