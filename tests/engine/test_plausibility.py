"""The plausibility rule: a value ten times off the KPI's recent values at its unit, or of a
sign they never had, is flagged; ordinary moves, short histories and zeros are not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from lineofsight.engine.plausibility import SERIES, implausible


def _judge(earlier: list[float], value: float) -> str | None:
    values = [*earlier, value]
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=31 * i) for i in range(len(values))]
    series = pl.DataFrame(
        {"kpi_id": "k", "unit_id": "u", "period_end": days, "value": values}, schema=SERIES
    )
    judged = series.tail(1)
    found = implausible(series, judged)
    assert found.height <= 1
    return found["reason"][0] if found.height else None


HISTORY = [125.0, 130.0, 120.0, 128.0, 122.0, 131.0]


@pytest.mark.parametrize(
    ("earlier", "value", "said"),
    [
        (
            HISTORY,
            1250.0,
            "1,250 is 10 times the usual size of the last 6 values here (median 126.5",
        ),
        (HISTORY, 12.5, "12.5 is 1/10 of the usual size"),
        # Written as every output writes numbers: 10,800,300, not 1.08003e+07.
        (
            [8000.0, 8120.0, 7950.0, 8300.0],
            10_800_300.0,
            "10,800,300 is 1,340 times the usual size of the last 4 values here (median 8,060)",
        ),
        ([91.0, 90.0, 92.5, 89.0], 0.9, "0.9 is 1/101 of the usual size of the last 4 values"),
        (HISTORY, -125.0, "-125 is negative, and the last 6 values here never were"),
        ([-3.0, -2.0, -4.0, -2.5], 3.0, "3 is positive, and the last 4 values here never were"),
        (HISTORY, 900.0, None),  # about 7 times: within the factor of 8
        (HISTORY, 16.0, None),  # about an eighth
        (HISTORY, 0.0, None),  # zero is an ordinary count
        ([125.0, 130.0, 120.0], 1250.0, None),  # fewer than 4 earlier values
        ([0.0, 0.0, 0.0, 0.0], 7.0, None),  # no size to compare with
        ([0.0, 0.0, 0.0, 0.0], -7.0, None),  # never positive either: no sign to keep
        ([5.0, -2.0, 3.0, 4.0], -6.0, None),  # the sign has changed before
        ([1.0] * 20 + HISTORY * 2, 1250.0, "the last 12 values"),  # only the last 12 count
        ([1.0] * 20 + HISTORY * 2, 8.0, "8 is 1/16 of the usual size"),
    ],
)
def test_the_rule(earlier: list[float], value: float, said: str | None) -> None:
    reason = _judge(earlier, value)
    if said is None:
        assert reason is None
    else:
        assert reason is not None and said in reason, reason


def test_each_kpi_and_unit_is_judged_against_its_own_values_only() -> None:
    rows = []
    for unit, level in (("small", 10.0), ("large", 1000.0)):
        for month in range(1, 7):
            rows.append(("k", unit, dt.date(2026, month, 28), level))
    rows.append(("k", "small", dt.date(2026, 7, 31), 1000.0))
    rows.append(("k", "large", dt.date(2026, 7, 31), 1000.0))
    series = pl.DataFrame(rows, schema=SERIES, orient="row")
    found = implausible(series, series.filter(pl.col("period_end") == dt.date(2026, 7, 31)))
    assert found.select("unit_id", "value").rows() == [("small", 1000.0)]


def test_only_the_judged_values_are_flagged() -> None:
    values = [125.0, 130.0, 120.0, 128.0, 1250.0, 126.0]
    days = [dt.date(2026, m, 1) for m in range(1, 7)]
    series = pl.DataFrame(
        {"kpi_id": "k", "unit_id": "u", "period_end": days, "value": values}, schema=SERIES
    )
    assert implausible(series, series.tail(1)).is_empty()
    assert implausible(series, series)["value"].to_list() == [1250.0]
