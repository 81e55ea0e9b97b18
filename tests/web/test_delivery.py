"""How answers travel: compressed for clients that take gzip, assets addressed by their
content's hash and kept by browsers, pages and API answers never kept by any cache.

Delivery does not depend on the database: one SQLite store serves the module."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.web import assets
from lineofsight.web.app import create_app
from tests.web.conftest import build_store, log_in

PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    folder = tmp_path_factory.mktemp("delivery")
    url = f"sqlite:///{folder / 'los.db'}"
    build_store(url, folder)
    web = create_app(url, secret_key="test secret")
    yield web
    web.state.store.close()


@pytest.fixture
def admin(app: object) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
        log_in(client, "admin")
        yield client


def _raw(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """Status, headers and the body as sent (not decompressed by the client)."""
    with client.stream("GET", path, headers=headers) as answer:
        body = b"".join(answer.iter_raw())
        return answer.status_code, dict(answer.headers), body


def test_pages_and_api_answers_are_compressed_for_clients_that_take_gzip(
    admin: TestClient, app: object
) -> None:
    for path in ("/", "/map", "/units/sales", "/kpis/revenue"):
        status, headers, body = _raw(admin, path, GZIP)
        assert status == 200, path
        assert headers["content-encoding"] == "gzip", path
        assert "accept-encoding" in headers["vary"].lower()
        page = gzip.decompress(body)
        assert b"</html>" in page and len(body) < len(page) / 2, path
        assert headers["cache-control"] == "no-store", path  # a page is never kept
        status, plain, same = _raw(admin, path, PLAIN)
        assert "content-encoding" not in plain and b"</html>" in same
    token = accounts.create_token(app.state.store, "admin", actor="tests")  # type: ignore[attr-defined]
    bearer = {"Authorization": f"Bearer {token}", **GZIP}
    status, headers, body = _raw(admin, "/api/v1/status?as_of=2026-03-31", bearer)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b"{")
    assert headers["cache-control"] == "no-store"


def test_errors_are_compressed_and_keep_their_shape(admin: TestClient) -> None:
    status, headers, body = _raw(admin, "/api/v1/kpis/" + "x" * 2000, GZIP)
    assert status in (401, 404)
    text = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
    assert text.startswith(b'{"error":')


def test_assets_are_linked_by_content_hash_and_kept_for_a_year(admin: TestClient) -> None:
    page = admin.get("/kpis/revenue").text
    links = dict(re.findall(r'(?:src|href)="(/static/[^"?]+)\?v=([0-9a-f]{12})"', page))
    assert set(links) >= {"/static/los.css", "/static/layout.js", "/static/charts.js"}
    for path, digest in links.items():
        status, headers, body = _raw(admin, f"{path}?v={digest}", GZIP)
        assert status == 200, path
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["content-encoding"] == "gzip"
        assert headers["etag"] == f'"{digest}-gz"'
        assert "no-store" not in headers["cache-control"]
        served = gzip.decompress(body)
        file = assets._file_of(path)
        assert file is not None and served == file.read_bytes()
    # The charts are drawn by the server: the page's whole script is a few kB.
    scripts = re.findall(r'<script src="([^"?]+)', page)
    sizes = {path: len(_raw(admin, f"{path}?v={links[path]}", GZIP)[2]) for path in scripts}
    assert scripts and sum(sizes.values()) < 8_000, sizes


def test_an_asset_without_its_hash_is_revalidated_by_etag(admin: TestClient) -> None:
    status, headers, body = _raw(admin, "/static/los.css", PLAIN)
    assert status == 200 and headers["cache-control"] == "public, no-cache"
    assert "content-encoding" not in headers and b"--green" in body
    etag = headers["etag"]
    status, headers, body = _raw(admin, "/static/los.css", {**PLAIN, "If-None-Match": etag})
    assert status == 304 and body == b"" and headers["etag"] == etag
    head = admin.head("/static/los.css", headers=PLAIN)
    assert head.status_code == 200 and head.headers["etag"] == etag
    # A stale hash (an old page) is served, but not as immutable.
    status, headers, _ = _raw(admin, "/static/los.css?v=000000000000", PLAIN)
    assert status == 200 and headers["cache-control"] == "public, no-cache"


def test_nothing_outside_the_static_folder_is_served(admin: TestClient) -> None:
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/nothing.css", "/static/"):
        assert admin.get(path).status_code == 404, path


def test_an_asset_address_changes_with_its_content(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.css").write_text("a { color: red }", encoding="utf-8")
    monkeypatch.setattr(assets, "STATIC_DIR", tmp_path)
    monkeypatch.setattr(assets, "_cache", {})
    monkeypatch.setattr(assets, "_urls", {})
    first = assets.asset_url("/static/a.css")
    (tmp_path / "a.css").write_text("a { color: blue }", encoding="utf-8")
    monkeypatch.setattr(assets, "_cache", {})
    monkeypatch.setattr(assets, "_urls", {})
    second = assets.asset_url("/static/a.css")
    assert first.startswith("/static/a.css?v=") and second != first
    assert assets.asset_url("/static/missing.css") == "/static/missing.css"
