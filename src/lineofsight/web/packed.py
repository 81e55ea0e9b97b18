"""Large kept parts of a page compressed once: a page whose kept fragment is large (a business
unit's map, 0.5 MB of HTML) is sent as gzip made of the page's own few kilobytes, compressed
per request, and the fragment compressed when it was first sent.

A gzip body is a DEFLATE stream; DEFLATE blocks that end on a flush are independent of what
follows, so the stream can be put together from pieces compressed separately (each by a fresh
compressor, ended with a sync flush), closed with an empty final block, and the CRC-32 and
length of the whole text. Any gzip reader reads it as one body. Compressing the map's body
took a third of that page's time per request.
"""

from __future__ import annotations

import re
import struct
import threading
import zlib
from collections import OrderedDict
from typing import Any

from markupsafe import Markup
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PACK_FROM = 64 * 1024  # characters: a fragment this large is compressed once, not per request
LEVEL = 1  # as the app's GZipMiddleware (web/app.py COMPRESS_LEVEL)
PARTS = "lineofsight.gzip_parts"  # the body message's key that carries the pieces
_MARK = re.compile(rb"\x00los-part-(\d+)\x00")
# gzip's header: deflate, no name or time, no extra flags, operating system unknown.
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

Part = tuple[bytes, bytes | None]  # text, and its compressed DEFLATE blocks when kept


class _Packed:
    """Fragments with their encoded text and DEFLATE blocks, by identity (a kept fragment is
    the same object at every request); a few, the most recently sent."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[Markup, bytes, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, fragment: Markup) -> tuple[bytes, bytes]:
        with self._lock:
            found = self._items.get(id(fragment))
            if found is not None and found[0] is fragment:
                self._items.move_to_end(id(fragment))
                return found[1], found[2]
        text = str(fragment).encode()
        blocks = deflate(text)
        with self._lock:
            # The fragment is held here, so its id cannot be another object's meanwhile.
            self._items[id(fragment)] = (fragment, text, blocks)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return text, blocks


_PACKED = _Packed()


def deflate(text: bytes) -> bytes:
    """`text` as DEFLATE blocks that end on a byte boundary and say nothing of the end."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)


def gzip_of(parts: list[Part]) -> bytes:
    """One gzip body of the parts' texts, in order (kept blocks used as they are)."""
    out = [_HEADER]
    crc, size = 0, 0
    for text, blocks in parts:
        crc = zlib.crc32(text, crc)
        size += len(text)
        out.append(blocks if blocks is not None else deflate(text))
    out.append(zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH))
    out.append(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(out)


def large_parts(context: dict[str, Any]) -> dict[str, Markup]:
    """The values of a page's context that are large drawn fragments."""
    return {k: v for k, v in context.items() if isinstance(v, Markup) and len(v) >= PACK_FROM}


def split_page(page: bytes, large: dict[str, Markup], marks: dict[str, int]) -> list[Part] | None:
    """The page drawn with a mark in each large fragment's place, as parts; None when a mark
    is not there exactly once (a template that shows a fragment twice, or not at all)."""
    by_number = {number: large[name] for name, number in marks.items()}
    pieces = _MARK.split(page)
    found = [int(n) for n in pieces[1::2]]
    if sorted(found) != sorted(by_number):
        return None
    parts: list[Part] = [(pieces[0], None)]
    for number, after in zip(found, pieces[2::2], strict=True):
        parts.append(_PACKED.get(by_number[number]))
        parts.append((after, None))
    return parts


def mark(number: int) -> Markup:
    return Markup(f"\x00los-part-{number}\x00")


class PackedHTMLResponse(HTMLResponse):
    """An HTML page of parts; its body message carries them, for PackedGzipMiddleware."""

    def __init__(self, parts: list[Part], status_code: int = 200) -> None:
        self.parts = parts
        super().__init__(b"".join(text for text, _ in parts), status_code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body, PARTS: self.parts})


class PackedGzipMiddleware:
    """Sends a page of parts (PackedHTMLResponse) as gzip to a client that takes it, from its
    kept blocks; passes every other answer on as it is (the GZipMiddleware outside it
    compresses those)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gzip = "gzip" in Headers(scope=scope).get("accept-encoding", "")
        start: Message | None = None

        async def sending(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message  # held until the body says whether it is a page of parts
                return
            if message["type"] == "http.response.body" and PARTS in message:
                parts = message[PARTS]
                message = {k: v for k, v in message.items() if k != PARTS}
                if gzip and start is not None and not message.get("more_body", False):
                    body = gzip_of(parts)
                    headers = MutableHeaders(raw=list(start.get("headers", [])))
                    headers["content-encoding"] = "gzip"
                    headers["content-length"] = str(len(body))
                    headers.add_vary_header("Accept-Encoding")
                    start = {**start, "headers": headers.raw}
                    message = {**message, "body": body}
            if start is not None:
                await send(start)
                start = None
            await send(message)

        await self.app(scope, receive, sending)
