"""`los load` into a store that already holds a long history: the work grows with the files,
not with their product.

A file of days loaded beside a stored history of days once compared each of its periods with
each day the store holds (millions of steps for a century of days). These tests count what a
load does instead of timing it: its statements to the store stay the same however many rows
the file has, and the stored last days are each looked at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lineofsight.services import measurements as load_service
from lineofsight.store import measurement_overlaps as stored
from lineofsight.store.database import Store
from tests.conftest import FIXTURES, Los

FULL = FIXTURES / "specs" / "valid" / "full.yaml"
FIRST_DAY = dt.date(2020, 1, 1)


class CountingSession:
    """A load session that counts the statements sent through it."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.dialect = session.dialect
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._session, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.statements += 1
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Each load's statement count, and each call's count of stored last days looked at."""
    counts: dict[str, list[int]] = {"statements": [], "ends": []}
    real_session = load_service.load_session
    real_earliest = stored._earliest_start

    @contextmanager
    def counting_session(store: Store) -> Iterator[CountingSession]:
        with real_session(store) as session:
            counting = CountingSession(session)
            yield counting
        counts["statements"].append(counting.statements)

    def counting_earliest(end: dt.date, fiscal_start: int) -> dt.date:
        counts["ends"][-1] += 1
        return real_earliest(end, fiscal_start)

    monkeypatch.setattr(load_service, "load_session", counting_session)
    monkeypatch.setattr(stored, "_earliest_start", counting_earliest)
    return counts


def _days(workdir: Path, name: str, kpi: str, days: int, start: dt.date = FIRST_DAY) -> Path:
    path = workdir / name
    lines = [f"{kpi},{start + dt.timedelta(days=i)},{i % 97}" for i in range(days)]
    path.write_text("kpi,period,value\n" + "\n".join(lines) + "\n")
    return path


def test_a_load_beside_a_stored_history_does_work_in_step_with_its_rows(
    los: Los, workdir: Path, counted: dict[str, list[int]]
) -> None:
    spec = workdir / "strategy.yaml"
    spec.write_text(FULL.read_text())
    assert los("apply", str(spec)).exit_code == 0
    history = 1500  # days of dpo, about four years
    counted["ends"].append(0)
    assert los("load", str(_days(workdir, "dpo.csv", "dpo", history))).exit_code == 0
    for kpi, rows in (("dso", 300), ("dio", 1200)):
        counted["ends"].append(0)
        result = los("load", str(_days(workdir, f"{kpi}.csv", kpi, rows)))
        assert f"{rows:,} rows: {rows:,} added" in result.output, result.output
    # The last days the store holds near the file's periods, each looked at once: about
    # one per day of the file and a year beyond (not one per day for each of its periods).
    assert counted["ends"][-2] <= 300 + 366 + 2
    assert counted["ends"][-1] <= 1200 + 366 + 2
    # A file four times as long, against the same history: the same statements.
    assert counted["statements"][-1] == counted["statements"][-2]
    # And a month over the stored days is still refused, naming the first day it shares.
    months = workdir / "months.csv"
    months.write_text("kpi,period,value\ndso,2019-12,4\ndpo,2020-02,5\n")
    result = los("load", str(months))
    assert result.exit_code == 2, result.output
    assert (
        "row 3: column period: 2020-02 shares days with 2020-02-01, already stored for "
        "(dpo, ti)" in result.output
    )
    assert "row 2" not in result.output
