"""What the page-wide browser checks share: the pages of the app, found from its routes and by
following links, and axe-core (installed from the npm registry by `make install`).

The pages are not listed by hand: every GET route of the app that answers HTML is visited
once, at the address a reader reaches by following links from the home page (so that its
query, e.g. `?period=`, is the one people get), else with its path parameters filled from the
worked example's ids (`EXAMPLE_IDS`, and `ROUTE_IDS` where one parameter's name means different
things on different routes, e.g. `kind`: a list's on /lists, an item's on /edit). A page added
by a later change is covered without touching these tests; a route whose parameter has no
example id fails the test by name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path

from tests.web.site import PERIOD, RED_KPI, RED_KPI_OWNER

ROOT = Path(__file__).parents[3]
AXE_ENV = "LOS_AXE_JS"
AXE_PATH = ROOT / ".npm" / "node_modules" / "axe-core" / "axe.min.js"
# Routes that are not pages a person reads: the API and its reference's raw document, assets,
# the owner fields' suggestions (`<option>`s a script puts in a form's list).
NOT_PAGES = ("/api/v1", "/api/openapi.json", "/static", "/vendor", "/suggestions")
# A path parameter's value in the worked example (techinnovate), by the parameter's name.
EXAMPLE_IDS = {
    "unit_id": "customer_service",
    "kpi_id": RED_KPI,
    "person_id": RED_KPI_OWNER,
    "objective_id": "responsive_support",
    "kind": "red",
    "username": "cx_viewer",
    "action_id": "1",
}
# Per route, the ids that differ from EXAMPLE_IDS (a parameter's name is not unique to a page).
ROUTE_IDS = {
    "/edit/{kind}/new": {"kind": "kpi"},
    "/edit/{kind}/{item_id}": {"kind": "kpi", "item_id": RED_KPI},
}
LINK = re.compile(r'<a\b[^>]*\bhref="([^"#]*)[^"]*"', re.IGNORECASE)
CRAWL_LIMIT = 400  # addresses fetched while looking for one instance of each page


def axe_source() -> str:
    """axe-core's script: $LOS_AXE_JS, else where `make install` puts it."""
    found = Path(os.environ.get(AXE_ENV) or AXE_PATH)
    if not found.is_file():
        pytest.fail(f"axe-core is not installed: run `make install` (npm) or set {AXE_ENV}")
    return found.read_text(encoding="utf-8")


@dataclass(frozen=True)
class PageRoute:
    """A GET route of the app by its full path, and the parameters in it."""

    path: str
    pattern: re.Pattern[str]
    params: tuple[str, ...]


def app_routes(app: Any) -> list[tuple[str, set[str]]]:
    """Every route of the app as (full path, methods), routers included."""
    found = []
    for context in iter_route_contexts(app.routes):
        effective = context._route_context  # FastAPI keeps an included route's prefix here
        path = effective.path if effective is not None else getattr(context.route, "path", "")
        methods = getattr(context.route, "methods", None) or set()
        found.append((path, set(methods)))
    return found


def page_routes(app: Any) -> list[PageRoute]:
    """The app's GET routes that render a page (not the API, not assets)."""
    found = []
    for path, methods in app_routes(app):
        if "GET" not in methods or not path or path.startswith(NOT_PAGES):
            continue
        pattern, _, convertors = compile_path(path)
        found.append(PageRoute(path, pattern, tuple(convertors)))
    return found


def route_of(routes: list[PageRoute], url: str) -> PageRoute | None:
    path = urlsplit(url).path
    return next((route for route in routes if route.pattern.match(path)), None)


def filled(route: PageRoute, extra: dict[str, str]) -> str | None:
    """The route's path with each parameter set to the example's id (None: one is unknown)."""
    ids = {**EXAMPLE_IDS, **ROUTE_IDS.get(route.path, {}), **extra}
    if any(name not in ids for name in route.params):
        return None
    path = route.path
    for name in route.params:
        path = re.sub(r"\{" + name + r"(:[^}]*)?\}", ids[name], path)
    return f"{path}?period={PERIOD}"


def pages_of(
    request_context: Any, base: str, app: Any, extra: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """One address per page route (route path -> address), found by following the links a
    logged-in reader sees from the home page, else filled from the example's ids; and the
    routes that neither way reaches. A route that answers a file (the briefing book's PDF)
    is not a page and is left out."""
    routes = page_routes(app)
    chosen: dict[str, str] = {}
    downloads: set[str] = set()  # routes answering a file (a PDF), not a page
    queue, seen = [f"/?period={PERIOD}"], set()
    while queue and len(seen) < CRAWL_LIMIT and len(chosen) < len(routes):
        address = queue.pop(0)
        if address in seen:
            continue
        seen.add(address)
        route = route_of(routes, address)
        if route is None:
            continue
        answer = request_context.get(base + address, max_redirects=0)
        if answer.status == 200 and not _is_html(answer):
            downloads.add(route.path)
        if answer.status != 200 or not _is_html(answer):
            continue
        chosen.setdefault(route.path, address)
        for href in LINK.findall(answer.text()):
            target = urlsplit(urljoin(base + address, unescape(href)))
            if target.netloc != urlsplit(base).netloc or not target.path:
                continue
            found = route_of(routes, target.path)
            if found is None or found.path in chosen:
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    missing = []
    for route in routes:
        if route.path in chosen or route.path in downloads:
            continue
        address = filled(route, extra)
        if address is None:
            missing.append(route.path)
            continue
        answer = request_context.get(base + address, max_redirects=0)
        if answer.status != 200 or _is_html(answer):  # an error is a page the reader sees
            chosen[route.path] = address
    return chosen, missing


def _is_html(answer: Any) -> bool:
    return "text/html" in answer.headers.get("content-type", "")


def axe_violations(page: Any, source: str) -> list[str]:
    """axe-core's violations on the page as it is now, one line per rule and element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)  # evaluated by the driver: the page's CSP does not apply
    result = page.evaluate(
        "async () => { const r = await window.axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' +"
        " (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 200))})); }"
    )
    lines = []
    for violation in result:
        for node in violation["nodes"][:5]:
            lines.append(f"{violation['id']} ({violation['impact']}): {node}")
        if len(violation["nodes"]) > 5:
            lines.append(f"{violation['id']}: ... {len(violation['nodes']) - 5} more elements")
    return lines


def overflow(page: Any) -> str | None:
    """Why the page scrolls sideways (the widest elements that stick out), or None."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => {
            const width = window.innerWidth, root = document.documentElement;
            if (root.scrollWidth <= width) return null;
            const wide = [];
            for (const el of document.body.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.right > width + 1 && box.width > 0) {
                    let p = el.parentElement, clipped = false;
                    for (; p; p = p.parentElement) {
                        const s = getComputedStyle(p);
                        const inside = p.getBoundingClientRect().right <= width + 1;
                        if (s.overflowX !== 'visible' && inside) { clipped = true; break; }
                    }
                    if (!clipped) wide.push(el.tagName.toLowerCase() +
                        (el.id ? '#' + el.id : '') +
                        (el.className && typeof el.className === 'string'
                            ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                        ' right=' + Math.round(box.right));
                }
            }
            return 'scrollWidth ' + root.scrollWidth + ' > ' + width + ': ' +
                wide.slice(0, 6).join(', ');
        }"""
    )
