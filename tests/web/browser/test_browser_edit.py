"""Changing the strategy in a real browser: an admin's edit, previewed and saved, is in
`los export` and `los history`; with the approval setting on, an editor's edit waits until
an admin approves it. Screenshots of each step are saved as test artifacts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.store.database import Store
from tests.conftest import Los
from tests.web.browser.serving import Served, log_in
from tests.web.site import PASSWORD, RED_KPI


def _block(export: str, kpi_id: str) -> str:
    start = export.index(f"- id: {kpi_id}\n")
    end = export.find("\n- id:", start + 1)
    return export[start : end if end > 0 else len(export)]


def _editor(served: Served) -> None:
    """An organisation-wide editor (made once per served store)."""
    store = Store(served.site.url)
    try:
        if accounts.find_user(store, "editor") is None:
            accounts.add_user(store, "editor", PASSWORD, [Grant("editor")], actor="tests")
    finally:
        store.close()


def _preview_and_save(page: Any, button: str) -> None:
    page.get_by_role("button", name="Preview the change").click()
    page.locator("#changes").wait_for()
    page.get_by_role("button", name=button).click()


def test_an_edit_in_the_browser_is_in_export_and_history(
    page: Any, served: Served, artifacts: Path
) -> None:
    los = Los(served.site.url)
    before = _block(los("export").output, RED_KPI)
    log_in(page, served, "admin", "/edit")
    page.get_by_label("Kind").select_option("kpi")
    page.get_by_label("Id").fill(RED_KPI)
    page.get_by_role("button", name="Edit", exact=True).click()
    page.wait_for_url(f"**/edit/kpi/{RED_KPI}")
    page.get_by_label("Target value").fill("2.75")
    page.get_by_label("Description").fill("Days of backlog, measured by the browser test.")
    page.get_by_role("button", name="Preview the change").click()
    changes = page.locator("#changes")
    changes.wait_for()
    assert "target" in changes.inner_text() and "2.75" in changes.inner_text()
    assert los("export").output.count("2.75") == 0, "nothing saved by the preview"
    page.screenshot(path=str(artifacts / f"{served.kind}-edit-1-preview.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"**/edit/kpi/{RED_KPI}?saved=true")
    assert "Saved" in page.locator("#edit-saved").inner_text()
    after = _block(los("export").output, RED_KPI)
    assert after != before
    assert re.search(r"target:\n\s+value: 2.75\n", after), after
    assert "description: Days of backlog, measured by the browser test." in after
    history = los("history", RED_KPI).output
    assert "2.75" in history and "admin" in history, history


def test_with_approval_on_an_editors_edit_waits_for_an_admin(
    browser: Any, page: Any, served: Served, artifacts: Path
) -> None:
    _editor(served)
    los = Los(served.site.url)
    log_in(page, served, "admin", "/admin/users")
    page.get_by_label("Changes by editors wait").check()
    page.get_by_role("button", name="Save the setting").click()
    page.wait_for_url("**/admin/users?done=approval-on")
    editor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    try:
        log_in(editor, served, "editor", f"/edit/kpi/{RED_KPI}")
        editor.get_by_label("Unit of measure").fill("backlog days")
        _preview_and_save(editor, "Send for approval")
        editor.wait_for_url(re.compile(r".*/edit/pending/\d+$"))
        assert "Waiting for an admin" in editor.locator("#change-state").inner_text()
        assert editor.locator("#approve-form").count() == 0, "nobody approves their own"
        editor.screenshot(path=str(artifacts / f"{served.kind}-edit-2-waiting.png"), full_page=True)
        waiting = editor.url
        assert "backlog days" not in _block(los("export").output, RED_KPI)

        page.goto(f"{served.base}/edit")
        page.locator("#pending-list a").first.click()
        page.wait_for_url(waiting)
        assert "backlog days" in page.locator("#changes").inner_text()
        page.get_by_role("button", name="Approve and save").click()
        page.locator("#change-state").wait_for()
        assert "Approved by admin" in page.locator("#change-state").inner_text()
        assert "unit_of_measure: backlog days" in _block(los("export").output, RED_KPI)
        history = los("history", RED_KPI).output
        assert "backlog days" in history and "editor" in history, history
    finally:
        editor.context.close()
        page.goto(f"{served.base}/admin/users")
        page.get_by_label("Changes by editors wait").uncheck()
        page.get_by_role("button", name="Save the setting").click()


def test_the_forms_fit_a_phone(browser: Any, served: Served) -> None:
    """At 390 px wide the check-in, edit, admin and password pages scroll only downwards."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()

        def fits(label: str) -> None:
            width, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert width <= inner, f"{label}: {width} px wide on a {inner} px screen"

        log_in(page, served, "owner", "/checkin")
        fits("/checkin")
        page.goto(f"{served.base}/kpis/{RED_KPI}/checkin")
        page.get_by_label("Value").fill("lots")
        page.get_by_role("button", name="Save", exact=True).click()
        page.locator("#checkin-errors").wait_for()
        fits("the check-in's errors")
        page.goto(f"{served.base}/account/password")
        fits("/account/password")
        context.clear_cookies()
        log_in(page, served, "admin", f"/edit/kpi/{RED_KPI}")
        fits("the KPI's form")
        page.get_by_label("Formula").fill("no_such_kpi * 2")
        page.get_by_role("button", name="Preview the change").click()
        page.locator("#edit-errors").wait_for()
        fits("the form's errors")
        page.get_by_label("Formula").fill("")
        page.get_by_label("Target value").fill("3.25")
        page.get_by_role("button", name="Preview the change").click()
        page.locator("#changes").wait_for()
        fits("the preview")
        for path in ("/edit", "/admin/users", "/admin/audit"):
            page.goto(served.base + path)
            fits(path)
    finally:
        context.close()
