"""A cap on the size of request bodies that a handler reads whole (the strategy file).

FastAPI reads a body into memory before the handler runs, so the handler cannot refuse a body
that is too large before it is all in memory. This middleware reads the body of a capped route
itself, stops as soon as it passes the cap (or as soon as `Content-Length` says it will), and
answers 413 in the API's error shape; otherwise it hands the body on as it was received.
Uploads of measurement files are not capped here: their handler streams them to disk.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineofsight.web.errors import error_body

MAX_STRATEGY_BYTES = 50 * 1024 * 1024

# The routes whose body is capped, as (method, path).
CAPPED = frozenset({("PUT", "/api/v1/strategy")})


def _limit_of(scope: Scope) -> int | None:
    route = (scope.get("method", ""), scope.get("path", "").rstrip("/"))
    return MAX_STRATEGY_BYTES if route in CAPPED else None


class BodyLimitMiddleware:
    """Answers 413 to a request whose body is larger than its route's cap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = _limit_of(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit, scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(limit, scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        body: Message | None = {"type": "http.request", "body": whole, "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                message, body = body, None
                return message
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    message = f"the request body is larger than {limit // (1 << 20) or 1} MB"
    if limit < 1 << 20:
        message = f"the request body is larger than {limit:,} bytes"
    response = JSONResponse(error_body(413, "too_large", message), 413)
    await response(scope, receive, send)
