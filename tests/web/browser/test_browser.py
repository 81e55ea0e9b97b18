"""The web app in a real browser: log in, drill down the strategy map to a KPI and see its
chart drawn, check in a value and see the status change, upload a file with a bad row and
see the row's error, and see user text that looks like HTML shown as text, never run.

Screenshots of each step are saved as test artifacts (see conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from lineofsight.services.checkin import record_measurement
from tests.web.browser.serving import Served, log_in
from tests.web.site import PERIOD, RED_KPI, XSS_NAME, XSS_NOTE, XSS_UNIT, side_store


def shot(page: Any, artifacts: Path, served: Served, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{served.kind}-{name}.png"), full_page=True)


def test_log_in_drill_down_the_map_and_see_the_chart(
    page: Any, served: Served, artifacts: Path
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, served, "admin", f"/map?period={PERIOD}")
    # The keyboard's first stop skips to the content, and focus is visible.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    focused = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focused not in ("", "none")
    kpi = page.locator(f"li#kpi-{RED_KPI}")
    # Deep in the cascade, but red: the map opens on the branches that lead to it.
    assert kpi.is_visible()
    # Should a branch above it be closed, open it from the top down, with the keyboard.
    for _ in range(10):
        closed = page.evaluate(
            """(id) => {
                let node = document.getElementById(id), found = null;
                for (let d = node.parentElement.closest('details'); d;
                     d = d.parentElement.closest('details')) { if (!d.open) found = d; }
                if (!found) return false;
                found.querySelector(':scope > summary').setAttribute('data-next', '1');
                return true;
            }""",
            f"kpi-{RED_KPI}",
        )
        if not closed:
            break
        summary = page.locator("summary[data-next='1']")
        summary.focus()
        page.keyboard.press("Enter")
        page.evaluate(
            "document.querySelector(\"summary[data-next='1']\").removeAttribute('data-next')"
        )
    link = kpi.locator("a").first
    assert link.is_visible()
    assert "red" in kpi.locator(".status").first.inner_text()
    shot(page, artifacts, served, "1-map-drilled-down")
    link.click()
    # The drill-down keeps the period: October's red, not November's "no data".
    page.wait_for_url(f"**/kpis/{RED_KPI}?period={PERIOD}")
    assert "red" in page.locator("#current-status .status").inner_text()
    assert PERIOD in page.locator("#period-now").inner_text()
    chart = page.locator("#kpi-chart svg.fallback.wide")
    assert chart.is_visible()
    # Target path, actuals, forecast: drawn lines; the forecast's 80% interval: a filled band.
    assert chart.locator("polyline.actual").count() >= 1
    assert chart.locator("polyline.target").count() >= 1
    assert chart.locator("polyline.forecast").count() >= 1
    assert chart.locator("polygon.interval").count() == 1
    assert "80% interval" in chart.text_content()
    # Pointing at a period shows its numbers (static/charts.js).
    chart.locator("rect.hit").last.hover()
    tip = page.locator(".chart-tip")
    tip.wait_for(state="visible", timeout=5_000)
    assert "actual" in tip.inner_text() and "target" in tip.inner_text()
    shot(page, artifacts, served, "2-kpi-chart")
    # Everything came from the app itself.
    assert requested and all(url.startswith(served.base) for url in requested), requested


def _status(page: Any) -> tuple[str, str]:
    badge = page.locator("#current-status .status")
    colour = badge.evaluate("node => getComputedStyle(node).backgroundColor")
    return badge.inner_text().strip(), colour


def test_check_in_changes_the_status_and_its_colour(
    page: Any, served: Served, artifacts: Path
) -> None:
    log_in(page, served, "owner", f"/kpis/{RED_KPI}?period={PERIOD}")
    word, colour = _status(page)
    assert word.endswith("red")
    shot(page, artifacts, served, "3-before-check-in")
    page.get_by_role("link", name="Check in a value").click()
    # The check-in's own form: the page also holds the period's commentary form.
    form = page.locator('form[action*="/checkin"]')
    form.get_by_label("Period").fill(PERIOD)
    form.get_by_label("Value").fill("2.0")
    form.get_by_label("Commentary").fill("Backlog cleared by the weekend swarm.")
    shot(page, artifacts, served, "4-check-in-form")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/kpis/{RED_KPI}?saved=*")
    after_word, after_colour = _status(page)
    assert after_word.endswith("green")
    assert after_colour != colour
    assert "Backlog cleared by the weekend swarm." in page.locator("#history").inner_text()
    shot(page, artifacts, served, "5-after-check-in")


def _nps_q3(served: Served) -> list[Any]:
    """The stored values of nps for 2026-Q3."""
    store = side_store(served.site.url)
    try:
        with store.reading() as conn:
            query = "SELECT value FROM measurements WHERE kpi_id = 'nps' AND period = '2026-Q3'"
            return list(conn.execute(text(query)).all())
    finally:
        store.close()


def test_upload_with_a_bad_row_shows_the_row_and_stores_nothing(
    page: Any, served: Served, artifacts: Path
) -> None:
    before = _nps_q3(served)
    log_in(page, served, "admin", "/upload")
    content = "kpi,period,value\nnps,2026-Q3,61\nnps,2026-Q3x,62\n"
    page.get_by_label("File").set_input_files(
        files=[{"name": "quarter.csv", "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.get_by_role("button", name="Upload").click()
    errors = page.locator("#upload-errors")
    errors.wait_for()
    rows = errors.locator("tr.bad-row")
    assert rows.count() == 1
    assert rows.first.locator("td").first.inner_text() == "3"
    assert "period" in rows.first.inner_text()
    assert "nothing was loaded" in errors.inner_text()
    shot(page, artifacts, served, "6-upload-bad-row")
    assert _nps_q3(served) == before  # the good row was not stored either


def test_script_names_and_html_commentary_show_as_text(
    page: Any, served: Served, artifacts: Path
) -> None:
    store = side_store(served.site.url)
    try:
        record_measurement(
            store, kpi_id="social_followers", unit_id=None, period="2026-09", value=1000.0,
            note=XSS_NOTE, actor="tests",
        )  # fmt: skip
    finally:
        store.close()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, served, "admin", "/kpis/social_followers")
    assert XSS_NAME in page.locator("h1").inner_text()
    note = page.locator("#history td.note", has_text="bold").first
    assert note.inner_text() == XSS_NOTE
    assert note.locator("img, b").count() == 0
    shot(page, artifacts, served, "7-script-name-as-text")
    # The chart draws the unit of measure as typed: no link, no bold.
    chart = page.locator("#kpi-chart svg.fallback.wide")
    assert page.locator("#kpi-chart svg").locator("a, b").count() == 0, "both drawings"
    assert chart.locator("text.unit").text_content() == XSS_UNIT
    for path in ("/map", "/units/marketing", "/alignment", "/"):
        page.goto(served.base + path)
        page.wait_for_load_state("load")
    assert page.locator(f"text={XSS_NAME}").count() >= 0
    assert dialogs == []


def test_home_and_unit_scorecard_read_without_colour(
    page: Any, served: Served, artifacts: Path
) -> None:
    log_in(page, served, "admin", f"/?period={PERIOD}")
    counts = page.locator("ul.counts li")
    # Five statuses, then overdue and off track; red first, as the box to open first.
    assert counts.count() == 7
    assert "red" in counts.nth(0).inner_text()
    shot(page, artifacts, served, "8-home")
    page.goto(f"{served.base}/units/customer_service?period={PERIOD}")
    rows = page.locator("table.scorecard tbody tr")
    assert rows.count() >= 3
    # In greyscale a status is still its icon and word, and every row has a drawn sparkline.
    page.emulate_media(forced_colors="active")
    for i in range(rows.count()):
        status = rows.nth(i).locator(".status").inner_text()
        assert status.split()[-1] in ("green", "amber", "red", "data", "target")
        assert rows.nth(i).locator("svg.spark").count() == 1
    shot(page, artifacts, served, "9-unit-scorecard")
