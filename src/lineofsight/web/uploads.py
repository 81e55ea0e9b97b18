"""Uploaded files: a cap on every request body, and an upload saved under a name of our own.

The cap (`LOS_MAX_UPLOAD_MB`, default 50 MB, or `create_app(max_upload_bytes=...)`) is
enforced while the body arrives: a request that announces a larger body is refused before
any of it is read, and one that sends more than it announced is cut off at the cap, with
413 and a message that says the limit. An upload is written to a temporary folder under a
fixed name (`upload.csv`, `upload.xlsx`): the user's file name only ever appears in messages,
after `upload_name` has checked it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineofsight.errors import Problem, UsageError

LIMIT_ENV = "LOS_MAX_UPLOAD_MB"
DEFAULT_LIMIT_MB = 50
MAX_NAME = 255


def limit_from_environment() -> int:
    """The body cap in bytes: LOS_MAX_UPLOAD_MB (a positive number of megabytes), else 50 MB."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_LIMIT_MB * 1024 * 1024
    try:
        megabytes = float(text)
    except ValueError:
        raise UsageError(f"{LIMIT_ENV}={text!r} is not a number of megabytes") from None
    if not megabytes > 0:
        raise UsageError(f"{LIMIT_ENV}={text!r} must be more than 0")
    return int(megabytes * 1024 * 1024)


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):.3g} MB"


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the request is larger than the limit of {_megabytes(limit)}: split the file "
        f"(the server's limit is set by {LIMIT_ENV})",
    )


class BodyLimitMiddleware:
    """Refuses a request body larger than the app's `state.max_upload_bytes` with 413."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = self.owner.state.max_upload_bytes
        announced = dict(scope.get("headers", ())).get(b"content-length")
        over = announced is not None and announced.isdigit() and int(announced) > limit
        received = 0

        async def limited() -> Message:
            # Raised inside the app, while it reads the body: the app's error handlers answer
            # (JSON under /api, a page elsewhere), as for any other mistake.
            nonlocal received
            if over:
                raise too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, limited, send)


def upload_name(filename: str | None) -> str:
    """The name of an uploaded file as its messages show it: the last part of the path the
    browser sent. UsageError when it is empty, too long or has a control character (a NUL)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", ".."):
        raise UsageError(
            "file: choose a CSV or Excel file to upload", [Problem("file", 0, "no file name")]
        )
    bad = sorted({f"U+{ord(c):04X}" for c in name if ord(c) < 32 or ord(c) == 127})
    if bad:
        reason = f"the file name has a control character ({', '.join(bad)}): rename the file"
        raise UsageError(f"file: {reason}", [Problem("file", 0, reason)])
    if len(name) > MAX_NAME:
        reason = f"the file name is longer than {MAX_NAME} characters: rename the file"
        raise UsageError(f"file: {reason}", [Problem("file", 0, reason)])
    return name


def save_upload(source: BinaryIO, folder: Path, name: str, limit: int) -> Path:
    """An upload's bytes copied into `folder` as `upload` with the suffix of `name` (a server
    path of our own making, never shown); 413 past `limit`."""
    suffix = Path(name).suffix.lower()
    path = folder / f"upload{suffix if suffix.isascii() and suffix[1:].isalnum() else ''}"
    size = 0
    with path.open("wb") as out:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            out.write(chunk)
    return path
