"""The scoring maths of SPEC section 3, as tables of cases, and its properties: on the engine
(`engine.frames`, `engine.frame_rollups`), each case checked against the reference too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.periods import parse_period
from lineofsight.engine.frame_rollups import _band
from lineofsight.engine.frame_scores import score_rows
from lineofsight.engine.scoring import Status
from lineofsight.engine.targets import kpi_target
from tests.engine import oracle

INC, DEC, RNG = m.Direction.INCREASE, m.Direction.DECREASE, m.Direction.RANGE
P = parse_period("2026-10")


def kpi(direction: m.Direction = INC, **kw) -> m.Kpi:  # type: ignore[no-untyped-def]
    if direction is RNG:
        kw.setdefault("range", m.Range(85, 92))
    return m.Kpi(
        id="k", name="K", unit="co", frequency=m.Frequency.MONTHLY, direction=direction, **kw
    )


def engine_row(
    kpi: m.Kpi, actual: float | None, target: float | None, unit: str = "co"
) -> dict[str, Any]:
    """The engine's KPI row for one actual against one target."""
    frame = pl.DataFrame(
        {
            "kpi_id": [kpi.id],
            "unit_id": [unit],
            "period": [P.label],
            "position": [0],
            "own_unit": [unit == kpi.unit],
            "direction": [kpi.direction.value],
            "actual": [actual],
            "target": [target],
            "range_low": [kpi.range.low if kpi.range else None],
            "range_high": [kpi.range.high if kpi.range else None],
            "tolerance": [kpi.tolerance],
            "tolerance_abs": [kpi.tolerance_abs],
            "due": [P.end + dt.timedelta(days=30)],
            "last_value": [None],
            "last_period": [None],
        },
        schema_overrides={
            "actual": pl.Float64,
            "target": pl.Float64,
            "range_low": pl.Float64,
            "range_high": pl.Float64,
            "tolerance": pl.Float64,
            "tolerance_abs": pl.Float64,
            "last_value": pl.Float64,
            "last_period": pl.String,
        },
    )
    (row,) = score_rows(frame, P.end + dt.timedelta(days=5)).to_dicts()
    return row


def score_kpi(kpi: m.Kpi, actual: float | None, target: float | None) -> dict[str, Any]:
    """The engine's row, after checking that the reference scores it the same."""
    row = engine_row(kpi, actual, target)
    reference = oracle.score_kpi(kpi, P, "co", actual, target)
    assert (row["status"], row["score"], row["target"]) == (
        reference.status.value,
        reference.score,
        reference.target,
    )
    assert row["miss"] == reference.miss and row["achievement"] == reference.achievement
    return row


def band_status(score: float | None, scoring: m.Scoring) -> str:
    """An objective's status from its score, by the engine (checked against the reference)."""
    found = pl.select(_band(pl.lit(score, pl.Float64), scoring)).item()
    assert found == oracle.band_status(score, scoring).value
    return str(found)


@pytest.mark.parametrize(
    ("direction", "actual", "target", "tol", "score", "status"),
    [
        # a tie is met, whatever the direction
        (INC, 100, 100, None, 100, Status.GREEN),
        (DEC, 100, 100, None, 100, Status.GREEN),
        # over-achievement is capped at 100
        (INC, 150, 100, None, 100, Status.GREEN),
        (DEC, 50, 100, None, 100, Status.GREEN),
        # half the tolerance short: score 75, amber
        (INC, 95, 100, None, 75, Status.AMBER),
        (DEC, 105, 100, None, 75, Status.AMBER),
        # exactly at the tolerance edge: amber, score 50
        (INC, 90, 100, None, 50, Status.AMBER),
        (DEC, 110, 100, None, 50, Status.AMBER),
        # just beyond it: red
        (INC, 89.9, 100, None, 49.5, Status.RED),
        # twice the tolerance short: score 0
        (INC, 80, 100, None, 0, Status.RED),
        (INC, 10, 100, None, 0, Status.RED),
        # negative targets use |T|
        (INC, -11, -10, None, 50, Status.AMBER),
        # zero target with an absolute tolerance
        (DEC, 1, 0, 2.0, 75, Status.AMBER),
        (DEC, 0, 0, 2.0, 100, Status.GREEN),
    ],
)
def test_kpi_scores(direction, actual, target, tol, score, status) -> None:  # type: ignore[no-untyped-def]
    row = score_kpi(kpi(direction, tolerance_abs=tol), actual, target)
    assert row["score"] == pytest.approx(score)
    assert row["status"] == status


@pytest.mark.parametrize(
    ("actual", "score", "status"),
    [
        (85, 100, Status.GREEN),  # the low edge is in range
        (92, 100, Status.GREEN),
        (88, 100, Status.GREEN),
        (84.1, 50 + 50 * (1 - 0.9 / 8.85), Status.AMBER),  # tol = 10% of the middle, 8.85
        (95, 100 - 50 * 3 / 8.85, Status.AMBER),
        (60, 0, Status.RED),
        (75, 100 - 50 * 10 / 8.85, Status.RED),
    ],
)
def test_range_kpis(actual: float, score: float, status: Status) -> None:
    row = score_kpi(kpi(RNG), actual, None)
    assert row["target"] == 88.5
    assert row["score"] == pytest.approx(score)
    assert row["status"] == status


def test_zero_tolerance_is_all_or_nothing() -> None:
    assert score_kpi(kpi(tolerance=0), 100, 100)["score"] == 100
    assert score_kpi(kpi(tolerance=0), 99.99, 100)["score"] == 0


def test_no_data_and_no_target() -> None:
    assert score_kpi(kpi(), None, 100)["status"] == Status.NO_DATA
    row = score_kpi(kpi(), 5, None)
    assert (row["status"], row["score"]) == (Status.NO_TARGET, None)


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (100, Status.GREEN),
        (90, Status.GREEN),
        (89.99, Status.AMBER),
        (50, Status.AMBER),
        (49.99, Status.RED),
        (0, Status.RED),
        (None, Status.NO_DATA),
    ],
)
def test_status_bands(score: float | None, status: Status) -> None:
    assert band_status(score, m.Scoring()) == status


GLIDE = m.Kpi(
    id="k",
    name="K",
    unit="co",
    frequency=m.Frequency.MONTHLY,
    direction=INC,
    baseline=m.PeriodValue("2025-12", 100),
    target=m.FinalTarget(200, dt.date(2026, 12, 31)),
    targets=(("2026-03", 111),),
)


@pytest.mark.parametrize(
    ("period", "target"),
    [
        ("2025-11", 100),  # before the baseline: the baseline
        ("2025-12", 100),  # the baseline's own period
        ("2026-03", 111),  # an explicit target wins
        ("2026-06", 100 + 100 * 181 / 365),  # day-weighted: 2026-06-30 is 181 days after 2025-12-31
        ("2026-12", 200),  # the deadline's period
        ("2027-06", 200),  # after it
    ],
)
def test_glide_path(period: str, target: float) -> None:
    found = kpi_target(GLIDE, parse_period(period), m.Calendar())
    assert found == pytest.approx(target)
    assert found == oracle.kpi_target(GLIDE, parse_period(period), m.Calendar())


def test_unit_targets_follow_the_same_rules() -> None:
    k = m.Kpi(
        id="k",
        name="K",
        unit="co",
        frequency=m.Frequency.MONTHLY,
        direction=INC,
        unit_targets=(
            (
                "east",
                m.UnitTarget(
                    50, dt.date(2026, 12, 31), m.PeriodValue("2025-12", 40), (("2026-02", 41),)
                ),
            ),
        ),
    )
    cal = m.Calendar()
    assert kpi_target(k, parse_period("2026-02"), cal, unit="east") == 41
    assert kpi_target(k, parse_period("2026-12"), cal, unit="east") == 50
    assert kpi_target(k, parse_period("2026-12"), cal, unit="west") is None


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@example(INC, 0.0, 1311.693113390466, 1311.693113390466)  # a miss of exactly the tolerance
@given(
    st.sampled_from([INC, DEC, RNG]),
    finite,
    finite,
    st.one_of(st.none(), st.floats(0, 1e4, allow_nan=False)),
)
def test_properties(direction: m.Direction, actual: float, target: float, tol_abs) -> None:  # type: ignore[no-untyped-def]
    k = kpi(direction, tolerance_abs=tol_abs)
    row = score_kpi(k, actual, target)
    assert row["score"] is not None and 0 <= row["score"] <= 100
    assert row["miss"] is not None and row["miss"] >= 0
    # status bands agree with scores
    if row["status"] == Status.GREEN:
        assert row["score"] == 100 and row["miss"] == 0
    elif row["status"] == Status.AMBER:
        assert 50 <= row["score"] <= 100
    else:
        assert row["status"] == Status.RED and row["score"] < 50


@given(st.sampled_from([INC, DEC]), finite)
def test_a_met_target_is_green_whatever_the_direction(
    direction: m.Direction, target: float
) -> None:
    row = score_kpi(kpi(direction, tolerance_abs=1.0), target, target)
    assert row["status"] == Status.GREEN and row["score"] == 100


def test_tolerance_defaults_to_ten_percent() -> None:
    # 5 short of -50: the whole default tolerance (10% of |T|), so score 50, amber.
    row = score_kpi(kpi(), -55, -50)
    assert (row["score"], row["status"]) == (pytest.approx(50), Status.AMBER)
    row = score_kpi(kpi(tolerance_abs=0.0), 0, 0)
    assert (row["score"], row["status"]) == (100, Status.GREEN)


@pytest.mark.parametrize(
    ("direction", "actual", "target", "score", "status"),
    [
        # SPEC's own case: three decimals summed in binary fall 7e-15 short of 55.81: met.
        (INC, 20.24 + 17.39 + 18.18, 55.81, 100, Status.GREEN),
        (DEC, 55.81 + 1e-12, 55.81, 100, Status.GREEN),
        # a miss larger than eps = 1e-9 * max(1, |T|) is a miss
        (INC, 100 - 1e-6, 100, 100 - 50 * 1e-6 / 10, Status.AMBER),
        # within eps of the tolerance: the tolerance (amber, 50), from either side
        (INC, 90 - 1e-12, 100, 50, Status.AMBER),
        (INC, 90 + 1e-12, 100, 50, Status.AMBER),
        (INC, 90 - 1e-6, 100, 50 - 50 * 1e-6 / 10, Status.RED),
        # near zero, eps is 1e-9: a miss of 1e-10 is met, one of 1e-8 is not
        (DEC, 1e-10, 0, 100, Status.GREEN),
    ],
)
def test_ties_and_rounding(direction, actual, target, score, status) -> None:  # type: ignore[no-untyped-def]
    k = kpi(direction, tolerance_abs=0.5) if target == 0 else kpi(direction)
    row = score_kpi(k, actual, target)
    assert row["score"] == pytest.approx(score, abs=1e-9)
    assert row["status"] == status
    if status is Status.GREEN:
        assert row["miss"] == 0 and row["score"] == 100
    if score == 50:
        assert row["score"] == 50  # exactly: the tolerance's edge


def test_a_near_zero_miss_past_eps_is_not_met() -> None:
    row = score_kpi(kpi(DEC, tolerance_abs=0.5), 1e-8, 0)
    assert row["status"] == Status.AMBER and row["miss"] == pytest.approx(1e-8)


@pytest.mark.parametrize(
    "rows",
    [
        # (kpi_id, unit_id, position, own_unit): in the scorecard's order already, shuffled,
        # with rows at other units, with two KPIs at one position.
        [("a", "co", 0, True), ("b", "co", 1, True), ("c", "co", 2, True)],
        [("c", "co", 2, True), ("a", "co", 0, True), ("b", "co", 1, True)],
        [("a", "co", 0, True), ("a", "eu", 0, False), ("a", "de", 0, False), ("b", "co", 1, True)],
        [("a", "co", 0, True), ("b", "co", 0, True), ("c", "co", 1, True)],
    ],
)
def test_rows_come_out_in_the_scorecards_order(rows: list[tuple[str, str, int, bool]]) -> None:
    """Each KPI's own row first, then its other units' rows by unit, KPIs by position:
    whether the rows come in that order already (no sort needed) or not."""
    frame = pl.DataFrame(
        {
            "kpi_id": [r[0] for r in rows],
            "unit_id": [r[1] for r in rows],
            "position": [r[2] for r in rows],
            "own_unit": [r[3] for r in rows],
            "period": P.label,
            "direction": "increase",
            "actual": [float(i) for i in range(len(rows))],
            "target": 10.0,
            "range_low": None,
            "range_high": None,
            "tolerance": None,
            "tolerance_abs": None,
            "due": P.end + dt.timedelta(days=30),
            "last_value": None,
            "last_period": None,
        },
        schema_overrides={
            "range_low": pl.Float64,
            "range_high": pl.Float64,
            "tolerance": pl.Float64,
            "tolerance_abs": pl.Float64,
            "last_value": pl.Float64,
            "last_period": pl.String,
        },
    )
    got = score_rows(frame, P.end + dt.timedelta(days=5))
    want = sorted(rows, key=lambda r: (r[2], not r[3], r[1]))
    assert list(zip(got["id"], got["unit"], strict=True)) == [(r[0], r[1]) for r in want]
    by_row = {(r[0], r[1]): float(i) for i, r in enumerate(rows)}
    assert got["actual"].to_list() == [by_row[(r[0], r[1])] for r in want]
