"""Every page, as an admin and as a viewer scoped to one unit, in a real Chromium at a phone's
width (390x844) and a laptop's (1440x900): the page never scrolls sideways (a wide table may
scroll inside its own box) and axe-core finds no accessibility violation.

The pages come from the app's routes (pagewide.py), so pages added later are covered too.
One server (SQLite: the layout does not depend on the database) and one browser page per
viewport serve every check, which keeps the run short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineofsight.services import unsubscribe
from tests.web.browser.pagewide import axe_source, axe_violations, overflow, pages_of
from tests.web.browser.serving import Served, log_in
from tests.web.site import (
    RED_KPI,
    RED_KPI_OWNER,
    add_action,
    add_pending_change,
    build_site,
    fresh_url,
)

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1440, "height": 900}}
SECRET = "browser-test-key"  # the key tests/web/browser/serving.py starts the app with


@pytest.fixture(scope="module")
def site_served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Served, dict[str, str]]]:
    """The app over the example, and the ids of the one edit waiting for approval and the one
    action in it."""
    folder = tmp_path_factory.mktemp("page-wide")
    site = build_site(fresh_url("sqlite", folder, None), folder / "ws")
    # One edit waiting for approval and one action, so that their pages are checked too.
    ids = {"change_id": str(add_pending_change(site.url)), "action_id": str(add_action(site.url))}
    running = Served(site, "sqlite")
    running.start()
    try:
        yield running, ids
    finally:
        running.stop()


def _check(pages: dict[str, Any], url: str, axe: str, problems: list[str]) -> None:
    for name, page in pages.items():
        answer = page.goto(url)
        page.wait_for_load_state("load")
        if answer is not None and answer.status >= 500:
            problems.append(f"{url} [{name}]: HTTP {answer.status}")
            continue
        wide = overflow(page)
        if wide:
            problems.append(f"{url} [{name}]: scrolls sideways: {wide}")
        for line in axe_violations(page, axe):
            problems.append(f"{url} [{name}]: {line}")


@pytest.mark.parametrize("username", ["admin", "cx_viewer"])
def test_every_page_fits_a_phone_and_a_laptop_and_passes_axe(
    browser: Any, site_served: tuple[Served, dict[str, str]], username: str, artifacts: Path
) -> None:
    served, ids = site_served
    axe = axe_source()
    contexts = {name: browser.new_context(viewport=size) for name, size in VIEWPORTS.items()}
    try:
        pages = {name: context.new_page() for name, context in contexts.items()}
        problems: list[str] = []
        # The login page and an error page, before logging in and after.
        _check(pages, f"{served.base}/login", axe, problems)
        for page in pages.values():
            log_in(page, served, username)
        token = unsubscribe.make_token(SECRET, RED_KPI_OWNER, "digest")
        extra = {"token": token, **ids}
        found, missing = pages_of(pages["laptop"].request, served.base, served.app, extra)
        assert not missing, f"pages with a path parameter the example has no id for: {missing}"
        assert {
            "/",
            "/map",
            "/units/{unit_id}",
            "/kpis/{kpi_id}",
            "/edit/pending/{change_id}",
            "/actions/{action_id}/edit",
        } <= set(found)
        # Besides: a page refusing its period (422), and the note of a period not ended.
        said = ["/no-such-page", "/map?period=2026-13", f"/kpis/{RED_KPI}?period=2099-01"]
        for url in [*sorted(found.values()), *said]:
            _check(pages, served.base + url, axe, problems)
        assert not problems, f"{len(problems)} problems on {len(found) + 4} pages:\n" + "\n".join(
            problems
        )
    finally:
        for context in contexts.values():
            context.close()
