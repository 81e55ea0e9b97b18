"""The scorecard's derived values on columns (engine.frame_values) are exactly the value
table's (engine.values.ValueTable, kept as the oracle), on generated organisations: units
taking their value from the units below by every `across_units`, ratios, every aggregation,
formulas nested, of another period grain than their inputs, dividing by zero and in cycles."""

from __future__ import annotations

import collections
import datetime as dt
import math

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.formula import parse_formula
from lineofsight.engine.calendar import uses_fiscal
from lineofsight.engine.frame_derived import derived_values
from lineofsight.engine.frame_measured import integer_keys, measured_values
from lineofsight.engine.frames import DefinitionFrames, _slots
from lineofsight.engine.values import ValueTable, measurements_frame
from tests.seeds import examples

AS_OF = dt.date(2026, 6, 15)
SEEN: collections.Counter[tuple[str, bool]] = collections.Counter()
FREQUENCIES = ("monthly", "quarterly")
SHAPES = (
    "{a} - {b}",
    "{a} / {b} * 100",
    "min({a}, {b})",
    "abs({a}) + 2",
    "-{a}",
    "{a} + {b} + {a}",
)
# Values with ties, zeros, exact-sum traps (0.1 + 0.2) and large magnitudes. A recorded -0.0
# is left out: Polars' min and max of a lone -0.0 give either sign from run to run, in the
# measured values both paths share (formulas still make -0.0: `-a` of 0.0).
VALUES = st.sampled_from([0.0, 0.1, 0.2, 0.3, 1.0, -1.0, 2.5, 7.0, 1e16, -1e16, 3.0, None])


@st.composite
def organisations(draw: st.DrawFn) -> tuple[m.Organization, pl.DataFrame]:
    n_units = draw(st.integers(1, 7))
    units = []
    for index in range(n_units):
        parent = None if index == 0 else f"u{draw(st.integers(0, index - 1))}"
        units.append(
            m.Unit(id=f"u{index}", name=f"u{index}", level=m.UnitLevel.TEAM, parent=parent)
        )
    unit_ids = [u.id for u in units]
    kpis = []
    n_measured = draw(st.integers(1, 5))
    for index in range(n_measured):
        ratio = draw(st.booleans())
        aggregation = draw(st.sampled_from([None, *m.Aggregation]))
        kpis.append(
            m.Kpi(
                id=f"k{index}",
                name=f"k{index}",
                unit=draw(st.sampled_from(unit_ids)),
                frequency=m.Frequency(draw(st.sampled_from(FREQUENCIES))),
                direction=m.Direction.INCREASE,
                aggregation=aggregation,
                across_units=draw(st.sampled_from([None, *m.AcrossUnits])),
                ratio=m.Ratio("n", "d", 100.0) if ratio else None,
            )
        )
    n_formulas = draw(st.integers(0, 4))
    ids = [k.id for k in kpis] + [f"f{i}" for i in range(n_formulas)]
    for index in range(n_formulas):
        shape = draw(st.sampled_from(SHAPES))
        # Mostly inputs listed before (nested formulas), sometimes any (cycles, itself).
        pool = ids[: n_measured + index] if draw(st.integers(0, 4)) else ids
        formula = shape.format(a=draw(st.sampled_from(pool)), b=draw(st.sampled_from(pool)))
        kpis.append(
            m.Kpi(
                id=f"f{index}",
                name=f"f{index}",
                unit=draw(st.sampled_from(unit_ids)),
                frequency=m.Frequency(draw(st.sampled_from(FREQUENCIES))),
                direction=m.Direction.INCREASE,
                formula=formula,
            )
        )
    rows = []
    for _ in range(draw(st.integers(0, 40))):
        kpi = kpis[draw(st.integers(0, n_measured - 1))]
        end = AS_OF - dt.timedelta(days=draw(st.integers(0, 200)))
        value = draw(VALUES)
        numerator, denominator = (draw(VALUES), draw(VALUES)) if kpi.ratio else (None, None)
        rows.append(
            {
                "kpi_id": kpi.id,
                "unit_id": draw(st.sampled_from(unit_ids)),
                "period_start": end,
                "period_end": end,
                "value": value,
                "numerator": numerator,
                "denominator": denominator,
            }
        )
    measurements = measurements_frame(rows).unique(
        subset=["kpi_id", "unit_id", "period_end"], keep="first", maintain_order=True
    )
    calendar = m.Calendar(fiscal_year_start=draw(st.sampled_from([1, 4])), due_days=70)
    org = m.Organization(name="", calendar=calendar, units=tuple(units), kpis=tuple(kpis))
    return org, measurements


def _scored_inputs(
    kpis: pl.DataFrame,
    slots: pl.DataFrame,
    measurements: pl.DataFrame,
    shift: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The KPI rows and their measured values as `score_kpis` hands them to `derived_values`
    (integer keys included)."""
    none = pl.DataFrame(schema={"kpi_id": pl.String, "unit_id": pl.String})  # no unit targets
    coded_kpis, coded, _, units = integer_keys(kpis, measurements, none)
    with_grain = coded_kpis.join(
        slots.filter(pl.col("slot") == 0).select("frequency", "grain", "fiscal"), on="frequency"
    ).join(slots.group_by("frequency").agg(n_slots=pl.len().cast(pl.Int64)), on="frequency")
    return with_grain, measured_values(with_grain, slots, coded, shift, units, slots.height + 1)


def _derived(
    defs: DefinitionFrames,
    measurements: pl.DataFrame,
    kpis: pl.DataFrame,
    measured: pl.DataFrame,
    triples: list[tuple[str, str, int]],
    slots: pl.DataFrame,
) -> dict[tuple[str, str, int], float | None]:
    """`derived_values` at these (KPI, unit, slot)s, by triple (each asked one once)."""
    asked = pl.DataFrame(
        triples, schema={"kpi_id": pl.String, "unit_id": pl.String, "slot": pl.Int64}, orient="row"
    )
    found = derived_values(defs, measurements, kpis, measured, asked, AS_OF, slots)
    assert found.height == asked.unique().height
    return {(k, u, s): v for k, u, s, v in found.iter_rows()}


def _frames(org: m.Organization) -> tuple[DefinitionFrames, pl.DataFrame]:
    kpis = pl.DataFrame(
        [
            (
                k.id,
                k.unit,
                k.frequency.value,
                k.aggregation.value if k.aggregation else None,
                k.across_units.value if k.across_units else None,
                k.ratio.scale if k.ratio else None,
                k.formula,
                70,
            )
            for k in org.kpis
        ],
        schema={
            "id": pl.String,
            "unit_id": pl.String,
            "frequency": pl.String,
            "aggregation": pl.String,
            "across_units": pl.String,
            "ratio_scale": pl.Float64,
            "formula": pl.String,
            "due_days": pl.Int64,
        },
        orient="row",
    )
    units = pl.DataFrame(
        [(u.id, u.parent) for u in org.units],
        schema={"id": pl.String, "parent_id": pl.String},
        orient="row",
    )
    empty = pl.DataFrame()
    defs = DefinitionFrames(kpis, empty, empty, empty, empty, units, org.calendar, m.Scoring())
    return defs, kpis


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_columnar_derived_values_are_the_value_tables(
    generated: tuple[m.Organization, pl.DataFrame],
) -> None:
    org, measurements = generated
    defs, kpis = _frames(org)
    slots, _ = _slots(kpis, org.calendar, AS_OF, True)
    shift = org.calendar.fiscal_year_start - 1 if uses_fiscal(org.calendar) else 0
    with_grain, measured = _scored_inputs(kpis, slots, measurements, shift)
    triples = [
        (k.id, u.id, slot)
        for k in org.kpis
        for u in org.units
        for slot in slots.filter(pl.col("frequency") == k.frequency.value)["slot"].to_list()
    ]
    found = _derived(defs, measurements, with_grain, measured, triples, slots)

    table = ValueTable(org, measurements)
    periods = {
        (f, i): (start, end, grain, fiscal)
        for f, i, start, end, _, grain, fiscal in slots.iter_rows()
    }
    from lineofsight.domain.periods import Grain, period_of

    for kpi_id, unit_id, slot in triples:
        frequency = next(k.frequency.value for k in org.kpis if k.id == kpi_id)
        start, _, grain, fiscal = periods[(frequency, slot)]
        period = period_of(start, Grain(grain), org.calendar, fiscal)
        expected = table.value(kpi_id, period, unit_id)
        got = found[(kpi_id, unit_id, slot)]
        assert _same(got, expected), (kpi_id, unit_id, slot, got, expected)
        SEEN[(kpi_id[0], unit_id == next(k.unit for k in org.kpis if k.id == kpi_id))] += (
            got is not None
        )


def _same(a: float | None, b: float | None) -> bool:
    """Equal to the bit, sign of zero included."""
    if a is None or b is None:
        return a is b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_a_formula_cycle_and_an_unknown_input_have_no_value() -> None:
    parse_formula("f0 + 1")  # the formulas below are valid text
    org = m.Organization(
        name="",
        calendar=m.Calendar(),
        units=(m.Unit(id="u0", name="u0", level=m.UnitLevel.TEAM),),
        kpis=(
            m.Kpi(
                id="k0",
                name="k0",
                unit="u0",
                frequency=m.Frequency.MONTHLY,
                direction=m.Direction.INCREASE,
                aggregation=m.Aggregation.SUM,
            ),
            m.Kpi(
                id="f0",
                name="f0",
                unit="u0",
                frequency=m.Frequency.MONTHLY,
                direction=m.Direction.INCREASE,
                formula="f1 + k0",
            ),
            m.Kpi(
                id="f1",
                name="f1",
                unit="u0",
                frequency=m.Frequency.MONTHLY,
                direction=m.Direction.INCREASE,
                formula="f0 - 1",
            ),
            m.Kpi(
                id="f2",
                name="f2",
                unit="u0",
                frequency=m.Frequency.MONTHLY,
                direction=m.Direction.INCREASE,
                formula="k0 * 2",
            ),
        ),
    )
    measurements = measurements_frame(
        [
            {
                "kpi_id": "k0",
                "unit_id": "u0",
                "period_start": dt.date(2026, 5, 20),
                "period_end": dt.date(2026, 5, 20),
                "value": 4.0,
                "numerator": None,
                "denominator": None,
            }
        ]
    )
    defs, kpis = _frames(org)
    slots, _ = _slots(kpis, org.calendar, AS_OF, True)
    with_grain, measured = _scored_inputs(kpis, slots, measurements, 0)
    found = _derived(
        defs,
        measurements,
        with_grain,
        measured,
        [("f0", "u0", 0), ("f1", "u0", 0), ("f2", "u0", 0), ("k0", "u0", 0)],
        slots,
    )
    assert found == {
        ("f0", "u0", 0): None,
        ("f1", "u0", 0): None,
        ("f2", "u0", 0): 8.0,
        ("k0", "u0", 0): 4.0,
    }


def test_min_and_max_of_equal_zeros_keep_the_first_as_python_does() -> None:
    # With k0 = 0.0 and f0 = -k0 = -0.0, min(k0, f0) is 0.0 in the value tables (Python keeps
    # the first of equal values); Polars' min_horizontal gave -0.0.
    from lineofsight.engine.frame_formulas import _compile

    frame = pl.DataFrame({"x": [0.0, -0.0, 1.0], "y": [-0.0, 0.0, 1.0], "z": [0.0, 0.0, None]})
    columns = {"a": "x", "b": "y", "c": "z"}
    for func, builtin in (("min", min), ("max", max)):
        compiled = _compile(parse_formula(f"{func}(a, b, c)"), columns)
        got = frame.select(compiled.alias("v"))["v"].to_list()
        expected = [builtin(0.0, -0.0, 0.0), builtin(-0.0, 0.0, 0.0), None]
        assert [None if v is None else math.copysign(1.0, v) for v in got] == [
            None if v is None else math.copysign(1.0, v) for v in expected
        ], func


def test_a_ratio_with_a_negative_scale_and_no_numerator_is_zero_without_sign() -> None:
    # -100 * 0 / 5 is -0.0 in IEEE 754, which a status showed as "-0": every path (the
    # columns, the value table from a frame and from tuples; a unit's own value, of one
    # measurement and of several, and a unit's value from the units below) gives 0.0.
    org = m.Organization(
        name="",
        calendar=m.Calendar(),
        units=(
            m.Unit(id="u0", name="u0", level=m.UnitLevel.TEAM),
            m.Unit(id="u1", name="u1", level=m.UnitLevel.TEAM, parent="u0"),
        ),
        kpis=tuple(
            m.Kpi(
                id=kpi_id,
                name=kpi_id,
                unit="u0",
                frequency=m.Frequency.MONTHLY,
                direction=m.Direction.DECREASE,
                across_units=m.AcrossUnits.SUM,
                ratio=m.Ratio("n", "d", -100.0),
            )
            for kpi_id in ("k0", "k1")
        ),
    )
    rows = [
        {
            "kpi_id": kpi_id,
            "unit_id": unit_id,
            "period_start": day,
            "period_end": day,
            "value": None,
            "numerator": 0.0,
            "denominator": 5.0,
        }
        for kpi_id, unit_id, day in (
            ("k0", "u1", dt.date(2026, 5, 20)),
            ("k1", "u1", dt.date(2026, 5, 20)),
            ("k1", "u1", dt.date(2026, 5, 21)),
        )
    ]
    measurements = measurements_frame(rows)
    defs, kpis = _frames(org)
    slots, _ = _slots(kpis, org.calendar, AS_OF, True)
    with_grain, measured = _scored_inputs(kpis, slots, measurements, 0)
    triples = [(k, u, 0) for k in ("k0", "k1") for u in ("u0", "u1")]
    found = _derived(defs, measurements, with_grain, measured, triples, slots)
    assert all(_same(found[t], 0.0) for t in triples), found
    from lineofsight.domain.periods import parse_period
    from lineofsight.engine.values import MEASUREMENT_SCHEMA

    may = parse_period("2026-05")
    tuples = [tuple(r[c] for c in MEASUREMENT_SCHEMA) for r in rows]
    for table in (ValueTable(org, measurements), ValueTable(org, tuples)):  # type: ignore[arg-type]
        for kpi_id, unit_id, _ in triples:
            assert _same(table.value(kpi_id, may, unit_id), 0.0), (kpi_id, unit_id)
