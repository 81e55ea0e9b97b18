"""Jinja2 environment and the `render` helper every server-rendered page goes through.

Autoescaping is on for every template (`.html`), so names and commentary typed by users are
always shown as text. `render` adds the logged-in account and the CSRF token, so every form
can carry the token without each page remembering to pass it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from lineofsight import display
from lineofsight.display import human
from lineofsight.domain.text import plural
from lineofsight.services.as_of import awaited_sentence

TEMPLATE_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
# Jinja2Templates turns autoescape on for .html already; say it here so nobody wonders.
templates.env.autoescape = True
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
# Templates are read once: a check of each file's time at every use costs a system call per
# template per request (a new release restarts the server anyway).
templates.env.auto_reload = False

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
    return _BADGES.get(status, _BADGES["no_data"])  # type: ignore[arg-type]


# Pages show hundreds of badges: each drawn once here.
_BADGES = {
    key: Markup('<span class="status s-{0}"><span aria-hidden="true">{1}</span> {2}</span>').format(
        key, STATUS_ICON[key], STATUS_WORD[key]
    )
    for key in STATUS_ICON
}


@functools.lru_cache(maxsize=8192)
def number(value: float | None, digits: int = 4) -> str:
    """A value as the CLI and the notebook show it (`display.human`): about 4 significant
    digits, thousands separated, never an exponent (35,567 rather than 3.557e+04); '–' if
    none.

    Kept per value: a KPI page shows most of its numbers two or three times (the chart's
    hover texts, its table, the measurement log), and formatting one costs microseconds.
    Values that compare equal are written alike (0.0 and -0.0 as 0, 2 and 2.0 as 2), so
    the cache never answers one with another's text."""
    return "–" if value is None else human(value, digits)


def signed(value: float | None) -> str:
    """A change as `number` shows it, with its sign: +1,234, -0.05, 0."""
    text = number(value)
    return "+" + text if value is not None and value > 0 else text


def score(value: float | None) -> str:
    """A score as every table, page and book writes it (`display.score`: one decimal at
    most, cut, so that it never reaches a band its status has not); '–' if none."""
    return "–" if value is None else display.score(value)


@functools.lru_cache(maxsize=8192)
def measured(value: float | None, measure: str | None) -> str:
    """A value with its unit of measure as the CLI, the notebook and the book write it
    (`display.with_measure`: 21%, 2.58 hours); '–' if none. Kept per value, as `number`."""
    return "–" if value is None else display.with_measure(value, measure)


def chance(probability: float | None) -> str:
    """The chance of meeting a target as the CLI, the book, emails and the notebook write it
    (`display.chance`: a whole percent, `<1%` and `>99%` at the ends); '–' if none."""
    return "–" if probability is None else display.chance(probability)


@functools.lru_cache(maxsize=8192)
def interval(low: float | None, high: float | None, measure: str | None) -> str:
    """A forecast's 80% interval (or a range) as the CLI, the book and the notebook write it
    (`display.interval`: 4.86 – 9.79%); '–' if an end is missing. Kept per pair, as
    `number`."""
    return "–" if low is None or high is None else display.interval(low, high, measure)


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


def with_query(path: str, period: str | None, query: Mapping[str, Any]) -> str:
    """`path` with `query` added and `?period=period` kept, before any `#fragment`.

    A parameter given as None or "" is left out (so `period=None` drops the period); a
    period already in `path` or `query` wins over the one kept."""
    if not period and "?" not in path and "#" not in path:
        # Most links of a page of today: a plain path, nothing to parse and no period to keep.
        given = {
            name: str(value) for name, value in query.items() if value is not None and value != ""
        }
        return path + ("?" + urlencode(given) if given else "")
    base, hash_mark, fragment = path.partition("#")
    base, _, existing = base.partition("?")
    params = dict(parse_qsl(existing, keep_blank_values=True))
    for name, value in query.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    if period and "period" not in params and "period" not in query:
        params["period"] = period
    text = base + ("?" + urlencode(params) if params else "")
    return text + hash_mark + fragment


def chosen_period(request: Request | None) -> str:
    """The period the reader chose: the page's checked label when the page set one (a bad
    `?period=` is not carried on), else the raw `?period=` of the request."""
    if request is None:
        return ""
    label = getattr(request.state, "period", None)
    if label is not None:
        return str(label)
    return (request.query_params.get("period") or "").strip()


# The period of the request being answered, for templates that see neither `when` nor the
# request (a macro imported without context). Set per request by `pagekit.page_view` and
# `render`; a page is answered in one thread, in a copy of the context.
_PERIOD: ContextVar[str] = ContextVar("los_period", default="")


def remember_period(label: str) -> None:
    """Make `label` the period that links of this request keep."""
    _PERIOD.set(label)


def context_period(context: Context) -> str:
    """The period a template keeps: the page's `when` (a fragment kept per period has no
    request), else the request's, else the one remembered for this request."""
    when = context.get("when")
    if when is not None and hasattr(when, "label"):
        return str(when.label)
    request = context.get("request")
    if request is not None:
        return chosen_period(request)
    return _PERIOD.get()


@pass_context
def link(context: Context, path: str, **query: Any) -> str:
    """An internal link that keeps the chosen period: `{{ link('/map', unit=u.id) }}`."""
    return with_query(path, context_period(context), query)


@pass_context
def period_field(context: Context) -> Markup:
    """A hidden `period` field for a GET form that has no period field of its own (a GET
    form's action loses its query string, so `link()` cannot keep the period there)."""
    period = context_period(context)
    if not period:
        return Markup("")
    return Markup('<input type="hidden" name="period" value="{0}">').format(period)


templates.env.globals["link"] = link
templates.env.globals["period_field"] = period_field

# Stands for the session's CSRF token in a kept top bar; put in per request.
_CSRF_SLOT = "\x00csrf\x00"


@dataclass(frozen=True, slots=True)
class _Period:
    label: str  # what `link()` keeps (see context_period)


@functools.lru_cache(maxsize=512)
def _topbar(account: Any, period: str, upload: bool) -> str:
    # Every page draws the bar: its dozen links are the same for an account and a period.
    return templates.get_template("_topbar.html").render(
        account=account, when=_Period(period), menu={"upload": upload}, csrf_token=_CSRF_SLOT
    )


@pass_context
def topbar(context: Context) -> Markup:
    """The frame's top bar (menu, who is signed in, log out), drawn once per account (its
    roles included) and period; the log-out form's CSRF token is this session's."""
    menu = context.get("menu") or {}
    key = (context.get("account"), context_period(context), bool(menu.get("upload")))
    try:
        drawn = _topbar(*key)
    except TypeError:  # an account that cannot be a key (not the app's own): drawn each time
        drawn = _topbar.__wrapped__(*key)
    return Markup(drawn.replace(_CSRF_SLOT, str(escape(context.get("csrf_token") or ""))))


templates.env.globals["topbar"] = topbar

# `{{ n | plural("item") }}`: "1 item", "1,234 items", as the command line and emails say it.
templates.env.filters.update(
    status=status_badge,
    num=number,
    measure=measured,
    signed=signed,
    score=score,
    pct=percent,
    chance=chance,
    source=source_name,
    plural=plural,
)
templates.env.globals["STATUS_WORD"] = STATUS_WORD
templates.env.globals["interval"] = interval
templates.env.globals["awaited_sentence"] = awaited_sentence
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


def _menu(account: Any) -> dict[str, bool]:
    """Which menu entries the account may open: none that would answer 403."""
    from lineofsight.services.permissions import ROLE_ACTIONS

    grants = getattr(account, "grants", ()) or ()
    return {
        "upload": any("upload" in ROLE_ACTIONS.get(g.role, ()) for g in grants),
    }


def _period_now(request: Request) -> dict[str, str]:
    """What every page says about its period: the chosen one with its as-of date and a link
    back to today (and, when it has not ended, that it has not), or today's date."""
    from lineofsight.web.pagekit import today

    label = chosen_period(request)
    as_of = getattr(request.state, "as_of", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    running = ""
    if label and as_of is not None and as_of > today():
        # As `los status --period` shows a period still running: its rows awaiting values.
        from lineofsight.services.as_of import running_sentence

        running = running_sentence(label, as_of)
    return {
        "label": label,
        "as_of": as_of.isoformat() if label and as_of is not None else "",
        "today": today().isoformat(),
        "today_href": with_query(here, None, {"period": None}),
        "running": running,
    }


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template `name` with `context`, the current account and the CSRF token."""
    remember_period(chosen_period(request))
    # Read only when not given (an error page for a store out of reach gives them).
    if "account" not in context:
        context["account"] = _account(request)
    if "csrf_token" not in context:
        context["csrf_token"] = _csrf(request)
    context.setdefault("period_now", _period_now(request))
    context.setdefault("menu", _menu(context["account"]))
    from lineofsight.web import packed

    large = packed.large_parts(context)
    if large:
        # Large kept fragments are sent compressed as they were the first time (web/packed).
        marks = {key: n for n, key in enumerate(large)}
        drawn = templates.TemplateResponse(
            request,
            name,
            {**context, **{key: packed.mark(n) for key, n in marks.items()}},
            status_code=status_code,
        )
        parts = packed.split_page(bytes(drawn.body), large, marks)
        if parts is not None:
            return packed.PackedHTMLResponse(parts, status_code)
    return templates.TemplateResponse(request, name, context, status_code=status_code)
