"""The fits of a forecast of every KPI shared with another worker (the attention lists'
process, once its own work is done): whoever fits a batch, the calls are the same."""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineofsight.engine.forecast import requests_of
from lineofsight.engine.forecast_bulk import FitJob, _Rows, _shared
from lineofsight.engine.forecast_fit import Paths, paths_of
from lineofsight.services.attention_forecast import _CALLS, _help, _ListsProcess, _send
from lineofsight.services.forecast import request_frame
from lineofsight.spec.files import parse_strategy
from tests.services.test_forecast_frame import EDGES, _edge_rows, measurements_frame

AS_OF = dt.date(2026, 11, 22)


def _rows() -> _Rows:
    org = parse_strategy(EDGES, "edges.yaml")
    requests = request_frame(requests_of(org))  # no formula among them
    assert not requests["formula"].any()
    return _Rows.read(requests, measurements_frame(_edge_rows()), org.calendar, AS_OF)


class _FirstFitWaits:
    """The rows, whose first fit in the caller's thread waits (bounded) until the helper has
    taken a job: so that the helper takes one whatever the threads' order."""

    def __init__(self, rows: _Rows, took: threading.Event) -> None:
        self.rows, self.took = rows, took

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rows, name)

    def judged(self, *batch: Any) -> tuple[list[tuple[Any, ...]], pl.DataFrame]:
        self.took.wait(60)
        return self.rows.judged(*batch)


@pytest.mark.parametrize("gives_back", [True, False])
def test_batches_a_helper_takes_give_the_same_calls(gives_back: bool) -> None:
    # A helper that fits what it takes, and one that takes a job and is gone without
    # handing it back (the lists' process failed): that job is fitted here.
    rows = _rows()
    batches = list(rows.batches())
    assert len(batches) > 2
    expected = [rows.judged(*batch) for batch in batches]
    assert any(calls for calls, _ in expected)  # some rows are off track
    took = threading.Event()
    taken: list[int] = []

    class Helper:
        def serve(self, take: Any, give: Any) -> None:
            while (job := take()) is not None:
                taken.append(job.number)
                took.set()
                if not gives_back:
                    return
                give(job, paths_of(job.y, job.season, job.horizon, job.goals))

    found = _shared(_FirstFitWaits(rows, took), batches, Helper())  # type: ignore[arg-type]
    # The same rows, in the batches' order.
    assert [calls for calls, _ in found] == [calls for calls, _ in expected]
    for (_, kept), (_, wanted) in zip(found, expected, strict=True):
        assert_frame_equal(kept, wanted)
    assert taken and taken[0] == len(batches) - 1  # taken from the last
    if not gives_back:
        assert len(taken) == 1


def test_the_lists_process_fits_batches_handed_over_pipes() -> None:
    # Both ends of the protocol over real pipes: the second process hands over every batch,
    # the lists' process fits each and hands back its fit, then reads the calls.
    rows = _rows()
    jobs = [
        FitJob(number, rows.series(batch, n), season, horizon, rows.goals_of(batch))
        for number, (batch, n, season, horizon) in enumerate(rows.batches())
    ]
    to_aside_r, to_aside_w = os.pipe()
    from_aside_r, from_aside_w = os.pipe()
    result: dict[str, bytes | None] = {}
    with (
        open(to_aside_w, "wb") as to_aside,
        open(from_aside_r, "rb") as from_aside,
        open(to_aside_r, "rb") as source,
        open(from_aside_w, "wb") as out,
    ):
        lists = threading.Thread(target=lambda: result.update(calls=_help(to_aside, from_aside)))
        lists.start()
        waiting = list(jobs)
        given: dict[int, Paths] = {}
        _ListsProcess(source, out, threading.Lock()).serve(
            lambda: waiting.pop() if waiting else None,
            lambda job, off: given.__setitem__(job.number, off),
        )
        _send(out, _CALLS, b"the calls")
        lists.join(60)
    assert result == {"calls": b"the calls"}
    assert sorted(given) == [job.number for job in jobs]
    for job in jobs:
        here = paths_of(job.y, job.season, job.horizon, job.goals)
        there = given[job.number]
        assert (there.method, there.models) == (here.method, here.models)
        for name in ("held", "low", "high", "ok", "on_track", "clamped", "chance"):
            np.testing.assert_array_equal(getattr(there, name), getattr(here, name))
    assert any(len(paths.off_track()) for paths in given.values())


def test_the_lists_process_gets_the_calls_when_nothing_is_left_to_fit() -> None:
    # The second process fitted every batch before the lists' process asked: it answers
    # that none is left, and the calls follow.
    to_aside_r, to_aside_w = os.pipe()
    from_aside_r, from_aside_w = os.pipe()
    result: dict[str, bytes | None] = {}
    with (
        open(to_aside_w, "wb") as to_aside,
        open(from_aside_r, "rb") as from_aside,
        open(to_aside_r, "rb") as source,
        open(from_aside_w, "wb") as out,
    ):
        lists = threading.Thread(target=lambda: result.update(calls=_help(to_aside, from_aside)))
        lists.start()
        _ListsProcess(source, out, threading.Lock()).serve(lambda: None, lambda *_: None)
        _send(out, _CALLS, b"calls")
        lists.join(60)
    assert result == {"calls": b"calls"}
