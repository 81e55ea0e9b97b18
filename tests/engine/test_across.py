"""A KPI's `across_units` from its aggregation, written once (`model.ADDS_UP_ACROSS_UNITS`):
the frame expression the engine and the check DA01 read (`frame_values.across_units`) agrees
with `Kpi.effective_across_units` for every aggregation and `across_units`, written or not."""

from __future__ import annotations

import itertools

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.frame_values import across_units


def test_the_frame_rule_is_the_kpis_own() -> None:
    pairs = list(itertools.product([None, *m.Aggregation], [None, *m.AcrossUnits]))
    frame = pl.DataFrame(
        {
            "aggregation": [a.value if a else None for a, _ in pairs],
            "across_units": [u.value if u else None for _, u in pairs],
        },
        schema={"aggregation": pl.String, "across_units": pl.String},
    )
    got = frame.select(across_units())["across_units"].to_list()
    want = [
        m.Kpi(
            id="k",
            name="K",
            unit="u",
            frequency=m.Frequency.MONTHLY,
            direction=m.Direction.INCREASE,
            aggregation=aggregation,
            across_units=across,
        ).effective_across_units.value
        for aggregation, across in pairs
    ]
    assert got == want
    assert {a for a, u in pairs if u is None and got[pairs.index((a, u))] == "sum"} == {
        m.Aggregation.SUM,
        m.Aggregation.LAST,
    }
