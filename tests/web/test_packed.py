"""Pages with a large kept part are sent as gzip put together from pieces compressed apart
(the part's blocks compressed once): any gzip reader reads the same page as the plain one."""

from __future__ import annotations

import gzip
import random

import pytest
from fastapi.testclient import TestClient

from lineofsight.web import packed
from tests.web.conftest import log_in


def test_pieces_compressed_apart_read_as_one_gzip_body() -> None:
    rng = random.Random(7)
    words = ["red", "amber", "green", "<td>", "</tr>", "Revenue", "ü", "→", "\n"]
    for _ in range(50):
        texts = [
            "".join(rng.choice(words) for _ in range(rng.randint(0, 3000))).encode()
            for _ in range(rng.randint(1, 5))
        ]
        parts = [(t, packed.deflate(t) if rng.random() < 0.5 else None) for t in texts]
        assert gzip.decompress(packed.gzip_of(parts)) == b"".join(texts)


PAGES = ("/", "/units/sales", "/map", "/lists/red", "/kpis/revenue")


@pytest.mark.parametrize("path", PAGES)
def test_a_page_with_a_large_part_reads_the_same_compressed_or_not(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    assert log_in(client, "admin").status_code == 303
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    # Every kept fragment of this small organisation counts as large now.
    monkeypatch.setattr(packed, "PACK_FROM", 200)
    kept = packed._PACKED._items
    kept.clear()
    seen = []
    for _ in range(2):  # drawn, then from the kept blocks
        sent = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert sent.status_code == 200
        assert sent.headers["content-encoding"] == "gzip"
        assert sent.text == plain.text, path
        seen.append(list(kept.values()))
    assert seen[0], "the page's kept parts were sent from compressed blocks"
    assert all(a is b for a, b in zip(seen[0], seen[1], strict=True)), "and kept"
    unpacked = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in unpacked.headers
    assert unpacked.text == plain.text
