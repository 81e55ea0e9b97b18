"""One JSON error shape for every API error, and the same errors as pages for browsers.

    {"error": {"status": 404, "code": "not_found", "message": "...", "details": [...]}}

`details` lists what was wrong where: `{"field", "reason"}` for a form or query field,
`{"file", "row", "reason"}` for a row of an uploaded file.

A write that found the store busy with another write for longer than it may wait answers 503
with code `busy` and a `Retry-After` header: nothing was written, and sending the same request
again later is safe. A store that cannot be reached (its database server stopped) answers 503
with code `unavailable` and a `Retry-After` header, and writes one line to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lineofsight.errors import InputError, StoreBusy, StoreError
from lineofsight.web.security import ApiAuthRequired, CsrfFailed, LoginRequired

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    500: "internal_error",
    503: "unavailable",
}
RETRY_AFTER = 5  # seconds, in the Retry-After header of a 503 (the store busy or unreachable)
UNREACHABLE = "the store cannot be reached"

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error an API route or a page raises on purpose: status, code, message, details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details or []


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def forbidden(message: str = "your role does not allow this") -> ApiError:
    return ApiError(403, message)


def validation_detail(error: Mapping[str, Any]) -> dict[str, Any]:
    """One problem FastAPI found in a request, as `{"field", "reason"}`: the query, path or
    body field it is in (`body` for the body as a whole), named as the services name fields
    (`actions[0].title`, `subject.id`), and why, in the product's words."""
    parts = tuple(error.get("loc", ()))
    kind = error.get("type")
    if kind == "json_invalid":  # the body does not parse: loc is ("body", character)
        why = (error.get("ctx") or {}).get("error") or "it does not parse"
        at = f" (at character {parts[1]})" if len(parts) > 1 and isinstance(parts[1], int) else ""
        return {"field": "body", "reason": f"not valid JSON: {why}{at}"}
    if parts == ("body",) and kind == "missing":
        return {"field": "body", "reason": "a JSON body is required"}
    location = list(
        parts[1:]
        if parts[:1] in (("query",), ("path",), ("header",), ("cookie",), ("body",))
        else parts
    )
    return {"field": field_path(location) or "request", "reason": _reason(error)}


def field_path(parts: list[Any] | tuple[Any, ...]) -> str:
    """`("actions", 0, "title")` as `actions[0].title`."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def _reason(error: Mapping[str, Any]) -> str:
    """Why a value was refused, in the words the services use for the same mistake."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    given = error.get("input")
    shown = f"'{given}'" if isinstance(given, str) else repr(given)
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{shown} is not a number" if kind != "finite_number" else "must be a finite number"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{shown} is not a whole number"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"{shown} is not a date (YYYY-MM-DD)"
    if kind in ("bool_parsing", "bool_type"):
        return f"{shown} is not true or false"
    if kind == "string_type":
        return "must be text"
    if kind in ("list_type", "tuple_type"):
        return "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be an object"
    if kind == "string_too_short":
        return (
            "is empty"
            if ctx.get("min_length") == 1
            else f"is shorter than {ctx.get('min_length')} characters"
        )
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length'):,} characters"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length'):,} items"
    if kind == "literal_error":
        return f"{shown} is not one of {ctx.get('expected', '').replace(' or ', ', ')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "more than",
            "less_than": "less than",
        }
        limit = next(iter(ctx.values()), "")
        return f"must be {words[kind]} {limit}"
    return str(error.get("msg", "invalid"))


def error_body(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "details": details or []}}


def input_details(exc: InputError) -> list[dict[str, Any]]:
    """Each problem of a user mistake: a field and a reason, or a file row and a reason."""
    details: list[dict[str, Any]] = []
    for problem in exc.problems:
        if problem.line == 0 and not problem.is_row:
            details.append({"field": problem.file, "reason": problem.message})
        elif problem.is_row:
            details.append({"file": problem.file, "row": problem.line, "reason": problem.message})
        else:
            details.append({"file": problem.file, "line": problem.line, "reason": problem.message})
    return details


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    store_read: bool = True,
) -> Response:
    """The error as JSON under /api, else as a page; `store_read=False`: a page drawn without
    reading the store (the account and the CSRF token come from it), for when it is out of
    reach."""
    if _wants_json(request):
        return JSONResponse(error_body(status, code, message, details), status, headers=headers)
    try:
        from lineofsight.web.templating import render

        bare = {} if store_read else {"account": None, "csrf_token": ""}
        page = render(
            request,
            "error.html",
            status_code=status,
            status=status,
            code=code,
            message=message,
            details=details or [],
            **bare,
        )
        page.headers.update(headers or {})
        return page
    except Exception:  # no error template yet: plain text still tells the user what happened
        lines = [f"{status} {message}"] + [
            " ".join(f"{k}: {v}" for k, v in d.items()) for d in details or []
        ]
        return PlainTextResponse("\n".join(lines), status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error to one shape (JSON under /api, a page elsewhere)."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _respond(request, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _respond(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [validation_detail(error) for error in exc.errors()]
        if _wants_json(request) and request.method in ("POST", "PATCH", "PUT"):
            # The fields the schema accepted are still checked by the service (nothing
            # written), so that one answer tells every problem of the body.
            from starlette.concurrency import run_in_threadpool

            from lineofsight.web.api_partial import body_problems

            named = {d["field"] for d in details}
            # Refused for another reason too (permission, no strategy): the schema's problems.
            with suppress(ApiError, ApiAuthRequired, InputError, StoreError):
                first, rest = await run_in_threadpool(body_problems, request, exc.body, named)
                details = [*first, *details, *rest]
        shown = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:3])
        if len(details) > 3:
            shown += f" (and {len(details) - 3} more)"
        return _respond(request, 422, "invalid", shown or "the request is not valid", details)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        return _respond(request, 422, "invalid", exc.summary, input_details(exc))

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        if isinstance(exc, StoreBusy):
            return _respond(
                request, 503, "busy", str(exc), headers={"Retry-After": str(RETRY_AFTER)}
            )
        # The store's server stopped or cannot be reached (or failed otherwise): one line in
        # the log, with the reason (a URL in it has no password), no traceback; the user is
        # told to try again, which works as soon as the store is back (no restart).
        reason = " ".join(str(exc).split())
        log.warning("%s %s: %s: %s", request.method, request.url.path, UNREACHABLE, reason)
        return _respond(
            request,
            503,
            "unavailable",
            f"{UNREACHABLE}: try again in a moment",
            headers={"Retry-After": str(RETRY_AFTER)},
            store_read=False,
        )

    def unauthenticated(request: Request) -> Response:
        return _respond(
            request,
            401,
            "unauthenticated",
            "log in, or send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(ApiAuthRequired)
    async def auth_required(request: Request, exc: ApiAuthRequired) -> Response:
        return unauthenticated(request)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_json(request):
            return unauthenticated(request)
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", 303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _respond(
            request,
            403,
            "csrf_failed",
            "the form has expired or did not come from this site: reload the page and try again",
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return _respond(request, 500, "internal_error", "internal error: see the server log")
