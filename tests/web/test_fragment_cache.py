"""The pages' fragment cache: a fragment made inside another is made (no deadlock on the
cache's own lock), one key is made once however many requests ask together, and two keys
are made side by side."""

from __future__ import annotations

import threading

import pytest

from lineofsight.web.pagedata import _Lru

WAIT = 30.0


def _in_thread(target: object) -> tuple[threading.Thread, list[object]]:
    found: list[object] = []

    def run() -> None:
        try:
            found.append(target())  # type: ignore[operator]
        except Exception as exc:  # handed to the test, which asserts on it
            found.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, found


def test_a_fragment_made_inside_another_is_made() -> None:
    cache = _Lru(8)

    def outer() -> str:
        return "outer(" + cache.get(("inner",), lambda: "inner") + ")"

    thread, found = _in_thread(lambda: cache.get(("outer",), outer))
    thread.join(WAIT)
    assert not thread.is_alive(), "the inner fragment waited for the outer one's lock"
    assert found == ["outer(inner)"]
    assert cache.peek(("inner",)) == "inner"
    assert cache.get(("outer",), lambda: "made again") == "outer(inner)"


def test_a_fragment_that_needs_itself_is_an_error_not_a_hang() -> None:
    cache = _Lru(8)

    def loop() -> str:
        return cache.get(("same",), loop)

    thread, found = _in_thread(lambda: cache.get(("same",), loop))
    thread.join(WAIT)
    assert not thread.is_alive()
    assert len(found) == 1 and isinstance(found[0], RuntimeError)
    assert "needed to make itself" in str(found[0])
    # Nothing half-made is kept, and the key can be made afterwards.
    assert cache.peek(("same",)) is None
    assert cache.get(("same",), lambda: "fine") == "fine"


def test_one_key_asked_for_together_is_made_once() -> None:
    cache = _Lru(8)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        assert release.wait(WAIT)
        return "page"

    first, got_first = _in_thread(lambda: cache.get(("k",), slow))
    assert started.wait(WAIT)
    second, got_second = _in_thread(lambda: cache.get(("k",), slow))
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    assert got_first == ["page"] and got_second == ["page"]
    assert calls == [1]


def test_two_keys_are_made_side_by_side() -> None:
    """The first key's making waits for the second's: with one lock for every key, this
    would never end."""
    cache = _Lru(8)
    second_made = threading.Event()

    def first() -> str:
        assert second_made.wait(WAIT), "the second key was never made"
        return "a"

    def second() -> str:
        second_made.set()
        return "b"

    one, got_one = _in_thread(lambda: cache.get(("a",), first))
    two, got_two = _in_thread(lambda: cache.get(("b",), second))
    one.join(WAIT)
    two.join(WAIT)
    assert got_one == ["a"] and got_two == ["b"]


def test_a_failed_making_keeps_nothing() -> None:
    cache = _Lru(8)

    def broken() -> str:
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get(("x",), broken)
    assert cache.peek(("x",)) is None
    assert cache.get(("x",), lambda: "ok") == "ok"


def test_a_served_app_makes_todays_scorecard_when_it_starts(web_url: str) -> None:
    """`los serve`'s app (warm) starts making today's scorecard at start; the first page
    then reads that one instead of making another. An app made without `warm` does not."""
    from fastapi.testclient import TestClient

    from lineofsight.store.organization import values_revision
    from lineofsight.web.app import create_app
    from lineofsight.web.pagedata import snapshot
    from lineofsight.web.pagekit import today

    for warm in (True, False):
        app = create_app(web_url, secret_key="test secret", warm=warm)
        try:
            with TestClient(app):
                cache = app.state.scorecards
                warming = app.state.warming
                if not warm:
                    assert warming is None
                    assert "_page_snapshots" not in cache.__dict__
                    continue
                warming.join(WAIT)
                assert not warming.is_alive()
                version = values_revision(cache.revision())
                kept = cache.__dict__["_page_snapshots"].peek((version, today(), None))
                assert kept is not None and kept.as_of == today()
                assert snapshot(cache, today()) is kept
        finally:
            app.state.store.close()
