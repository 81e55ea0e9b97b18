"""Moments shown to people (`los sources`, `los jobs`, the sources page) read in UTC."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from lineofsight.display import utc_minute


def test_utc_minute_reads_a_naive_value_as_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The store keeps UTC and SQLite hands it back naive: the machine's zone must not shift it.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert utc_minute(dt.datetime(2026, 10, 5, 7, 30)) == "2026-10-05 07:30 UTC"
        aware = dt.datetime(2026, 10, 5, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        assert utc_minute(aware) == "2026-10-05 07:30 UTC"
        assert utc_minute(None) == "-"
    finally:
        monkeypatch.undo()
        time.tzset()
