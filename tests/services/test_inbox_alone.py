"""One person's attention list made alone (`los inbox`, the home page) holds exactly what
their list cut from every person's lists holds, off-track items included: made alone, only
the KPIs the forecast calls off track are turned into items (and once each), while every
list at once ranks all candidates before the forecast is in. On the worked examples, on
SQLite and PostgreSQL (each example on one of them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from lineofsight.services.attention import attention_board, attention_lists, inbox
from lineofsight.store.database import Store
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)
from tests.seeds import paired

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(params=["manufacturing", "techinnovate"])
def store(request: pytest.FixtureRequest, unmade_db_url: str) -> Iterator[Store]:
    copy_example(request, unmade_db_url, request.param)  # as `los init --example` leaves it
    opened = Store(unmade_db_url)
    yield opened
    opened.close()


@paired(turn=0)
def test_a_list_made_alone_is_the_list_cut_from_every_list(store: Store) -> None:
    alone_first = {p: inbox(store, person=p, as_of=AS_OF).items for p in _people(store)}
    lists = attention_lists(store, AS_OF)  # keeps the forecast's calls
    off_track = [i for items in lists.values() for i in items if i.kind == "off_track"]
    assert off_track, "the example has KPIs the forecast calls off track"
    assert all(i.reason.startswith("off track: forecast at ") and i.due for i in off_track)
    for person, items in lists.items():
        assert alone_first[person] == items, person  # the calls made alone, not kept
        assert inbox(store, person=person, as_of=AS_OF).items == items, person  # read back
    board = attention_board(store, AS_OF)
    called = {i.item_id for i in board.items if i.kind == "off_track"}
    assert called == {i.item_id for i in off_track}


def _people(store: Store) -> list[str]:
    from lineofsight.store.attention_reads import read_responsibilities

    return read_responsibilities(store).people["id"].to_list()
