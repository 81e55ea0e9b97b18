"""The web app: server-rendered pages and the versioned JSON API over the services.

create_app("sqlite:///path/los.db")  # then serve it with uvicorn (`los serve`)
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineofsight import __version__
from lineofsight.services.scheduler import Job
from lineofsight.services.scheduler_runner import start_scheduler
from lineofsight.services.scorecards import ScorecardCache
from lineofsight.store.database import Store, busy_timeout_setting
from lineofsight.web.errors import install_error_handlers
from lineofsight.web.packed import PackedGzipMiddleware
from lineofsight.web.security import SessionSigner, set_session_cookie, utc_now

log = logging.getLogger(__name__)

SECRET_ENV = "LOS_SECRET_KEY"
BUSY_TIMEOUT_ENV = "LOS_WEB_BUSY_TIMEOUT"
# Seconds a web or API write waits for another write (a `los load`) before answering 503: a
# request should not hold its thread and its user for as long as a command may wait.
DEFAULT_BUSY_TIMEOUT = 10.0
# Pages and API answers are compressed with Starlette's own GZipMiddleware: kept with the
# framework, no dependency of its own, understood by every browser and HTTP client. Level 1:
# server time is what runs short under load, and on the largest page measured (a business
# unit's map, 1.6 MB of HTML) level 1 takes 5 ms for 186 kB where level 6 takes 44 ms for
# 146 kB; on pages of 10-30 kB both take under 0.3 ms and differ by ~10%. brotli or zstd
# would shrink text further but add a compiled dependency (and zstd is not in every browser).
COMPRESS_LEVEL = 1
COMPRESS_MIN_BYTES = 1000  # below this, the gzip header and the CPU are not worth it
THREADS = 8  # handlers that run at once in one server process
# `los serve` passes its scheduler setting to its workers here: seconds between two looks for
# due jobs, or "off" (--no-scheduler). Unset: on, every DEFAULT_INTERVAL seconds.
SCHEDULER_ENV = "LOS_SERVE_SCHEDULER"

# Pages and API answers; assets come only from this server (no CDN, no web fonts).
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self' 'unsafe-eval'; object-src 'none'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
]


# Pages and API answers show what one account may see, and carry its CSRF token: no browser or
# proxy may keep them (a shared computer's back button, a proxy's cache). Static assets may be
# kept: they are the same for everyone.
NO_STORE = (b"cache-control", b"no-store")
STATIC_PREFIXES = ("/static/",)


class SessionCookieMiddleware:
    """Adds security headers (and `Cache-Control: no-store` to everything but static assets),
    and the session cookie when a request started a new session (a CSRF token was asked for
    before any session existed)."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in names:
                        headers.append((name, value))
                if not scope["path"].startswith(STATIC_PREFIXES):
                    headers = [h for h in headers if h[0] != NO_STORE[0]] + [NO_STORE]
                data = scope.get("state", {}).get("set_session")
                if data:
                    headers.append(_cookie_header(scope, self.owner, data))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=MS` to every answer: the time from the request's arrival
    in the app to its answer's start, compression included (browsers' developer tools show it,
    and bench/bench_pages.py reads it to tell server time from time spent queueing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = [*message.get("headers", []), (b"server-timing", b"app;dur=%.1f" % took)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


def _cookie_header(scope: Scope, owner: FastAPI, data: dict[str, Any]) -> tuple[bytes, bytes]:
    from starlette.requests import Request
    from starlette.responses import Response

    carrier = Response()
    set_session_cookie(Request({**scope, "app": owner}), carrier, data)
    return next((k, v) for k, v in carrier.raw_headers if k == b"set-cookie")


def create_app(
    db_url: str,
    *,
    secret_key: str | None = None,
    busy_timeout: float | None = None,
    max_upload_bytes: int | None = None,
    scheduler_interval: float | None = None,
    jobs: Callable[[Store], list[Job]] | None = None,
    warm: bool = False,
) -> FastAPI:
    """The FastAPI app over the store at `db_url` (opened and migrated once).

    `busy_timeout`: seconds a write waits for another; default $LOS_WEB_BUSY_TIMEOUT, else 10.
    `max_upload_bytes`: the largest request body (an upload, a strategy file); default
    LOS_MAX_UPLOAD_MB. `scheduler_interval`: run the background scheduler, looking for due
    jobs (`jobs(store)`, default every scheduled job) every that many seconds, while the app
    runs; None: no scheduler (cron runs `los jobs --due` instead). `warm`: start making
    today's scorecard for the pages when the app starts, in the background, so that the first
    visitor does not wait for all of it.
    """
    from lineofsight.services.refresh_held import keep_holds
    from lineofsight.web.uploads import BodyLimitMiddleware, limit_from_environment

    limit = max_upload_bytes or limit_from_environment()
    if busy_timeout is None:
        busy_timeout = busy_timeout_setting(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT)
    store = Store(db_url, busy_timeout=busy_timeout)
    store.arrow_sqlite = False  # one SQLite library per process (see Store.arrow_sqlite)
    keep_holds(store)  # a source's "refresh now" holds what it leaves for the next one

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Few threads: the handlers hold the GIL most of the time, so more threads than this
        # only take turns, and under load their switching lengthens the slowest answers.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        scheduler = start_scheduler(db_url, scheduler_interval, jobs)
        _app.state.scheduler = scheduler
        if warm:
            _app.state.warming = _warm_up(_app)
        try:
            yield
        finally:
            # A job still running after the stop's wait is left to end with the process (its
            # lease then runs out): its store stays open under it.
            if scheduler is not None and await anyio.to_thread.run_sync(scheduler.stop):
                scheduler.store.close()
            store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Line of Sight",
        version=__version__,
        summary="KPI alignment: scores, checks, forecasts and explanations of a strategy.",
        docs_url=None,  # our own page (api_docs): the stock one loads scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.store = store
    app.state.scorecards = ScorecardCache(store)
    # Without a configured key, sessions last as long as the process (a restart logs users out).
    key = secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    app.state.signer = SessionSigner(key)
    app.state.secret_key = key  # also signs the unsubscribe links of emails (services/unsubscribe)
    app.state.clock = utc_now  # sessions and login back-off go by it; tests move it
    app.state.max_upload_bytes = limit
    app.state.scheduler = None  # the background scheduler, while the app runs (lifespan)
    app.state.warming = None  # the thread making today's scorecard at start (`warm`)
    install_error_handlers(app)
    # Inside the error handlers: its answers get the security headers.
    app.add_middleware(BodyLimitMiddleware, owner=app)
    app.add_middleware(SessionCookieMiddleware, owner=app)
    # Inside the compression: a page with a large kept part is compressed from the part's
    # kept blocks (web/packed.py); the GZipMiddleware below leaves it as it is.
    app.add_middleware(PackedGzipMiddleware)
    # Every answer, errors included, is compressed for a client that takes gzip (assets come
    # compressed already: web/assets.py). See COMPRESS_LEVEL.
    app.add_middleware(
        GZipMiddleware, minimum_size=COMPRESS_MIN_BYTES, compresslevel=COMPRESS_LEVEL
    )
    app.add_middleware(ServerTimingMiddleware)  # outermost: its time includes the compression

    from lineofsight.web import api, api_docs, assets, login

    try:
        pages = importlib.import_module("lineofsight.web.pages")
    except ModuleNotFoundError as exc:
        if exc.name != "lineofsight.web.pages":
            raise
        raise RuntimeError("lineofsight.web.pages is missing: the pages are not installed") from exc
    from lineofsight.web import pages_library, pages_notify, pages_sources

    # Routes are tried in order, each a pattern match: the pages people load most come first,
    # the API's 130 routes (all under /api/v1, which no page path starts with) last. The
    # OpenAPI document lists only the API's routes, in their own order, so it is unchanged.
    app.include_router(assets.router)
    app.include_router(pages.router)
    app.include_router(login.router)
    app.include_router(pages_library.router)
    app.include_router(pages_sources.router)
    app.include_router(pages_notify.router)
    app.include_router(api_docs.router)
    app.include_router(api.router, prefix="/api/v1")
    api_docs.install_openapi(app)

    return app


def _warm_up(app: FastAPI) -> threading.Thread:
    """Today's scorecard for the pages, and the one the home page compares it with, made in a
    daemon thread: a page asked for meanwhile waits for this one's result instead of making it
    again (see pagedata.snapshot)."""
    from lineofsight.gcpause import paused_gc
    from lineofsight.web.pagedata import snapshot
    from lineofsight.web.pagekit import today
    from lineofsight.web.pages_overview import previous_as_of

    def make() -> None:
        try:
            # Millions of objects that live as long as the worker (the organisation, the rows'
            # indexes), none in a cycle: the collector would walk them over and over as they
            # pile up (about 40% of this start's CPU at 100,000 KPIs), and at every full
            # collection after. Paused, then moved out of its sight (`paused_gc`).
            with paused_gc():
                now = snapshot(app.state.scorecards, today())
                earlier = previous_as_of(now, "")
                if earlier is not None:
                    snapshot(app.state.scorecards, *earlier)
        except Exception:  # a store being migrated, a busy store: the first page makes it
            log.warning("could not make today's scorecard at start", exc_info=True)

    thread = threading.Thread(target=make, name="los warm-up", daemon=True)
    thread.start()
    return thread


def scheduler_setting(text: str | None) -> float | None:
    """The scheduler's interval from LOS_SERVE_SCHEDULER: seconds, "off" (None); unset: the
    default."""
    from lineofsight.services.scheduler_runner import DEFAULT_INTERVAL

    if text is None or not text.strip():
        return DEFAULT_INTERVAL
    if text.strip().lower() == "off":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise RuntimeError(f"{SCHEDULER_ENV}: {text!r} is not a number of seconds above 0 or off")
    return seconds


def app_from_environment() -> FastAPI:
    """The app for `los serve`'s workers: the store URL from LOS_SERVE_DATABASE_URL, the
    scheduler's setting from LOS_SERVE_SCHEDULER."""
    url = os.environ.get("LOS_SERVE_DATABASE_URL")
    if not url:
        raise RuntimeError("LOS_SERVE_DATABASE_URL is not set: start the server with `los serve`")
    return create_app(
        url, scheduler_interval=scheduler_setting(os.environ.get(SCHEDULER_ENV)), warm=True
    )
