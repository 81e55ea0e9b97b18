"""Actions and commentary in a real browser: an owner adds an action with the form on a red
KPI's page and writes its commentary; the objective page shows them; at 390 px wide neither
page scrolls sideways. Screenshots are saved as test artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.browser.serving import Served, log_in
from tests.web.site import PERIOD, RED_KPI

OBJECTIVE = "tier2_backlog"


def _wider_than_the_screen(page: Any, within: str = "main") -> list[str]:
    """The elements under `within` that reach past the right edge of the window."""
    found: list[str] = page.evaluate(
        """(within) => [...document.querySelectorAll(within + ' *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + (e.id ? '#' + e.id : ''))""",
        within,
    )
    return found


def test_an_owner_records_an_action_and_commentary_on_a_red_kpi(
    browser: Any, served: Served, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, served, "owner", f"/kpis/{RED_KPI}?period={PERIOD}")
        page.locator("#actions summary", has_text="Add an action").click()
        # The owner field's suggestions are fetched when it is first used (static/layout.js).
        assert page.locator("#new-kpi-people option").count() == 0
        page.get_by_label("Owner").focus()
        page.wait_for_function("document.querySelectorAll('#new-kpi-people option').length > 0")
        page.get_by_label("Title").fill("Bring in two agents from tier 1")
        page.get_by_label("Due").fill("2026-12-15")
        page.get_by_label("Milestones").fill("2026-11-20 Pick the agents\nx Ask tier 1")
        page.get_by_role("button", name="Add the action").click()
        page.wait_for_url(f"**/kpis/{RED_KPI}?period={PERIOD}#action-*")
        item = page.locator("#actions li[data-action]").first
        assert "Bring in two agents from tier 1" in item.inner_text()
        assert "Pick the agents" in item.inner_text()
        page.get_by_label("Analysis: why it is where it is").fill("Two agents left in August.")
        page.get_by_label("Recommendation: what to do next").fill("Borrow from tier 1.")
        page.get_by_role("button", name="Save the commentary").click()
        page.wait_for_url(f"**/kpis/{RED_KPI}?period={PERIOD}#commentary")
        assert "Two agents left in August." in page.locator("#commentary").inner_text()
        # (The measurements' table further down is the KPI page's own business.)
        assert _wider_than_the_screen(page, "#actions") == []
        assert _wider_than_the_screen(page, "#commentary") == []
        page.screenshot(
            path=str(artifacts / f"{served.kind}-10-kpi-actions-390.png"), full_page=True
        )

        page.goto(f"{served.base}/objectives/{OBJECTIVE}?period={PERIOD}")
        assert page.locator("#objective-score").inner_text().strip() not in ("", "–")
        assert page.locator(f"tr[data-kpi='{RED_KPI}']").count() == 1
        assert "Bring in two agents" not in page.locator("#actions").inner_text()
        assert _wider_than_the_screen(page, "body") == []
        shot = artifacts / f"{served.kind}-11-objective-390.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()


def test_owner_suggestions_after_the_session_has_ended_leave_the_page_whole(
    browser: Any, served: Served
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, served, "owner", f"/kpis/{RED_KPI}?period={PERIOD}")
        page.locator("#actions summary", has_text="Add an action").click()
        context.clear_cookies()
        page.get_by_label("Owner").focus()
        # Done when the list is filled, or given back its source to try again on next use.
        page.wait_for_function(
            """() => { const list = document.getElementById('new-kpi-people');
                return list.children.length > 0 || list.hasAttribute('data-src'); }"""
        )
        strays = page.evaluate(
            "[...document.querySelectorAll('#new-kpi-people > :not(option)')].map(e => e.tagName)"
        )
        assert strays == []
        assert page.locator("#new-kpi-people option").count() == 0
        twice = page.evaluate(
            """() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
                return ids.filter((id, i) => ids.indexOf(id) !== i); }"""
        )
        assert twice == []
    finally:
        context.close()
