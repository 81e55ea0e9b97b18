"""Finding the red in a real browser: the red box opens the list `los status` gives, the map's
"red only" and "expand all" work without JavaScript, the KPI page draws its chart without
JavaScript, and a scoped viewer clicking through every link it meets gets no 403."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.web.browser.serving import Served, log_in
from tests.web.site import PERIOD, RED_KPI


def red_in_los_status(served: Served) -> set[tuple[str, str]]:
    command = [sys.executable, "-m", "lineofsight", "status", "--format", "json"]
    result = subprocess.run(
        [*command, "--period", PERIOD, "--db", served.site.url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["kpis"]
    return {(r["id"], r["unit"]) for r in rows if r["status"] == "red"}


def test_the_red_box_opens_the_list_los_status_gives(
    page: Any, served: Served, artifacts: Path
) -> None:
    log_in(page, served, "admin", f"/?period={PERIOD}")
    page.locator("ul.counts li[data-status='red'] a").click()
    page.wait_for_url(f"**/lists/red?period={PERIOD}")
    page.locator("#status-list, #empty-reason").first.wait_for()
    page.screenshot(path=str(artifacts / f"{served.kind}-red-list.png"), full_page=True)
    rows = page.locator("#status-list tbody tr")
    shown = {
        (rows.nth(i).get_attribute("data-kpi"), rows.nth(i).get_attribute("data-unit"))
        for i in range(rows.count())
    }
    assert shown == red_in_los_status(served)
    assert page.locator("#period-now").inner_text().startswith(f"Period {PERIOD}")
    # From the list to the KPI, still in October.
    page.locator(f"#status-list tr[data-kpi='{RED_KPI}'] td a").first.click()
    page.wait_for_url(f"**/kpis/{RED_KPI}?period={PERIOD}")
    assert "red" in page.locator("#current-status .status").inner_text()


def test_red_only_and_expand_all_work_without_javascript(
    browser: Any, served: Served, artifacts: Path
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        log_in(page, served, "admin", f"/map?period={PERIOD}")
        assert page.locator(f"li#kpi-{RED_KPI}").is_visible()
        page.locator("#map-red-only").click()
        page.wait_for_url("**/map?only=red*")
        leaves = page.locator("ul.map li:has(> div.leaf)")
        assert leaves.count() >= 1
        statuses = {leaves.nth(i).get_attribute("data-status") for i in range(leaves.count())}
        assert statuses == {"red"}
        assert f"period={PERIOD}" in page.url
        page.locator("#map-expand-all").click()
        page.wait_for_url("**/map?*expand=all*")
        closed = page.evaluate("document.querySelectorAll('ul.map details:not([open])').length")
        assert closed == 0
        page.screenshot(path=str(artifacts / f"{served.kind}-map-red-only.png"), full_page=True)
        # The drawn map sits beside the outline, one box per objective shown.
        assert page.locator("svg#svgmap a").count() >= 1

        page.goto(f"{served.base}/kpis/{RED_KPI}?period={PERIOD}")
        fallback = page.locator("#kpi-chart svg.fallback.wide")
        assert fallback.is_visible()
        assert fallback.locator("polyline.actual").count() >= 1
        assert page.locator("#thresholds li").count() == 3
    finally:
        context.close()


NOT_PAGES = ("/static/", "/vendor/", "/api/")


def test_a_scoped_viewer_clicking_every_link_meets_no_403(page: Any, served: Served) -> None:
    log_in(page, served, "cx_viewer", f"/?period={PERIOD}")
    start = f"/?period={PERIOD}"
    seen, todo, refused = {start}, [start], []
    while todo and len(seen) < 150:
        path = todo.pop(0)
        answer = page.goto(served.base + path)
        if answer is None or answer.status != 200:
            refused.append((answer.status if answer else None, path))
            continue
        hrefs = page.eval_on_selector_all(
            "a[href^='/']", "nodes => nodes.map(n => n.getAttribute('href'))"
        )
        for href in hrefs:
            href = href.split("#")[0]
            if href and not href.startswith(NOT_PAGES) and href not in seen:
                seen.add(href)
                todo.append(href)
    # Every menu entry the viewer is shown opens.
    menu = page.eval_on_selector_all("header nav a", "nodes => nodes.map(n => n.textContent)")
    assert "Upload" not in menu
    assert len(seen) > 40 and refused == []


def _text_px(page: Any, selector: str) -> float:
    """The height on screen of the first text of an SVG (its font as drawn, in CSS px)."""
    found: float = page.eval_on_selector(
        selector, "svg => svg.querySelector('text').getBoundingClientRect().height"
    )
    return found


def test_charts_and_the_drawn_map_are_readable_on_a_phone(
    browser: Any, served: Served, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, served, "admin", f"/kpis/{RED_KPI}?period={PERIOD}")
        wide = page.locator("#kpi-chart svg.fallback.wide")
        narrow = page.locator("#kpi-chart svg.fallback.narrow")
        assert narrow.is_visible() and not wide.is_visible()
        assert narrow.locator("polyline.actual").count() >= 1
        box = narrow.bounding_box()
        assert box is not None and 300 <= box["width"] <= 390
        # The axis text is drawn at about the page's small text (11 px), not shrunk to half.
        assert _text_px(page, "#kpi-chart svg.fallback.narrow") >= 9
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(artifacts / f"{served.kind}-kpi-phone.png"), full_page=True)

        # At 375 px no two period labels are drawn over each other, and the legend names
        # every line drawn: the forecast and its shaded interval too.
        page.set_viewport_size({"width": 375, "height": 812})
        page.reload()
        assert narrow.is_visible()
        labels = narrow.locator("text.period")
        assert labels.count() >= 3
        boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
        spans = sorted((b["x"], b["x"] + b["width"]) for b in boxes if b is not None)
        assert len(spans) == labels.count()
        overlaps = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
        assert overlaps == [], (labels.all_text_contents(), spans)
        assert narrow.locator("polyline.forecast").count() >= 1
        legend = " ".join(narrow.locator("text.legend").all_text_contents())
        for drawn in ("actual", "target path", "forecast", "80% interval"):
            assert drawn in legend, legend
        legend_box = narrow.locator("text.legend").last.bounding_box()
        chart_box = narrow.bounding_box()
        assert legend_box is not None and chart_box is not None
        assert legend_box["x"] + legend_box["width"] <= chart_box["x"] + chart_box["width"]
        assert legend_box["y"] + legend_box["height"] <= chart_box["y"] + chart_box["height"]
        narrow.screenshot(path=str(artifacts / f"{served.kind}-kpi-chart-375.png"))

        page.goto(f"{served.base}/map?period={PERIOD}")
        assert _text_px(page, "svg#svgmap") >= 9, "the map keeps its size and scrolls in its box"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # A box of the drawn map opens its objective, in the same period.
        page.locator("svg#svgmap a").first.click()
        page.wait_for_url(f"**/objectives/*?period={PERIOD}")

        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(f"{served.base}/kpis/{RED_KPI}?period={PERIOD}")
        assert wide.is_visible() and not narrow.is_visible()
    finally:
        context.close()
