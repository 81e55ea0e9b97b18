"""Jinja2 environment and the `render` helper every server-rendered page goes through.

Autoescaping is on for every template (`.html`), so names and commentary typed by users are
always shown as text. `render` adds the logged-in account and the CSRF token, so every form
can carry the token without each page remembering to pass it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

TEMPLATE_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
# Jinja2Templates turns autoescape on for .html already; say it here so nobody wonders.
templates.env.autoescape = True
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

STATUS_ICON = {"green": "✓", "amber": "▲", "red": "✗", "no_data": "?", "no_target": "–"}
STATUS_WORD = {
    "green": "green",
    "amber": "amber",
    "red": "red",
    "no_data": "no data",
    "no_target": "no target",
}


def status_badge(status: str | None) -> Markup:
    """A status as icon and word inside a coloured badge, so it reads without colour."""
    key = status if status in STATUS_ICON else "no_data"
    return Markup(
        '<span class="status s-{0}"><span aria-hidden="true">{1}</span> {2}</span>'
    ).format(key, STATUS_ICON[key], STATUS_WORD[key])


def number(value: float | None, digits: int = 4) -> str:
    """A value as the CLI prints it: 4 significant digits, thousands separated, '–' if none."""
    if value is None:
        return "–"
    if abs(value) >= 10 ** (digits - 1):  # whole numbers: 35,570 rather than 3.557e+04
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def source_name(source: str | None) -> str:
    """Where a value came from, short: a loaded file's name without its folder."""
    if not source:
        return ""
    head, _, tail = source.partition(" (")
    if "/" in head or "\\" in head:
        head = head.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{head} ({tail}" if tail else head


templates.env.filters.update(
    status=status_badge, num=number, score=score, pct=percent, source=source_name
)
templates.env.globals["STATUS_WORD"] = STATUS_WORD
templates.env.globals["STATUS_ICON"] = STATUS_ICON


def _account(request: Request) -> Any:
    """The logged-in account, or None (the login page renders for anonymous visitors)."""
    cached = getattr(request.state, "account", None)
    if cached is not None:
        return cached
    try:
        from lineofsight.web.security import current_account
    except ImportError:  # the security module is written alongside the pages
        return None
    return current_account(request)


def _csrf(request: Request) -> str:
    """The session-bound CSRF token for forms (empty if the security module is not there)."""
    try:
        from lineofsight.web.security import csrf_token
    except ImportError:
        return ""
    return csrf_token(request)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template `name` with `context`, the current account and the CSRF token."""
    context.setdefault("account", _account(request))
    context.setdefault("csrf_token", _csrf(request))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
