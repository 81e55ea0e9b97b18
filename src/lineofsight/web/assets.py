"""The static assets (stylesheet, scripts): addressed by their content's hash,
compressed once, and kept by browsers for a year.

    {{ asset("/static/los.css") }}  ->  /static/los.css?v=3f2a9c01d4e7

A page names each asset with `asset(...)` (a Jinja global), so the address changes whenever
the file does, and a browser may keep what it fetched without asking again (`immutable`). An
address without the current hash (an old page, a hand-typed one) is answered too, but must be
revalidated: its answer carries an ETag, and a repeat request with If-None-Match gets 304.

Assets are compressed here, once per process (at gzip's best level), rather than by the
compression middleware on every request.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"  # may be kept, but asked about (ETag) before each use
GZIP_LEVEL = 9  # once per process and file: the smallest answer is worth the 0.2 s
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes, their gzip form, the content hash and media type."""

    body: bytes
    gzipped: bytes
    digest: str
    media_type: str


_cache: dict[Path, Asset] = {}
_urls: dict[str, str] = {}  # every page asks for the same few addresses
_lock = threading.Lock()


def _file_of(address: str) -> Path | None:
    """The file behind an asset address, or None when there is none."""
    if not address.startswith("/static/"):
        return None
    name = address.removeprefix("/static/")
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR.resolve() not in path.parents or not path.is_file():
        return None  # nothing outside the folder, however the name is spelled
    return path


def load(path: Path) -> Asset:
    """The asset at `path`, read and compressed on first use (files do not change while the
    process runs: they ship inside the installed package)."""
    found = _cache.get(path)
    if found is not None:
        return found
    with _lock:  # two first requests at once compress the file once
        found = _cache.get(path)
        if found is None:
            body = path.read_bytes()
            media = MEDIA_TYPES.get(path.suffix) or (
                mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            )
            found = Asset(
                body=body,
                gzipped=gzip.compress(body, GZIP_LEVEL, mtime=0),
                digest=hashlib.sha256(body).hexdigest()[:12],
                media_type=media,
            )
            _cache[path] = found
    return found


def asset_url(address: str) -> str:
    """The address of an asset with its content hash (`?v=`), for pages to link to."""
    found = _urls.get(address)
    if found is None:
        path = _file_of(address)
        found = address if path is None else f"{address}?v={load(path).digest}"
        _urls[address] = found
    return found


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def serve(request: Request, address: str) -> Response:
    """An asset: gzip when the client takes it, cached for a year when asked for by its hash,
    else revalidated by ETag (304 when unchanged)."""
    path = _file_of(address)
    if path is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    asset = load(path)
    zipped = _accepts_gzip(request) and len(asset.gzipped) < len(asset.body)
    etag = f'"{asset.digest}{"-gz" if zipped else ""}"'
    headers = {
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "Cache-Control": IMMUTABLE if request.query_params.get("v") == asset.digest else REVALIDATE,
    }
    wanted = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in wanted.split(",")):
        return Response(status_code=304, headers=headers)
    if zipped:
        headers["Content-Encoding"] = "gzip"
    return Response(
        asset.gzipped if zipped else asset.body, media_type=asset.media_type, headers=headers
    )


@router.api_route("/static/{name:path}", methods=["GET", "HEAD"])
def static_file(request: Request, name: str) -> Response:
    return serve(request, f"/static/{name}")


def _register() -> None:
    """Make `asset(...)` a Jinja global for every page (base.html links its assets with it)."""
    from lineofsight.web.templating import templates

    templates.env.globals["asset"] = asset_url


_register()
